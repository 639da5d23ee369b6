import { GraphQLError, GraphQLScalarType, Kind, valueFromASTUntyped } from "graphql";
import { MAX_JSON_DEPTH, valueTooDeep } from "../http/input-limits.js";

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

const ISO_DATE_TIME_PARTS = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/;

/** Date.parse rolls impossible dates over (February 30th becomes March 2nd): refuse them instead. */
function isRealCalendarDate(value: string): boolean {
  const [, year, month, day, hour, minute] = ISO_DATE_TIME_PARTS.exec(value)!.map(Number) as number[];
  const probe = new Date(Date.UTC(year!, month! - 1, day!, hour, minute));
  return (
    probe.getUTCMonth() === month! - 1 &&
    probe.getUTCDate() === day &&
    probe.getUTCHours() === hour &&
    probe.getUTCMinutes() === minute
  );
}

function parseDateTime(value: unknown): Date {
  const date = typeof value === "string" && ISO_DATE_TIME.test(value) && isRealCalendarDate(value) ? new Date(value) : undefined;
  // Years outside 1..9999 cannot round-trip through the database and JavaScript dates.
  const year = date?.getUTCFullYear();
  if (!date || Number.isNaN(date.getTime()) || year! < 1 || year! > 9999) {
    throw new GraphQLError("DateTime must be an ISO 8601 date-time with a time zone, e.g. 2026-03-29T14:30:00+11:00", {
      extensions: { code: "BAD_USER_INPUT" },
    });
  }
  return date;
}

export const DateTimeScalar = new GraphQLScalarType<Date, string>({
  name: "DateTime",
  description: "An ISO 8601 date-time with a time zone; always returned in UTC.",
  serialize: (value) => (value instanceof Date ? value : new Date(String(value))).toISOString(),
  parseValue: parseDateTime,
  parseLiteral: (ast) => parseDateTime(ast.kind === Kind.STRING ? ast.value : undefined),
});

/** Deeper JSON would recurse through validation, Prisma and PostgreSQL for no real use. */
function shallowJson(value: unknown): unknown {
  if (valueTooDeep(value)) {
    throw new GraphQLError(`JSON must not nest deeper than ${MAX_JSON_DEPTH} levels`, { extensions: { code: "BAD_USER_INPUT" } });
  }
  return value;
}

export const JsonScalar = new GraphQLScalarType<unknown, unknown>({
  name: "JSON",
  description: `Any JSON value, nested at most ${MAX_JSON_DEPTH} levels deep.`,
  serialize: (value) => value,
  parseValue: shallowJson,
  parseLiteral: (ast, variables) => shallowJson(valueFromASTUntyped(ast, variables)),
});
