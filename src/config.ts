// The one place that reads the environment. Everything else receives a Config.

export interface Config {
  port: number;
  host: string;
  /** postgresql://... selects PostgreSQL; unset selects the embedded PGlite database. */
  databaseUrl: string | undefined;
  /** PGlite data directory; "memory://" keeps the database in memory. */
  dataDir: string;
  /** Upper bounds on what a caller controls. */
  limits: {
    maxPageSize: number;
    maxBulkIds: number;
    maxQueryDepth: number;
    maxRequestBytes: number;
  };
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
  return {
    port: intFromEnv(env, "PORT", 4000),
    host: env.HOST || "127.0.0.1",
    databaseUrl,
    dataDir: env.DATA_DIR || "./data",
    limits: {
      maxPageSize: 100,
      maxBulkIds: 200,
      maxQueryDepth: intFromEnv(env, "MAX_QUERY_DEPTH", 10),
      maxRequestBytes: intFromEnv(env, "MAX_REQUEST_BYTES", 1_000_000),
    },
  };
}
