// Per-platform rate limits (README "Rate limits"): each REST dialect's documented policy with
// its own headers and 429 body, a complexity budget per token for GraphQL (HTTP and
// WebSocket), and a per-IP limit for callers without a valid token.
//
// Counting is rate-limiter-flexible's fixed window: a key's window starts with its first
// request and lasts windowSeconds. In this process by default; with REDIS_URL in Redis, where
// one atomic Lua increment per request makes the count exact across instances. While Redis is
// unreachable each instance counts on its own in memory (the library's insurance limiter), so
// requests are still answered and still limited, per instance.
//
// Every request counts, refused ones included: a refused GraphQL operation's points are spent
// too. The window does not move, so retrying early costs nothing but the refusal.
import type { IncomingMessage } from "node:http";
import { isIPv6 } from "node:net";
import { complexityFromQuery } from "@pothos/plugin-complexity";
import { GraphQLError, Kind, type ExecutionArgs } from "graphql";
import type { Plugin } from "graphql-yoga";
import { Redis } from "ioredis";
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from "rate-limiter-flexible";
import type { Viewer } from "../auth/viewer.js";
import type { Tenant } from "../generated/prisma/client.js";
import type { Context } from "../graphql/context.js";
import type { ServerContext } from "../http/server.js";
import type { Failure, Route } from "../rest/route.js";
import type { PolicyName, RateLimitSettings } from "./settings.js";

/** One request counted against one policy. */
export interface Verdict {
  policy: PolicyName;
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Until the window ends and the count starts again. */
  resetMs: number;
}

/** What the REST layer asks for one request (src/rest/plugin.ts). */
export interface RestMeter {
  /** Counts a caller without a valid token against its IP; a 429 failure once it is over. */
  anonymous(dialect?: string): Promise<Failure | undefined>;
  /** Counts an authenticated request against its dialect's limits; a 429 failure once over. */
  authenticated(dialect: string, viewer: Viewer, route: Route | undefined): Promise<Failure | undefined>;
  /** Adds the headers of the limit this request was counted against (none if it was not). */
  report(response: Response): Response;
}

export interface RateLimits {
  /** One per REST request; `incoming` is Node's request, whose socket has the client's address. */
  meter(request: Request, incoming: IncomingMessage | undefined): RestMeter;
  /** The yoga plugin for /graphql: per-IP before any database work, then the token's budget. */
  graphql(viewerOf: (request: Request) => Viewer | undefined): Plugin<Record<string, unknown>, ServerContext>;
  /** "off" (RATE_LIMITS=off), "memory" (no REDIS_URL), or whether Redis is counting ("up") or the local fallback is ("down"). */
  status(): "off" | "memory" | "up" | "down";
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------
// Counting

type LimiterOptions = ConstructorParameters<typeof RateLimiterMemory>[0];

/** The local fallback while Redis fails: a memory limiter that says once that it took over. */
class LocalFallback extends RateLimiterMemory {
  constructor(
    options: LimiterOptions,
    private readonly onUse: () => void,
  ) {
    super(options);
  }

  override consume(key: string | number, points?: number, options?: Record<string, unknown>): Promise<RateLimiterRes> {
    this.onUse();
    return super.consume(key, points, options);
  }
}

interface RedisCounting {
  client: Redis;
  /** Logs one line when the fallback starts counting, and one when Redis is back. */
  fallingBack(): void;
}

function connectRedis(url: string): RedisCounting {
  let fallingBack = false;
  const client = new Redis(url, {
    // While disconnected a command fails at once and the fallback counts, rather than the
    // request waiting for Redis (the event bus queues instead: its events must not be lost).
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    // A connection that hangs without closing: give up on the command, count locally.
    commandTimeout: 1_000,
    retryStrategy: (attempt: number) => Math.min(100 * attempt, 2_000),
    connectionName: "engagement-graph:rate-limits",
  });
  // ioredis reports each failed reconnection attempt; the fallback's line says what matters.
  client.on("error", () => {});
  client.on("ready", () => {
    if (fallingBack) console.error("rate limits: Redis is back; counting there again");
    fallingBack = false;
  });
  return {
    client,
    fallingBack: () => {
      if (fallingBack) return;
      fallingBack = true;
      console.error("rate limits: Redis is unreachable; each instance counts in its own memory until it is back");
    },
  };
}

function createCounter(keyPrefix: string, redisUrl: string | undefined) {
  const redis = redisUrl ? connectRedis(redisUrl) : undefined;
  // One limiter per policy and limit: the limit is the limiter's, the count is the key's.
  const limiters = new Map<string, RateLimiterAbstract>();
  const limiterFor = (policy: PolicyName, limit: number, windowSeconds: number) => {
    const id = `${policy}:${limit}:${windowSeconds}`;
    let limiter = limiters.get(id);
    if (!limiter) {
      const options: LimiterOptions = { keyPrefix: `${keyPrefix}${policy}:${windowSeconds}`, points: limit, duration: windowSeconds };
      limiter = redis
        ? new RateLimiterRedis({
            ...options,
            storeClient: redis.client,
            // Not connected: straight to the fallback, no round trip.
            rejectIfRedisNotReady: true,
            insuranceLimiter: new LocalFallback(options, redis.fallingBack),
          })
        : new RateLimiterMemory(options);
      limiters.set(id, limiter);
    }
    return limiter;
  };

  return {
    async take(policy: PolicyName, key: string, limit: number, windowSeconds: number, cost: number): Promise<Verdict> {
      let result: RateLimiterRes;
      let allowed = true;
      try {
        result = await limiterFor(policy, limit, windowSeconds).consume(key, cost);
      } catch (refusal) {
        // The library rejects with its result when over the limit, with an Error when it
        // failed; with the fallback in place it does not fail.
        if (!(refusal instanceof RateLimiterRes)) throw refusal;
        result = refusal;
        allowed = false;
      }
      return { policy, allowed, limit, remaining: result.remainingPoints, resetMs: Math.max(0, result.msBeforeNext) };
    },
    status: (): "memory" | "up" | "down" => (!redis ? "memory" : redis.client.status === "ready" ? "up" : "down"),
    close: async () => redis?.client.disconnect(),
  };
}

// ---------------------------------------------------------------------------------------
// Who is calling from where

/**
 * The caller's address: the socket's, or with TRUST_PROXY=n the address the n-th proxy from
 * us saw (the n-th entry of X-Forwarded-For from the right). Entries further left were
 * written by the caller and are ignored. IPv6 addresses count per /64, the block one
 * subscriber usually holds.
 */
export function clientAddress(socketAddress: string | undefined, forwardedFor: string | null, trustedProxies: number): string {
  let address = socketAddress ?? "unknown";
  if (trustedProxies > 0 && forwardedFor) {
    const hops = forwardedFor.split(",").map((hop) => hop.trim()).filter(Boolean);
    address = hops[Math.max(0, hops.length - trustedProxies)] ?? address;
  }
  address = address.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, "").replace(/%.*$/, "");
  return isIPv6(address) ? ipv6Block(address) : address;
}

/** "2001:db8:1:2:3:4:5:6" and "2001:db8:1:2::9" are both "2001:db8:1:2::/64". */
function ipv6Block(address: string): string {
  const [head = "", tail] = address.split("::");
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill("0"), ...right];
  return `${groups.slice(0, 4).map((group) => parseInt(group, 16).toString(16)).join(":")}::/64`;
}

// ---------------------------------------------------------------------------------------
// What each caller counts against, and how it is told

/** The policies an authenticated request of each dialect counts against, each with its key. */
const DIALECT_POLICIES: Record<string, (viewer: Viewer, route: Route | undefined) => [PolicyName, string][]> = {
  veleria: (viewer) => [["veleria", viewer.tenant.id]],
  // Per route, so that a flood on one endpoint does not starve the others (Convo's docs).
  convo: (viewer, route) => [["convo", `${viewer.tenant.id}:${route ? `${route.method} ${route.path}` : "unknown path"}`]],
  vorel: (viewer) => [
    ["vorelKey", viewer.token.id],
    ["vorelTenant", viewer.tenant.id],
  ],
  velents: (viewer) => [["velents", viewer.token.id]],
  // Agent.sa shares Velents' host and its per-token limits (one token per agent).
  "velents-agent": (viewer) => [["velents", viewer.token.id]],
};

const WHOSE: Record<PolicyName, string> = {
  anonymous: "from this address without a valid token",
  veleria: "for this account",
  convo: "for this workspace on this route",
  vorelKey: "for this API key",
  vorelTenant: "for this tenant",
  velents: "for this token",
  graphql: "for this token",
};

const retryAfterSeconds = (verdict: Verdict) => Math.max(1, Math.ceil(verdict.resetMs / 1000));

function windowName(seconds: number): string {
  if (seconds === 60) return "minute";
  if (seconds === 3600) return "hour";
  return `${seconds} seconds`;
}

function refusalMessage(verdict: Verdict, windowSeconds: number): string {
  const unit = verdict.policy === "graphql" ? "query-complexity points" : "requests";
  return `Rate limit exceeded: ${verdict.limit} ${unit} per ${windowName(windowSeconds)} ${WHOSE[verdict.policy]}; retry in ${retryAfterSeconds(verdict)} s`;
}

/** The limit to report when several applied: the refusing one, else the nearest to running out. */
function reported(verdicts: Verdict[]): Verdict | undefined {
  return verdicts.find((verdict) => !verdict.allowed) ?? verdicts.reduce<Verdict | undefined>((low, each) => (!low || each.remaining < low.remaining ? each : low), undefined);
}

/**
 * The REST dialects' headers: X-RateLimit-Limit and -Remaining (Velents documents exactly
 * these two), -Reset as a Unix time in seconds (GitHub's convention) for the others, and
 * Retry-After in seconds on a 429.
 */
function restHeaders(verdict: Verdict, dialect: string | undefined): Record<string, string> {
  return {
    "X-RateLimit-Limit": String(verdict.limit),
    "X-RateLimit-Remaining": String(verdict.remaining),
    ...(dialect === "velents" || dialect === "velents-agent" ? {} : { "X-RateLimit-Reset": String(Math.ceil((Date.now() + verdict.resetMs) / 1000)) }),
    ...(verdict.allowed ? {} : { "Retry-After": String(retryAfterSeconds(verdict)) }),
  };
}

/** GraphQL's: the IETF draft's RateLimit-Limit, -Remaining and -Reset (seconds from now). */
function graphqlHeaders(verdict: Verdict): Record<string, string> {
  return {
    "RateLimit-Limit": String(verdict.limit),
    "RateLimit-Remaining": String(verdict.remaining),
    "RateLimit-Reset": String(Math.ceil(verdict.resetMs / 1000)),
    ...(verdict.allowed ? {} : { "Retry-After": String(retryAfterSeconds(verdict)) }),
  };
}

/**
 * The operation's complexity as the schema's complexity plugin computes it (the same field
 * costs and list multipliers, @pothos/plugin-complexity's own function), at least 1.
 */
export function operationCost({ schema, document, operationName, variableValues, contextValue }: ExecutionArgs): number {
  // complexityFromQuery measures a document's first operation: keep only the one that runs.
  const selected = operationName
    ? { ...document, definitions: document.definitions.filter((d) => d.kind !== Kind.OPERATION_DEFINITION || d.name?.value === operationName) }
    : document;
  try {
    return Math.max(1, complexityFromQuery(selected, { schema, ctx: contextValue as object, variables: variableValues ?? {} }).complexity);
  } catch {
    // Variables that do not coerce: execution refuses the operation itself.
    return 1;
  }
}

// ---------------------------------------------------------------------------------------

export function createRateLimits(settings: RateLimitSettings, redisUrl: string | undefined): RateLimits {
  if (!settings.enabled) {
    const meter: RestMeter = { anonymous: async () => undefined, authenticated: async () => undefined, report: (response) => response };
    return { meter: () => meter, graphql: () => ({}), status: () => "off", close: async () => {} };
  }
  const counter = createCounter(settings.keyPrefix, redisUrl);

  const limitOf = (policy: PolicyName, tenant: Tenant | undefined): number => {
    const override = tenant ? (settings.tenants[tenant.slug]?.[policy] ?? settings.tenants[tenant.id]?.[policy]) : undefined;
    // Without a tenant (an anonymous caller) there is no plan: the STARTER figure applies.
    return override ?? settings.policies[policy].limit[tenant?.plan ?? "STARTER"];
  };
  const take = (policy: PolicyName, key: string, tenant?: Tenant, cost = 1) =>
    counter.take(policy, key, limitOf(policy, tenant), settings.policies[policy].windowSeconds, cost);
  const addressOf = (request: Request, incoming: IncomingMessage | undefined) =>
    clientAddress(incoming?.socket.remoteAddress, request.headers.get("x-forwarded-for"), settings.trustedProxies);
  const refusal = (verdict: Verdict): Failure => ({
    status: 429,
    code: "RATE_LIMITED",
    message: refusalMessage(verdict, settings.policies[verdict.policy].windowSeconds),
  });
  /** `overHttp`: yoga answers 429 (the headers come from onResponse); a WebSocket has no status. */
  const rateLimited = (verdict: Verdict, overHttp: boolean) =>
    new GraphQLError(refusalMessage(verdict, settings.policies[verdict.policy].windowSeconds), {
      extensions: {
        code: "RATE_LIMITED",
        retryAfter: retryAfterSeconds(verdict),
        limit: verdict.limit,
        ...(overHttp ? { http: { status: 429 } } : {}),
      },
    });

  return {
    meter(request, incoming) {
      const verdicts: Verdict[] = [];
      let dialectName: string | undefined;
      /**
       * Counts against each policy in turn; the first to refuse stops the others from counting,
       * so a Vorel key over its own limit does not use up its tenant's.
       */
      const count = async (policies: [PolicyName, string][], tenant?: Tenant) => {
        for (const [policy, key] of policies) {
          const verdict = await take(policy, key, tenant);
          verdicts.push(verdict);
          if (!verdict.allowed) return refusal(verdict);
        }
        return undefined;
      };
      return {
        anonymous: (dialect) => {
          dialectName = dialect;
          return count([["anonymous", addressOf(request, incoming)]]);
        },
        authenticated: (dialect, viewer, route) => {
          dialectName = dialect;
          return count(DIALECT_POLICIES[dialect]?.(viewer, route) ?? [], viewer.tenant);
        },
        report(response) {
          const verdict = reported(verdicts);
          if (verdict) for (const [name, value] of Object.entries(restHeaders(verdict, dialectName))) response.headers.set(name, value);
          return response;
        },
      };
    },

    graphql(viewerOf) {
      // The verdict of each HTTP request, for its response's headers.
      const verdicts = new WeakMap<Request, Verdict>();
      /** Charges an operation to its token's budget; the error to answer with when over. */
      const charge = async (args: ExecutionArgs): Promise<GraphQLError | undefined> => {
        const context = args.contextValue as Context & { params?: unknown; request?: Request };
        // REST routes run their stored operations without GraphQL request params, and count
        // against their dialect's limits instead (src/rest/plugin.ts).
        if (!context.params) return undefined;
        const { tenant, token } = context.viewer;
        const cost = operationCost(args);
        const limit = limitOf("graphql", tenant);
        if (cost > limit) {
          return new GraphQLError(`This operation costs ${cost} query-complexity points, more than this token may spend in a window (${limit})`, {
            extensions: { code: "QUERY_TOO_COMPLEX", cost, limit },
          });
        }
        const verdict = await take("graphql", token.id, tenant, cost);
        if (context.request) verdicts.set(context.request, verdict);
        return verdict.allowed ? undefined : rateLimited(verdict, context.request !== undefined);
      };
      return {
        // After authentication (server.ts lists it first): a request without a valid token
        // did no database work unless it carried a well-formed token that turned out unknown.
        async onParams({ request, context, setResult }) {
          if (viewerOf(request)) return;
          const verdict = await take("anonymous", addressOf(request, context.req));
          verdicts.set(request, verdict);
          if (!verdict.allowed) setResult({ errors: [rateLimited(verdict, true)] });
        },
        async onExecute({ args, setResultAndStopExecution }) {
          const error = await charge(args);
          if (error) setResultAndStopExecution({ errors: [error] });
        },
        // A subscription is charged once, when it starts (over SSE or a WebSocket).
        async onSubscribe({ args, setResultAndStopExecution }) {
          const error = await charge(args);
          if (error) setResultAndStopExecution({ errors: [error] });
        },
        onResponse({ request, response }) {
          const verdict = verdicts.get(request);
          if (verdict) for (const [name, value] of Object.entries(graphqlHeaders(verdict))) response.headers.set(name, value);
        },
      };
    },

    status: () => counter.status(),
    close: () => counter.close(),
  };
}
