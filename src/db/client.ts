// The one place that creates the Prisma client: PGlite in-process by default, PostgreSQL
// through `pg` when DATABASE_URL is set. Both run the same migrations at open.
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { PrismaPg } from "@prisma/adapter-pg";
import type { SqlMigrationAwareDriverAdapterFactory } from "@prisma/driver-adapter-utils";
import pg from "pg";
import { PrismaPGlite } from "pglite-prisma-adapter";
import type { Config } from "../config.js";
import { PrismaClient } from "../generated/prisma/client.js";
import { applyMigrations } from "./migrations.js";

export type { PrismaClient };

export interface Database {
  prisma: PrismaClient;
  kind: "embedded" | "postgres";
  /** The embedded database's directory ("memory://" for none); null on PostgreSQL. */
  dataDir: string | null;
  /** Names of the migrations applied by this open (empty when the database was current). */
  appliedMigrations: string[];
  /** SQL statements sent so far; read it before and after a piece of work to count its statements. */
  sqlStatementCount(): number;
  /** The same database for the job engine (pg-boss), which speaks SQL without Prisma. */
  jobs: JobsDatabase;
  close(): Promise<void>;
}

export interface JobsDatabase {
  /** The PostgreSQL schema pg-boss keeps its tables in. */
  schema: string;
  executeSql(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
}

interface Driver {
  kind: Database["kind"];
  adapter: SqlMigrationAwareDriverAdapterFactory;
  /** Runs the migrations, on connections of their own where the database has several. */
  migrate(): Promise<string[]>;
  jobs: JobsDatabase;
  close(): Promise<void>;
}

const LOCK_FILE = "engagement-graph.lock";

/** Whether a process with this pid runs (one of another user's counts). */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The embedded database's directory is held by another running process: an operator's mistake, shown without a stack. */
export class DataDirInUseError extends Error {}

/**
 * PGlite is one process's database: a second process on the same directory (the CLI while the
 * server runs) would write beside it and lose its writes, or worse. The directory holds the
 * pid of the process that has it open; a pid that no longer runs (after a crash) is taken over.
 */
async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const file = path.join(dataDir, LOCK_FILE);
  const holderOf = async () => Number((await readFile(file, "utf8").catch(() => "")).trim());
  const inUse = (holder: number) => new DataDirInUseError(`${dataDir} is in use by process ${holder}: stop it first (the embedded database is single-process)`);
  let tookOver = false;
  for (;;) {
    try {
      await writeFile(file, `${process.pid}\n`, { flag: "wx" });
      if (tookOver) {
        // Two processes finding the same stale lock could each remove and take it: the one
        // whose pid is not there a moment later lost, and backs off.
        await new Promise((resolve) => setTimeout(resolve, 50));
        const holder = await holderOf();
        if (holder !== process.pid) throw inUse(holder);
      }
      return () => rm(file, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const holder = await holderOf();
    if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && running(holder)) throw inUse(holder);
    await rm(file, { force: true });
    tookOver = true;
  }
}

async function embeddedDriver(dataDir: string): Promise<Driver> {
  const inMemory = dataDir === "memory://";
  if (!inMemory) await mkdir(dataDir, { recursive: true });
  const unlock = inMemory ? async () => {} : await lockDataDir(dataDir);
  const client = new PGlite(inMemory ? undefined : dataDir);
  await client.waitReady.catch(async (error: unknown) => {
    await unlock();
    throw error;
  });
  const jobs: JobsDatabase = {
    schema: "pgboss",
    // pg-boss sends its migrations as one multi-statement script without parameters, which
    // PGlite runs only through exec(); query() takes one statement with parameters.
    async executeSql(text, values = []) {
      if (values.length > 0) return { rows: (await client.query(text, values)).rows };
      const results = await client.exec(text);
      return { rows: results.at(-1)?.rows ?? [] };
    },
  };
  const adapter = new PrismaPGlite(client);
  return {
    kind: "embedded",
    adapter,
    migrate: () => migrateWithRetry(adapter),
    jobs,
    close: async () => {
      await client.close();
      await unlock();
    },
  };
}

/**
 * A `?schema=` parameter (as in Prisma's own URLs) puts every table in that PostgreSQL
 * schema: the tests use it to give each test file a database of its own.
 */
/** The parts of @prisma/adapter-pg's adapter that running a migration script touches. */
interface ScriptRunner {
  executeScript(script: string): Promise<void>;
  underlyingDriver(): { query(text: string): Promise<unknown> };
  onError(error: unknown): never;
}

/**
 * @prisma/adapter-pg runs a migration script by splitting it on every ";", which breaks any
 * statement with a semicolon inside (a PL/pgSQL function body, such as the trigger that
 * numbers messages). PostgreSQL's simple query protocol takes the whole script at once, as
 * Prisma's native engine sends it: this adapter factory does that.
 */
class PrismaPgWholeScripts extends PrismaPg {
  override async connect() {
    return wholeScripts(await super.connect());
  }
  override async connectToShadowDb() {
    return wholeScripts(await super.connectToShadowDb());
  }
}

function wholeScripts<A extends object>(adapter: A): A {
  // `onError` and `underlyingDriver` are the adapter's own (not in its declared interface).
  const runner = adapter as unknown as ScriptRunner;
  runner.executeScript = async (script) => {
    try {
      await runner.underlyingDriver().query(script);
    } catch (error) {
      runner.onError(error);
    }
  };
  return adapter;
}

function postgresDriver(databaseUrl: string): Driver {
  const url = new URL(databaseUrl);
  const schema = url.searchParams.get("schema") ?? undefined;
  url.searchParams.delete("schema");
  const poolOf = (max: number) =>
    new pg.Pool({ connectionString: url.toString(), max, options: schema ? `-c search_path="${schema.replace(/"/g, "")}"` : undefined });
  const adapterOf = (pool: pg.Pool) => new PrismaPgWholeScripts(pool, schema ? { schema } : undefined);
  const pool = poolOf(10);
  return {
    kind: "postgres",
    adapter: adapterOf(pool),
    // The schema engine takes a session advisory lock and leaves its release to the end of the
    // session: on a pool of their own, ended at once, migrations never hold it for later
    // instances (a shared pool's busy connection would keep it for good).
    async migrate() {
      const migrations = poolOf(1);
      try {
        return await migrateWithRetry(adapterOf(migrations));
      } finally {
        await migrations.end();
      }
    },
    jobs: {
      // Beside the tables' own schema, so that dropping a test file's schema's jobs is one statement more.
      schema: schema ? `${schema}_jobs` : "pgboss",
      executeSql: async (text, values) => ({ rows: (await pool.query(text, values as unknown[] | undefined)).rows }),
    },
    close: () => pool.end(),
  };
}

/**
 * The schema engine serialises migrations with one PostgreSQL advisory lock per server and
 * gives up after 10 s; instances (or test files) starting together just wait their turn.
 */
async function migrateWithRetry(adapter: SqlMigrationAwareDriverAdapterFactory, attempts = 4): Promise<string[]> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await applyMigrations(adapter);
    } catch (error) {
      if (attempt >= attempts || !String((error as Error).message).includes("advisory lock")) throw error;
    }
  }
}

export async function openDatabase(config: Pick<Config, "databaseUrl" | "dataDir">): Promise<Database> {
  const driver = config.databaseUrl ? postgresDriver(config.databaseUrl) : await embeddedDriver(config.dataDir);
  try {
    const appliedMigrations = await driver.migrate();
    const prisma = new PrismaClient({
      adapter: driver.adapter,
      log: [{ emit: "event", level: "query" }],
      // PGlite runs one transaction at a time and every write is one (src/graphql/publish.ts):
      // a transaction waits for the one before it, however long that may run (a batch dispatch,
      // up to 60 s), instead of failing after Prisma's default 2 s.
      ...(driver.kind === "embedded" ? { transactionOptions: { maxWait: 65_000 } } : {}),
    });
    let statements = 0;
    prisma.$on("query", () => {
      statements += 1;
    });
    return {
      prisma,
      kind: driver.kind,
      dataDir: driver.kind === "embedded" ? config.dataDir : null,
      appliedMigrations,
      sqlStatementCount: () => statements,
      jobs: driver.jobs,
      async close() {
        await prisma.$disconnect();
        await driver.close();
      },
    };
  } catch (error) {
    await driver.close();
    throw error;
  }
}
