// The one place that reads the environment. Everything else receives a Config.
import { rateLimitSettings, type RateLimitSettings } from "./limits/settings.js";

export interface Config {
  port: number;
  host: string;
  /** postgresql://... selects PostgreSQL; unset selects the embedded PGlite database. */
  databaseUrl: string | undefined;
  /** PGlite data directory; "memory://" keeps the database in memory. */
  dataDir: string;
  /** redis://... carries events between instances; unset keeps them in this process. */
  redisUrl: string | undefined;
  /** Live updates (subscriptions over graphql-ws and SSE). */
  live: {
    maxSubscriptionsPerConnection: number;
    maxConnectionsPerToken: number;
    /** Events queued for one subscription before it is ended as too slow. */
    subscriptionBuffer: number;
    /** WebSocket ping interval; a peer that misses a pong for as long is dropped. */
    keepAliveMs: number;
    /** How often open subscriptions' tokens are re-checked (revocation by the CLI, expiry). */
    tokenRecheckMs: number;
  };
  /** Upper bounds on what a caller controls. */
  limits: {
    maxPageSize: number;
    maxBulkIds: number;
    maxQueryDepth: number;
    maxRequestBytes: number;
  };
  /**
   * Origins browsers may call from (CORS_ORIGINS, comma-separated; "*" for any). Never with
   * credentials: callers send bearer tokens, not cookies.
   */
  corsOrigins: string[];
  /** Per-platform request rate limits (RATE_LIMITS, TRUST_PROXY; src/limits/settings.ts). */
  rateLimits: RateLimitSettings;
}

function intFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  }
  return value;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const databaseUrl = env.DATABASE_URL || undefined;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new Error("DATABASE_URL must be a postgresql:// URL (leave it unset for the embedded database)");
  }
  const redisUrl = env.REDIS_URL || undefined;
  if (redisUrl && !/^rediss?:\/\//.test(redisUrl)) {
    throw new Error("REDIS_URL must be a redis:// or rediss:// URL (leave it unset for in-process events)");
  }
  return {
    port: intFromEnv(env, "PORT", 4000),
    host: env.HOST || "127.0.0.1",
    databaseUrl,
    dataDir: env.DATA_DIR || "./data",
    redisUrl,
    live: {
      maxSubscriptionsPerConnection: intFromEnv(env, "MAX_SUBSCRIPTIONS_PER_CONNECTION", 50),
      maxConnectionsPerToken: intFromEnv(env, "MAX_CONNECTIONS_PER_TOKEN", 50),
      subscriptionBuffer: intFromEnv(env, "SUBSCRIPTION_BUFFER", 100),
      keepAliveMs: intFromEnv(env, "KEEPALIVE_MS", 12_000),
      tokenRecheckMs: intFromEnv(env, "TOKEN_RECHECK_MS", 5_000),
    },
    limits: {
      maxPageSize: 100,
      maxBulkIds: 200,
      maxQueryDepth: intFromEnv(env, "MAX_QUERY_DEPTH", 10),
      maxRequestBytes: intFromEnv(env, "MAX_REQUEST_BYTES", 1_000_000),
    },
    corsOrigins: (env.CORS_ORIGINS ?? "*").split(",").map((origin) => origin.trim()).filter(Boolean),
    rateLimits: rateLimitSettings(env.RATE_LIMITS, intFromEnv(env, "TRUST_PROXY", 0)),
  };
}
