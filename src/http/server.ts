// The HTTP server: GraphQL (with GraphiQL) at /graphql behind bearer-token auth, over HTTP,
// SSE and WebSocket; /health and /ready for the load balancer.
import { createServer, STATUS_CODES as REASONS, type IncomingMessage, type Server } from "node:http";
import type { Duplex } from "node:stream";
import type { AddressInfo } from "node:net";
import { PothosValidationError } from "@pothos/core";
import { createYoga, useReadinessCheck, type Plugin } from "graphql-yoga";
import { GraphQLError } from "graphql";
import { authenticate, bearerToken, type Viewer } from "../auth/viewer.js";
import type { Config } from "../config.js";
import type { Database } from "../db/client.js";
import { createBus, type EventBus } from "../events/bus.js";
import { createContext, type Context } from "../graphql/context.js";
import { badInput, coercionErrorField, conflict, notFound, prismaErrorCode, unauthenticated } from "../graphql/errors.js";
import { schema } from "../graphql/schema.js";
import { scopesFirst } from "../graphql/scopes-first.js";
import { createRateLimits, type RateLimits } from "../limits/rate-limits.js";
import { createLive, type Live, type LiveSession } from "../live/registry.js";
import { dialects } from "../rest/dialects/index.js";
import { restApi } from "../rest/plugin.js";
import { readBodyWithin } from "./body.js";
import { documentLimits, jsonTooDeep, MAX_JSON_DEPTH, storableInput } from "./input-limits.js";
import { attachWebSocket } from "./websocket.js";
import { createWebhooks, type Webhooks } from "../webhooks/engine.js";

/** What yoga's context factory receives: the HTTP request, or a WebSocket connection's viewer. */
export interface ServerContext {
  req?: IncomingMessage;
  viewer?: Viewer;
  liveSession?: LiveSession;
}

const EXAMPLE_QUERY = `# Send your token in the headers below: {"Authorization": "Bearer <token>"}
query FirstPage {
  viewer { tenant { name } scopes }
  conversations(first: 10) {
    totalCount
    edges { node { id status customerName contact { firstName email } lastMessages(count: 2) { role content } } }
  }
}
`;

/**
 * What a caller caused is shown with a code; anything else is a bug, logged and masked.
 * GraphQLErrors come from graphql-js (parse, validation, variable coercion) or from our
 * resolvers (errors.ts) and are safe to show; graphql-js's own lack a code, so they get one.
 */
function maskError(error: unknown, message: string): Error {
  const original = error instanceof GraphQLError ? error.originalError : error;
  // Keeps where the error happened (and yoga's http status, if any) on the typed replacement.
  const located = (typed: GraphQLError) =>
    error instanceof GraphQLError
      ? new GraphQLError(typed.message, {
          nodes: error.nodes,
          path: error.path,
          extensions: { ...error.extensions, ...typed.extensions },
        })
      : typed;
  if (error instanceof GraphQLError && (original == null || original instanceof GraphQLError)) {
    // Scalars' own errors (DateTime) have a code but not the argument they were about.
    if (error.extensions.code === "BAD_USER_INPUT" && error.extensions.field === undefined) {
      const field = coercionErrorField(error.message);
      return field ? located(badInput(field, error.message)) : error;
    }
    return error.extensions.code ? error : located(badInput(coercionErrorField(error.message), error.message));
  }
  // Pothos rejects a global id of the wrong type ("ID: con_… is not of type: Lead").
  if (original instanceof PothosValidationError) return located(badInput(coercionErrorField(original.message), original.message));
  switch (prismaErrorCode(original)) {
    case "P2002":
      return located(conflict("A record with these values already exists"));
    case "P2025":
      return located(notFound("Record"));
  }
  console.error(original);
  return located(new GraphQLError(message, { extensions: { code: "INTERNAL_SERVER_ERROR" } }));
}

/** Every rate-limit header a response may carry (src/limits), for CORS to expose. */
const RATE_LIMIT_HEADERS = ["Retry-After", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"];

/** Request body types yoga parses; application/graphql-response+json is a response type only. */
const ACCEPTED_BODY_TYPES = ["application/json", "application/graphql"];

/**
 * Media ranges yoga can answer an operation in (GraphiQL's HTML for GET only). Checked before
 * the operation runs: yoga would otherwise execute a mutation and only then answer 406.
 */
const ANSWERABLE = /^(\*\/\*|application\/(\*|json|graphql-response\+json)|text\/(\*|event-stream)|multipart\/(\*|mixed))$/;

function acceptable(accept: string | null, method: string): boolean {
  if (accept === null || accept.trim() === "") return true;
  return accept.split(",").some((range) => {
    const [type = "", ...parameters] = range.split(";").map((part) => part.trim().toLowerCase());
    if (parameters.some((parameter) => /^q=0(\.0*)?$/.test(parameter))) return false;
    return ANSWERABLE.test(type) || (method === "GET" && type === "text/html");
  });
}

/** GET parameters yoga parses as JSON. */
const JSON_PARAMS = ["variables", "extensions"];

/** A refusal yoga would otherwise answer with an empty body (406, 415) or an internal error. */
const STATUS_CODES: Record<number, string> = {
  400: "BAD_REQUEST",
  404: "NOT_FOUND",
  405: "METHOD_NOT_ALLOWED",
  406: "NOT_ACCEPTABLE",
  413: "PAYLOAD_TOO_LARGE",
  415: "UNSUPPORTED_MEDIA_TYPE",
};

/**
 * Typed errors for what yoga would answer with an empty body or an internal error, a hard
 * limit on body size whether or not the client declares a Content-Length, and JSON nested too
 * deep refused by a scan of the text, before anything parses it, let alone authenticates.
 */
function requestGuard(maxBytes: number): Plugin {
  return {
    async onRequest({ request, url, endResponse, setRequest, fetchAPI }) {
      const reject = (status: number, code: string, message: string) =>
        endResponse(fetchAPI.Response.json({ errors: [{ message, extensions: { code } }] }, { status }));
      if (!acceptable(request.headers.get("accept"), request.method)) {
        return reject(406, "NOT_ACCEPTABLE", "Accept application/graphql-response+json, application/json or text/event-stream");
      }
      if (request.method === "GET") {
        for (const name of JSON_PARAMS) {
          const value = url.searchParams.get(name);
          if (value === null || value === "") continue;
          if (jsonTooDeep(value)) return reject(400, "BAD_REQUEST", `${name} must not nest deeper than ${MAX_JSON_DEPTH} levels`);
          try {
            JSON.parse(value);
          } catch {
            return reject(400, "BAD_REQUEST", `${name} must be JSON`);
          }
        }
        return;
      }
      if (request.method !== "POST") return;
      const type = (request.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
      if (!ACCEPTED_BODY_TYPES.includes(type)) {
        return reject(415, "UNSUPPORTED_MEDIA_TYPE", "Send the request as Content-Type: application/json (or application/graphql)");
      }
      const body = await readBodyWithin(request, maxBytes);
      if (!body) return reject(413, "PAYLOAD_TOO_LARGE", `Request body exceeds ${maxBytes} bytes`);
      // latin1: UTF-8's multi-byte sequences never contain the ASCII brackets the scan counts.
      if (type === "application/json" && jsonTooDeep(body.toString("latin1"))) {
        return reject(400, "BAD_REQUEST", `The request body must not nest deeper than ${MAX_JSON_DEPTH} levels`);
      }
      // Media types are case-insensitive; yoga matches them as written.
      const headers = new fetchAPI.Headers(request.headers);
      headers.set("content-type", type);
      setRequest(new fetchAPI.Request(request.url, { method: "POST", headers, body }));
    },
    // Whatever still leaves without a body (yoga's 406 for an Accept it cannot serve, say)
    // gets a typed JSON one: a client always has something to read and log.
    onResponse({ response, setResponse, fetchAPI }) {
      if (response.status < 400 || response.body !== null) return;
      const code = STATUS_CODES[response.status] ?? "BAD_REQUEST";
      const headers = new fetchAPI.Headers(response.headers);
      headers.set("content-type", "application/json; charset=utf-8");
      headers.delete("content-length");
      const body = { errors: [{ message: response.statusText || code.toLowerCase().replace(/_/g, " "), extensions: { code } }] };
      setResponse(new fetchAPI.Response(JSON.stringify(body), { status: response.status, headers }));
    },
  };
}

/**
 * What Node's HTTP parser refuses before any handler runs (a request line or headers over its
 * 16 KB limit, a malformed request) is still answered with a typed JSON body, not a bare status.
 */
function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  // As Node's own handler does: a socket whose response has begun (`_httpMessage._headerSent`, Node's
  // name for it) cannot take another status line, so it is only closed.
  const responding = (socket as Duplex & { _httpMessage?: { _headerSent?: boolean } })._httpMessage?._headerSent === true;
  if (error.code === "ECONNRESET" || !socket.writable || responding) {
    socket.destroy();
    return;
  }
  const [status, code, message] =
    error.code === "HPE_HEADER_OVERFLOW"
      ? [431, "REQUEST_HEADER_FIELDS_TOO_LARGE", "The request line and headers must fit in 16 KB: send long input in a POST body"]
      : error.code === "ERR_HTTP_REQUEST_TIMEOUT"
        ? [408, "REQUEST_TIMEOUT", "The request took too long to arrive"]
        : [400, "BAD_REQUEST", "The request is not valid HTTP/1.1"];
  const body = JSON.stringify({ errors: [{ message, extensions: { code } }] });
  socket.end(
    `HTTP/1.1 ${status} ${REASONS[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/**
 * Authenticates before the query is even validated, so that without a valid token nothing
 * about the schema leaks (not even "Did you mean …?" suggestions).
 */
function authentication(db: Database): { plugin: Plugin; viewerOf(request: Request): Viewer | undefined } {
  const viewers = new WeakMap<Request, Viewer>();
  return {
    viewerOf: (request) => viewers.get(request),
    plugin: {
      async onParams({ request, setResult }) {
        const token = bearerToken(request.headers.get("authorization"));
        const viewer = token ? await authenticate(db.prisma, token) : undefined;
        if (viewer) viewers.set(request, viewer);
        else setResult({ errors: [unauthenticated()] });
      },
    },
  };
}

/**
 * Ready when the database answers and the pub/sub is connected; while Redis is down the
 * service keeps serving and queues events, but a load balancer should prefer other instances.
 */
function readiness(db: Database, bus: EventBus): Plugin {
  return useReadinessCheck({
    endpoint: "/ready",
    check: async ({ fetchAPI }) => {
      const database = await Promise.race([
        db.prisma.$queryRaw`SELECT 1`.then(() => "up" as const, () => "down" as const),
        new Promise<"down">((resolve) => setTimeout(resolve, 2_000, "down")),
      ]);
      const pubsub = bus.status();
      const ready = database === "up" && pubsub === "up";
      return fetchAPI.Response.json({ status: ready ? "ready" : "unavailable", database, pubsub }, { status: ready ? 200 : 503 });
    },
  });
}

export interface App {
  server: Server;
  events: EventBus;
  webhooks: Webhooks;
  live: Live;
  rateLimits: RateLimits;
  /** Resolves with the bound port (useful with port 0 in tests). */
  listen(port?: number, host?: string): Promise<number>;
  close(): Promise<void>;
}

export function createApp(
  db: Database,
  config: Pick<Config, "limits" | "live" | "port" | "host" | "redisUrl" | "rateLimits" | "corsOrigins" | "webhooks">,
): App {
  const auth = authentication(db);
  const rateLimits = createRateLimits(config.rateLimits, config.redisUrl);
  const events = createBus(config.redisUrl);
  const webhooks = createWebhooks(db, config);
  const live = createLive(db.prisma, events, config.live);
  const yoga = createYoga<ServerContext, Context>({
    schema,
    graphqlEndpoint: "/graphql",
    landingPage: false,
    batching: false,
    // Bearer tokens need no cookies, so no origin is ever allowed credentials.
    // Browsers show a script only the headers listed here: the rate-limit ones are for reading.
    cors: { origin: config.corsOrigins, credentials: false, exposedHeaders: RATE_LIMIT_HEADERS },
    graphiql: {
      title: "Engagement Graph",
      defaultQuery: EXAMPLE_QUERY,
      headers: JSON.stringify({ Authorization: "Bearer <paste your token here>" }),
    },
    // GraphiQL with its assets bundled (no CDN), loaded on the first page view only.
    renderGraphiQL: async (options) => (await import("@graphql-yoga/render-graphiql")).renderGraphiQL(options),
    maskedErrors: { maskError },
    // maskError logs what is a bug; yoga would also log every caller mistake as an error.
    logging: false,
    // REST before the guard: its paths answer in their own dialect, body limits included.
    plugins: [readiness(db, events), restApi(db, live, dialects, config.limits.maxRequestBytes, rateLimits), requestGuard(config.limits.maxRequestBytes), auth.plugin, ...documentLimits(), scopesFirst(), storableInput(), rateLimits.graphql(auth.viewerOf)],
    context: ({ request, viewer, liveSession }) => {
      // A WebSocket operation arrives authenticated (see websocket.ts); HTTP ones via onParams.
      const caller = viewer ?? auth.viewerOf(request);
      if (!caller) throw unauthenticated();
      return createContext({ prisma: db.prisma, events, webhooks }, caller, liveSession ?? live.forRequest(caller), config.limits);
    },
  });

  const server = createServer(yoga);
  server.on("clientError", answerClientError);
  const websocket = attachWebSocket(server, yoga, db, live, config);
  return {
    server,
    events,
    webhooks,
    live,
    rateLimits,
    /** Starts the webhook engine (its jobs and workers) first: writes record their events there. */
    async listen(port = config.port, host = config.host) {
      await webhooks.start();
      return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
      });
    },
    /**
     * Stops accepting, completes every subscription (SSE responses end, WebSockets close with
     * 1001 Going Away), lets in-flight requests finish, then disconnects from the pub/sub.
     */
    async close() {
      const closed = new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
      // Keep-alive connections that go idle during shutdown would otherwise hold it up until
      // their timeout: close each as soon as it is idle.
      const sweep = setInterval(() => server.closeIdleConnections(), 50);
      live.close();
      // One turn for graphql-ws to send the ended subscriptions' `complete` messages.
      await new Promise((resolve) => setImmediate(resolve));
      await websocket.dispose();
      server.closeIdleConnections();
      await closed.finally(() => clearInterval(sweep));
      await webhooks.stop();
      await events.close();
      await rateLimits.close();
    },
  };
}
