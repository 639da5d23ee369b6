// A real server on a real database for each test file: in-memory PGlite, or a fresh schema
// in the PostgreSQL of DATABASE_URL when the "postgres" project runs.
import { randomBytes } from "node:crypto";
import pg from "pg";
import { expect } from "vitest";
import { DATA_SCOPES, type Scope } from "../src/auth/scopes.js";
import { issueToken } from "../src/auth/viewer.js";
import { loadConfig } from "../src/config.js";
import { openDatabase, type Database } from "../src/db/client.js";
import type { TokenFormat } from "../src/generated/prisma/enums.js";
import { createApp, type App } from "../src/http/server.js";

export interface GraphQLResponse<T = Record<string, any>> {
  status: number;
  data?: T | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, any> }[];
}

export interface TestTenant {
  id: string;
  slug: string;
  /** A token with every data scope plus admin. */
  token: string;
  /** Issues another token of this tenant with exactly these scopes. */
  tokenWith(scopes: Scope[], format?: TokenFormat): Promise<string>;
}

export interface TestServer {
  url: string;
  db: Database;
  app: App;
  /** POSTs a GraphQL request; `token` null sends no Authorization header. */
  gql<T = Record<string, any>>(query: string, variables?: Record<string, unknown>, token?: string | null): Promise<GraphQLResponse<T>>;
  /** Runs a request that must succeed (HTTP 200, no errors) and returns its data. */
  ok(tenantOrToken: TestTenant | string, query: string, variables?: Record<string, unknown>): Promise<Record<string, any>>;
  createTenant(name?: string): Promise<TestTenant>;
  /** Another instance of the service on the same database, e.g. to test pub/sub across instances. */
  startInstance(env?: Record<string, string>): Promise<{ url: string; app: App }>;
  close(): Promise<void>;
}

export interface TestServerOptions {
  /** Environment variables for this server's config (REDIS_URL, TOKEN_RECHECK_MS, ...); process.env is not read. */
  env?: Record<string, string>;
}

/** A refusal: not a 5xx, and the first error's extensions carry `code` and these extensions. */
export function expectError(result: GraphQLResponse, code: string, extensions: Record<string, unknown> = {}) {
  expect(result.status).toBeLessThan(500);
  expect(result.errors?.[0]?.extensions, JSON.stringify(result)).toMatchObject({ code, ...extensions });
}

export const TEST_WEBHOOK_KEY = Buffer.alloc(32, 7).toString("base64");

export const usingPostgres = process.env.TEST_DATABASE === "postgres";

const WAIT_MS = 5_000;

/** Resolves once `condition` holds, polling; fails naming `what` after `timeoutMs`. Never a fixed sleep. */
export async function waitUntil(condition: () => boolean, what: () => string, timeoutMs = WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Resolves with `read()`'s value once `check` holds for it, polling; fails with the last value after `timeoutMs`. Never a fixed sleep. */
export async function eventually<T>(read: () => Promise<T>, check: (value: T) => boolean, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (check(value)) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A database config of its own for this test file (and a way to drop it afterwards). */
export function isolatedDatabaseConfig() {
  if (!usingPostgres) return { config: { databaseUrl: undefined, dataDir: "memory://" }, drop: async () => {} };
  const base = process.env.DATABASE_URL!;
  const schema = `test_${randomBytes(6).toString("hex")}`;
  const url = new URL(base);
  url.searchParams.set("schema", schema);
  return {
    config: { databaseUrl: url.toString(), dataDir: "" },
    drop: async () => {
      const client = new pg.Client({ connectionString: base });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await client.query(`DROP SCHEMA IF EXISTS "${schema}_jobs" CASCADE`);
      await client.end();
    },
  };
}

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const { config: dbConfig, drop } = isolatedDatabaseConfig();
  const db = await openDatabase(dbConfig);
  const apps: App[] = [];
  const startInstance = async (env: Record<string, string> = {}) => {
    // Rate limits are off unless a test sets RATE_LIMITS: the suite sends thousands of
    // requests from one address with a handful of tokens (test/rate-limits.test.ts tests them).
    // Webhook targets in the tests are local receivers; the key is the tests' own (never a file).
    const app = createApp(db, loadConfig({ RATE_LIMITS: "off", WEBHOOK_ALLOW_PRIVATE: "true", WEBHOOK_SECRET_KEY: TEST_WEBHOOK_KEY, ...env }));
    apps.push(app);
    const port = await app.listen(0, "127.0.0.1");
    return { url: `http://127.0.0.1:${port}/graphql`, app };
  };
  const { url, app } = await startInstance(options.env);

  const server: TestServer = {
    url,
    db,
    app,
    async gql(query, variables, token) {
      const headers: Record<string, string> = { "content-type": "application/json", accept: "application/json" };
      if (token) headers.authorization = `Bearer ${token}`;
      const response = await fetch(url, { method: "POST", headers, body: JSON.stringify({ query, variables }) });
      const body = (await response.json()) as GraphQLResponse;
      return { ...body, status: response.status } as never;
    },
    async ok(tenantOrToken, query, variables = {}) {
      const token = typeof tenantOrToken === "string" ? tenantOrToken : tenantOrToken.token;
      const result = await server.gql(query, variables, token);
      expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
      expect(result.status).toBe(200);
      return result.data as Record<string, any>;
    },
    async createTenant(name = "Tenant") {
      const slug = `${name.toLowerCase().replace(/[^a-z0-9]+/g, "-")}-${randomBytes(4).toString("hex")}`;
      const tenant = await db.prisma.tenant.create({ data: { name, slug } });
      const tokenWith = async (scopes: Scope[], format: TokenFormat = "CONVO") =>
        (await issueToken(db.prisma, { tenantId: tenant.id, name: "test", format, scopes })).secret;
      return { id: tenant.id, slug, token: await tokenWith([...DATA_SCOPES, "admin"]), tokenWith };
    },
    startInstance,
    async close() {
      await Promise.all(apps.map((each) => each.close()));
      await db.close();
      await drop();
    },
  };
  return server;
}
