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
  webhooks: WebhookSettings;
}

/** Outbound webhooks (src/webhooks/). */
export interface WebhookSettings {
  /**
   * WEBHOOK_SECRET_KEY: base64 of 32 bytes that encrypt signing secrets at rest. Required with
   * DATABASE_URL (every instance needs the same one); on the embedded default it is generated
   * into DATA_DIR/webhook-secret.key when unset.
   */
  secretKey: string | undefined;
  /** WEBHOOK_ALLOW_PRIVATE=true: http:// and loopback/private targets, for development and tests. */
  allowPrivate: boolean;
  /** One attempt's whole exchange (Vorel documents 10 s). */
  attemptTimeoutMs: number;
  /** WEBHOOK_RETRY_DELAYS: seconds before the 2nd, 3rd, ... attempt; its length + 1 is the attempt limit. */
  retryDelaysSeconds: number[];
  /** WEBHOOK_DISABLE_AFTER: an endpoint is disabled after this many failed deliveries in a row. */
  disableAfterFailures: number;
  /** WEBHOOK_RETENTION_DAYS: ended deliveries (with their attempts) and the events behind them are deleted after this long. */
  retentionDays: number;
  /** How often idle workers look for jobs another instance queued (this instance's own wake them at once). */
  pollingSeconds: number;
  /** How often pg-boss runs maintenance, which retries jobs whose instance died mid-attempt. */
  maintenanceSeconds: number;
}

function secondsListFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: number[]): number[] {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const values = raw.split(",").map((each) => Number(each.trim()));
  if (values.length > 20 || values.some((value) => !Number.isFinite(value) || value < 0 || value > 86_400)) {
    throw new Error(`${name} must be a comma-separated list of at most 20 delays in seconds (0-86400), got "${raw}"`);
  }
  return values;
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
    webhooks: {
      secretKey: env.WEBHOOK_SECRET_KEY || undefined,
      allowPrivate: env.WEBHOOK_ALLOW_PRIVATE === "true",
      attemptTimeoutMs: intFromEnv(env, "WEBHOOK_TIMEOUT_MS", 10_000),
      // Six attempts, as Vorel documents: the first retry within seconds, the last about 1 h 13 min after the first.
      retryDelaysSeconds: secondsListFromEnv(env, "WEBHOOK_RETRY_DELAYS", [2, 10, 60, 600, 3_600]),
      disableAfterFailures: intFromEnv(env, "WEBHOOK_DISABLE_AFTER", 50),
      retentionDays: Math.max(1, intFromEnv(env, "WEBHOOK_RETENTION_DAYS", 30)),
      pollingSeconds: Math.max(0.5, intFromEnv(env, "WEBHOOK_POLL_MS", 1_000) / 1_000),
      maintenanceSeconds: Math.max(1, intFromEnv(env, "WEBHOOK_MAINTENANCE_SECONDS", 10)),
    },
  };
}
