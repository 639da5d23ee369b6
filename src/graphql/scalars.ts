import { GraphQLError, GraphQLScalarType, Kind, valueFromASTUntyped } from "graphql";

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

function parseDateTime(value: unknown): Date {
  if (typeof value !== "string" || !ISO_DATE_TIME.test(value) || Number.isNaN(Date.parse(value))) {
    throw new GraphQLError("DateTime must be an ISO 8601 date-time with a time zone, e.g. 2026-03-29T14:30:00+11:00", {
      extensions: { code: "BAD_USER_INPUT" },
    });
  }
  return new Date(value);
}

export const DateTimeScalar = new GraphQLScalarType<Date, string>({
  name: "DateTime",
  description: "An ISO 8601 date-time with a time zone; always returned in UTC.",
  serialize: (value) => (value instanceof Date ? value : new Date(String(value))).toISOString(),
  parseValue: parseDateTime,
  parseLiteral: (ast) => parseDateTime(ast.kind === Kind.STRING ? ast.value : undefined),
});

export const JsonScalar = new GraphQLScalarType<unknown, unknown>({
  name: "JSON",
  description: "Any JSON value.",
  serialize: (value) => value,
  parseValue: (value) => value,
  parseLiteral: (ast, variables) => valueFromASTUntyped(ast, variables),
});
