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

/** What a Decimal field may resolve to: its string, or a decimal object (Prisma's Decimal) that prints itself. */
export type DecimalOutput = string | { toString(): string };

const DECIMAL = /^-?\d{1,30}(\.\d{1,30})?$/;

function parseDecimal(value: unknown): string {
  // Whole numbers are exact in JSON and JavaScript alike; a fraction as a float may not be, so it must come as a string.
  if (typeof value === "number" && Number.isSafeInteger(value)) return String(value);
  if (typeof value === "string" && DECIMAL.test(value)) return value;
  throw new GraphQLError('Decimal must be a decimal number written as a string, e.g. "1250.50" (or a whole number)', {
    extensions: { code: "BAD_USER_INPUT" },
  });
}

export const DecimalScalar = new GraphQLScalarType<string, string>({
  name: "Decimal",
  description: 'An exact decimal number, as a string: "1250.50". Money is never a float. Input: such a string, or a whole number.',
  serialize: (value) => (typeof value === "string" ? value : String(value)),
  parseValue: parseDecimal,
  parseLiteral: (ast) => parseDecimal(ast.kind === Kind.STRING ? ast.value : ast.kind === Kind.INT ? Number(ast.value) : undefined),
});

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

function parseDate(value: unknown): Date {
  const parts = typeof value === "string" ? ISO_DATE.exec(value) : null;
  const [year, month, day] = parts ? parts.slice(1).map(Number) : [NaN, NaN, NaN];
  const date = new Date(Date.UTC(year!, month! - 1, day!));
  // Date.UTC rolls impossible dates over (February 30th becomes March 2nd) and maps years 0-99 to 19xx: refuse both.
  if (!parts || date.getUTCFullYear() !== year || date.getUTCMonth() !== month! - 1 || date.getUTCDate() !== day || year! < 1) {
    throw new GraphQLError("Date must be a calendar date written YYYY-MM-DD, e.g. 2026-05-15", { extensions: { code: "BAD_USER_INPUT" } });
  }
  return date;
}

export const DateScalar = new GraphQLScalarType<Date, string>({
  name: "Date",
  description: "A calendar date without a time or a time zone, YYYY-MM-DD.",
  serialize: (value) => (value instanceof Date ? value : new Date(String(value))).toISOString().slice(0, 10),
  parseValue: parseDate,
  parseLiteral: (ast) => parseDate(ast.kind === Kind.STRING ? ast.value : undefined),
});
