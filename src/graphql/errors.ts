// Every error a caller can cause is a GraphQLError with an `extensions.code`; anything
// else is a bug and yoga masks it. The REST layer maps these codes to its statuses.
import { GraphQLError } from "graphql";

export type ErrorCode =
  | "UNAUTHENTICATED"
  | "FORBIDDEN"
  | "NOT_FOUND"
  | "CONFLICT"
  | "BAD_USER_INPUT"
  | "QUERY_TOO_COMPLEX"
  | "TOO_MANY_SUBSCRIPTIONS"
  | "TOO_MANY_CONNECTIONS"
  | "SUBSCRIPTION_OVERFLOW";

function typedError(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}) {
  return new GraphQLError(message, { extensions: { code, ...extensions } });
}

export const unauthenticated = (message = "A valid API token is required: send Authorization: Bearer <token>") =>
  new GraphQLError(message, {
    extensions: { code: "UNAUTHENTICATED", http: { status: 401, headers: { "WWW-Authenticate": "Bearer" } } },
  });

export const forbidden = (scope: string) => typedError("FORBIDDEN", `This token lacks the ${scope} scope`, { scope });

/** Another tenant's id gets exactly this too: existence elsewhere is never revealed. */
export const notFound = (type: string, field?: string) =>
  typedError("NOT_FOUND", `${type} not found`, field ? { field } : {});

export const conflict = (message: string) => typedError("CONFLICT", message);

/** `field` is the argument path of the offending value, e.g. "input.email", where it is known. */
export const badInput = (field: string | undefined, message: string) =>
  typedError("BAD_USER_INPUT", message, field ? { field } : {});

export const tooComplex = (message: string) => typedError("QUERY_TOO_COMPLEX", message);

/** A limit on live updates; `limit` is the configured bound that was reached. */
export const liveLimit = (code: "TOO_MANY_SUBSCRIPTIONS" | "TOO_MANY_CONNECTIONS", message: string, limit: number) =>
  typedError(code, message, { limit });

/** Ends a subscription whose client reads slower than events arrive; it should refetch, then resubscribe. */
export const subscriptionOverflow = (buffered: number) =>
  typedError(
    "SUBSCRIPTION_OVERFLOW",
    `This subscription fell ${buffered} events behind and was ended; refetch the current state and subscribe again`,
    { buffered },
  );

/**
 * The argument path a graphql-js variable coercion error is about, e.g. "input.channelType"
 * for `Variable "$input" got invalid value "X" at "input.channelType"; ...`.
 */
export function coercionErrorField(message: string): string | undefined {
  // Pothos' connection arguments: 'Argument "first" must be a non-negative integer'.
  const argument = /^Argument "(\w+)"/.exec(message)?.[1];
  if (argument) return argument;
  const variable = /^Variable "\$(\w+)"/.exec(message)?.[1];
  if (!variable) return undefined;
  const at = /^Variable "\$\w+" got invalid value .*? at "([\w.[\]]+)";/s.exec(message)?.[1] ?? variable;
  const field = /; Field "(\w+)" (?:of required type .* was not provided|is not defined by type)/s.exec(message)?.[1];
  return field ? `${at}.${field}` : at;
}

/** Prisma's error code (P2002 unique violation, P2025 record not found, ...), if it is one. */
export function prismaErrorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return error instanceof Error && typeof code === "string" && /^P\d{4}$/.test(code) ? code : undefined;
}

/** Runs a write addressed by id; a missing row (or another tenant's) becomes NOT_FOUND. */
export async function orNotFound<T>(type: string, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (prismaErrorCode(error) === "P2025") throw notFound(type);
    throw error;
  }
}
