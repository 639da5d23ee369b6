// The REST compatibility layer as a yoga plugin: the token's format picks the dialect, the
// route runs its GraphQL operation through yoga's own envelope (so error masking and every
// other plugin apply), and the dialect shapes the result or the failure.
import { isEnumType, type GraphQLError } from "graphql";
import type { Plugin, YogaServerInstance } from "graphql-yoga";
import { dialectScopeName, toCanonicalScopes } from "../auth/scopes.js";
import { TOKEN_FORMATS, tokenFormatOf } from "../auth/tokens.js";
import { authenticate, bearerToken, type Viewer } from "../auth/viewer.js";
import type { Database } from "../db/client.js";
import type { TokenFormat } from "../generated/prisma/enums.js";
import type { Context } from "../graphql/context.js";
import { schema } from "../graphql/schema.js";
import type { ServerContext } from "../http/server.js";
import type { RateLimits, RestMeter } from "../limits/rate-limits.js";
import type { Live } from "../live/registry.js";
import { readBodyWithin } from "../http/body.js";
import { jsonTooDeep, MAX_JSON_DEPTH } from "../http/input-limits.js";
import { loadDocument } from "./documents.js";
import { openApiDocument } from "./openapi.js";
import { notFoundFailure, RestFailure, type Dialect, type Failure, type RestRequest, type Route } from "./route.js";

/** Paths the dialects live under; everything else is left to yoga (GraphQL, health). */
const REST_PATHS = /^\/(api\/v1|v1|Company|Integration)(\/|$)/;
const METHODS_WITH_BODY = new Set(["POST", "PUT", "PATCH"]);

const STATUS_OF_CODE: Record<string, number> = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  BAD_USER_INPUT: 422,
  QUERY_TOO_COMPLEX: 400,
  PAYLOAD_TOO_LARGE: 413,
};

/** A GraphQL enum's values as the dialect spells them: its own list, else the schema's in the dialect's case. */
function enumValuesIn(dialect: Dialect, name: string): string {
  const own = dialect.enumValues?.[name];
  if (own) return own;
  const type = schema.getType(name);
  if (!isEnumType(type)) return "the documented values";
  return type.getValues().map(({ name: value }) => (dialect.enumCase === "lower" ? value.toLowerCase() : value)).join(", ");
}

/** GraphQL's coercion messages in words that name nothing of GraphQL (its types, variables, ids). */
const PLAIN_MESSAGES: [RegExp, (dialect: Dialect, ...groups: string[]) => string][] = [
  [/^Variable "\$\w+" of required type "[^"]+" was not provided\.$/, () => "is required"],
  [/^Variable "\$\w+" of non-null type "[^"]+" must not be null\.$/, () => "must not be null"],
  [/^Field "\w+" of required type "[^"]+" was not provided\.$/, () => "is required"],
  [/^Expected non-nullable type "[^"]+" not to be null\.$/, () => "is required"],
  [/^Field "\w+" is not defined by type "\w+"\.$/, () => "is not a known field"],
  [/^Value .* does not exist in "(\w+)" enum\..*$/s, (dialect, name) => `must be one of: ${enumValuesIn(dialect, name!)}`],
  [/^Enum "(\w+)" cannot represent non-string value: .*$/s, (dialect, name) => `must be one of: ${enumValuesIn(dialect, name!)}`],
  [/^String cannot represent a non string value: .*$/s, () => "must be a string"],
  [/^Int cannot represent non(?:-integer| 32-bit signed integer) value: .*$/s, () => "must be an integer"],
  [/^must be a \w+ id \(\w+_…\)$/, () => "must be a valid id"],
];

/**
 * A validation message for a REST caller: without GraphQL's framing ("Variable "$input" got
 * invalid value … at "input.score"; " or "input.score: ") and in plain words.
 */
function restMessage(message: string, dialect: Dialect, field: unknown): string {
  const unframed = message.replace(/^Variable "\$\w+" got invalid value .*?; /s, "");
  // The field the message starts with, whatever characters its JSON keys hold.
  const bare = typeof field === "string" && unframed.startsWith(`${field}: `) ? unframed.slice(field.length + 2) : unframed.replace(/^[\w.[\]]+: /, "");
  for (const [pattern, plain] of PLAIN_MESSAGES) {
    const match = pattern.exec(bare);
    if (match) return plain(dialect, ...match.slice(1));
  }
  return bare;
}

/** "/contacts/:id" as a regular expression capturing :id. */
function compilePath(path: string): RegExp {
  const pattern = path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/:(\w+)/g, "(?<$1>[^/]+)");
  return new RegExp(`^${pattern}/?$`);
}

interface CompiledDialect {
  dialect: Dialect;
  document: ReturnType<typeof loadDocument>;
  routes: { route: Route; pattern: RegExp }[];
}

/** The dialect's routes whose path matches, and the path under the dialect's base path (undefined under none). */
function routesAt(target: CompiledDialect, pathname: string) {
  const base = target.dialect.basePaths.find((prefix) => pathname === prefix || pathname.startsWith(`${prefix}/`));
  const relative = base === undefined ? undefined : pathname.slice(base.length) || "/";
  return { relative, matches: relative === undefined ? [] : target.routes.filter(({ pattern }) => pattern.test(relative)) };
}

/** A 403 naming the missing canonical scope by the dialect's own name for it. */
function forbiddenFailure(format: TokenFormat, canonical: string): Failure {
  const scope = dialectScopeName(format, canonical);
  return { status: 403, code: "FORBIDDEN", message: `This token lacks the ${scope} scope`, scope };
}

/** What a caller without a usable token is told to send, in one dialect or in any. */
function sendATokenMessage(dialect: Dialect | undefined): string {
  const formats = dialect?.formats ?? (Object.keys(TOKEN_FORMATS) as TokenFormat[]);
  return `Send a valid API token: Authorization: Bearer <token> (${formats.map((format) => TOKEN_FORMATS[format].example).join(", or ")})`;
}

export function restApi(db: Database, live: Live, dialects: Dialect[], maxBodyBytes: number, rateLimits: RateLimits): Plugin<Context, ServerContext> {
  const compiled: CompiledDialect[] = dialects.map((dialect) => ({
    dialect,
    document: loadDocument(schema, dialect),
    routes: dialect.routes.map((route) => ({ route, pattern: compilePath(route.path) })),
  }));
  const byFormat = new Map<TokenFormat, CompiledDialect>(compiled.flatMap((each) => each.dialect.formats.map((format) => [format, each])));
  const unserved = (Object.keys(TOKEN_FORMATS) as TokenFormat[]).filter((format) => !byFormat.has(format));
  if (unserved.length > 0) throw new Error(`No REST dialect speaks for ${unserved.join(", ")} tokens`);
  const openApi = new Map(dialects.map((dialect) => [dialect.name, JSON.stringify(openApiDocument(dialect), null, 2)]));
  let yoga: YogaServerInstance<ServerContext, Context>;

  // yoga's own Response: it is written out in one go, with Content-Length, where Node's
  // global one would be streamed in chunks.
  const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
    new yoga.fetchAPI.Response(JSON.stringify(body), { status, headers: { "content-type": "application/json; charset=utf-8", ...headers } });

  /** A failure in the dialect's shape; without one (no token names it), the service's own `{ error: { code, message } }`. */
  const fail = (dialect: Dialect | undefined, failure: Failure) =>
    json(
      failure.status,
      dialect ? dialect.error(failure) : { error: { code: failure.code, message: failure.message } },
      failure.status === 401 ? { "WWW-Authenticate": "Bearer" } : {},
    );

  /**
   * A caller without a valid token is answered in the shape the path's document promises:
   * the dialect its token's format names, if that dialect serves the path; else the one
   * dialect that serves it (`GET /v1/contacts` is Veleria's); else, where several share it
   * (Convo and Vorel both take POST /api/v1/leads) or none does, the service's own body,
   * which each document lists as AnonymousError next to the dialect's Error for 401 and 429.
   */
  function unauthenticatedDialect(pathname: string, method: string, format: TokenFormat | undefined): Dialect | undefined {
    const serving = (sameMethod: boolean) =>
      compiled.filter((target) => routesAt(target, pathname).matches.some(({ route }) => !sameMethod || route.method === method));
    const exact = serving(true);
    const candidates = (exact.length > 0 ? exact : serving(false)).map(({ dialect }) => dialect);
    const own = format ? byFormat.get(format)?.dialect : undefined;
    if (own && (candidates.length === 0 || candidates.includes(own))) return own;
    return candidates.length === 1 ? candidates[0] : undefined;
  }

  /** 401 (or the per-address 429) for a caller without a valid token, counted per address. */
  async function refuseUnauthenticated(pathname: string, method: string, format: TokenFormat | undefined, meter: RestMeter, message?: string) {
    const dialect = unauthenticatedDialect(pathname, method, format);
    const failure = (await meter.anonymous(dialect?.name)) ?? { status: 401, code: "UNAUTHENTICATED", message: message ?? sendATokenMessage(dialect) };
    return fail(dialect, failure);
  }

  /** The failure for a GraphQL result's errors, in the route's own field names. */
  function failureOf(errors: readonly GraphQLError[], route: Route, dialect: Dialect, format: TokenFormat, params: Record<string, string>): Failure {
    const first = errors[0]!;
    const code = String(first.extensions.code ?? "INTERNAL_SERVER_ERROR");
    // "input.ids.1" is about `ids`: the map names fields, not their elements. A field of an
    // element keeps its index ("input.rows.3.phone" is "rows.3.phone": in a batch of a
    // thousand rows the caller needs to know which). A key inside a JSON field
    // ("input.customFields.note") is named under the field's own REST name ("custom_fields.note").
    const nameOf = (field: unknown) => {
      if (typeof field !== "string") return undefined;
      const path = field.replace(/(\.\d+|\[(\d+)\])$/, "").replace(/\[(\d+)\]/g, ".$1");
      if (route.fields?.[path]) return route.fields[path];
      const prefix = Object.keys(route.fields ?? {})
        .filter((key) => path.startsWith(`${key}.`))
        .sort((x, y) => y.length - x.length)[0];
      return prefix ? `${route.fields![prefix]}${path.slice(prefix.length)}` : path;
    };
    if (code === "BAD_USER_INPUT") {
      const named = errors.map((error) => ({ name: nameOf(error.extensions.field), message: restMessage(error.message, dialect, error.extensions.field) }));
      // A malformed id in the path names no row: the answer is the same as for an unknown one.
      if (named.some(({ name }) => name !== undefined && name in params)) return notFoundFailure(route.notFound).failure;
      const fields: Record<string, string[]> = {};
      for (const { name, message } of named) (fields[name ?? "body"] ??= []).push(message);
      return { status: 422, code, message: named[0]!.name ? `${named[0]!.name}: ${named[0]!.message}` : named[0]!.message, fields };
    }
    // The id in the path, or a node lookup: one body whatever the schema said. A referenced id
    // in a body is named with its message ("conversation_id: Conversation not found"), so a
    // caller sending several knows which one was missing.
    const field = nameOf(first.extensions.field);
    if (code === "NOT_FOUND" && (field === undefined || field in params)) return notFoundFailure(route.notFound).failure;
    if (code === "NOT_FOUND") return { status: 404, code, message: `${field}: ${first.message}` };
    if (code === "FORBIDDEN" && typeof first.extensions.scope === "string") return forbiddenFailure(format, first.extensions.scope);
    const status = STATUS_OF_CODE[code] ?? 500;
    return { status, code, message: status === 500 ? "Unexpected error" : first.message };
  }

  function parseBody(raw: Buffer): Record<string, unknown> {
    const text = raw.toString("utf8");
    if (text.trim() === "") return {};
    if (jsonTooDeep(text)) {
      throw new RestFailure({ status: 400, code: "MALFORMED_BODY", message: `The request body must not nest deeper than ${MAX_JSON_DEPTH} levels` });
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new RestFailure({ status: 400, code: "MALFORMED_BODY", message: "The request body is not valid JSON" });
    }
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      throw new RestFailure({ status: 400, code: "MALFORMED_BODY", message: "The request body must be a JSON object" });
    }
    return body as Record<string, unknown>;
  }

  async function run(target: CompiledDialect, route: Route, viewer: Viewer, request: RestRequest) {
    const variables = route.variables(request);
    const { execute, contextFactory, schema: enveloped } = yoga.getEnveloped({
      viewer,
      liveSession: live.forRequest(viewer),
    } as Parameters<typeof yoga.getEnveloped>[0]);
    const result = await execute({
      schema: enveloped,
      document: target.document,
      operationName: route.operation,
      variableValues: variables,
      contextValue: await contextFactory(),
    });
    // Routes run queries and mutations only, never subscriptions, so the result is single.
    return result as { data?: Record<string, unknown> | null; errors?: readonly GraphQLError[] };
  }

  async function handle(request: Request, pathname: string, meter: RestMeter): Promise<Response> {
    // Read (within the limit) before any answer: a body left unread on a keep-alive connection
    // makes the next request on it fail.
    const raw = await readBodyWithin(request, maxBodyBytes);
    const token = bearerToken(request.headers.get("authorization"));
    const format = token ? tokenFormatOf(token) : undefined;
    const target = format ? byFormat.get(format) : undefined;
    if (!token || !format || !target) return refuseUnauthenticated(pathname, request.method, undefined, meter);
    try {
      const viewer = await authenticate(db.prisma, token);
      if (!viewer) return await refuseUnauthenticated(pathname, request.method, format, meter, "The API token is invalid, revoked or expired");
      const { dialect } = target;
      if (!raw) return fail(dialect, { status: 413, code: "PAYLOAD_TOO_LARGE", message: `Request body exceeds ${maxBodyBytes} bytes` });
      const { relative, matches } = routesAt(target, pathname);
      const match = matches.find(({ route }) => route.method === request.method);
      const limited = await meter.authenticated(dialect.name, viewer, match?.route);
      if (limited) return fail(dialect, limited);
      if (!match) {
        if (matches.length === 0) return fail(dialect, { status: 404, code: "NOT_FOUND", message: `No such path: ${request.method} ${pathname}` });
        const allow = matches.map(({ route }) => route.method).join(", ");
        return json(405, dialect.error({ status: 405, code: "METHOD_NOT_ALLOWED", message: `${request.method} is not allowed here; use ${allow}` }), { Allow: allow });
      }
      const { route, pattern } = match;
      // The route's scope before its input: a token that may not call it learns nothing from
      // validation (GraphQL coerces variables before field auth runs).
      const missing = toCanonicalScopes(format, route.scopes).find((scope) => !viewer.scopes.has(scope));
      if (missing) return fail(dialect, forbiddenFailure(format, missing));
      let params: Record<string, string>;
      try {
        params = Object.fromEntries(
          Object.entries(pattern.exec(relative!)?.groups ?? {}).map(([key, value]) => [key, decodeURIComponent(value)]),
        );
      } catch {
        // Broken percent-encoding cannot spell an id that exists.
        throw notFoundFailure(route.notFound);
      }
      const restRequest: RestRequest = {
        params,
        query: new URL(request.url).searchParams,
        body: METHODS_WITH_BODY.has(request.method) ? parseBody(raw) : {},
      };
      const result = await run(target, route, route.grants ? { ...viewer, scopes: new Set([...viewer.scopes, ...route.grants]) } : viewer, restRequest);
      if (result.errors?.length) return fail(dialect, failureOf(result.errors, route, dialect, format!, params));
      return json(route.status ?? 200, route.result(result.data ?? {}, restRequest));
    } catch (error) {
      const failure = error instanceof RestFailure ? error.failure : { status: 500, code: "INTERNAL_SERVER_ERROR", message: "Unexpected error" };
      if (!(error instanceof RestFailure)) console.error(error);
      return fail(target?.dialect, failure);
    }
  }

  return {
    onYogaInit({ yoga: instance }) {
      yoga = instance as YogaServerInstance<ServerContext, Context>;
    },
    async onRequest({ request, url, endResponse, serverContext }) {
      const spec = /^\/openapi\/([\w-]+)\.json$/.exec(url.pathname);
      if (spec && request.method === "GET") {
        const body = openApi.get(spec[1]!);
        if (body) return endResponse(new yoga.fetchAPI.Response(body, { headers: { "content-type": "application/json; charset=utf-8" } }));
      }
      if (!REST_PATHS.test(url.pathname)) return;
      const meter = rateLimits.meter(request, serverContext.req);
      endResponse(meter.report(await handle(request, url.pathname, meter)));
    },
  };
}
