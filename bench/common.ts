// What the benchmarks share: settings from the environment, a database of the run's own,
// autocannon in a child process (so the load does not compete with the server in one event
// loop), request counting, interruption, and printing.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import type { Server } from "node:http";
import { fileURLToPath } from "node:url";
import type autocannon from "autocannon";
import pg from "pg";
import type { Database } from "../src/db/client.js";

export function intFromEnv(name: string, fallback: number, min = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be an integer >= ${min}, got "${raw}"`);
  return value;
}

/** Settings every bench server gets: a webhook key of the run's own (PostgreSQL requires one; nothing it seals outlives the run). */
export const BENCH_ENV = { WEBHOOK_SECRET_KEY: process.env.WEBHOOK_SECRET_KEY || randomBytes(32).toString("base64") };

/** DATABASE_URL: PostgreSQL in a schema of this run's own (dropped by `drop`); unset: the embedded database in memory. */
export function benchDatabase() {
  const raw = process.env.DATABASE_URL;
  if (!raw) return { label: "embedded PGlite (in memory, in the server's process)", config: { databaseUrl: undefined, dataDir: "memory://" }, drop: async () => {} };
  const base = new URL(raw);
  if (!/^postgres(ql)?:$/.test(base.protocol)) throw new Error("DATABASE_URL must be a postgresql:// URL");
  base.searchParams.delete("schema");
  const schema = `bench_${randomBytes(6).toString("hex")}`;
  const url = new URL(base);
  url.searchParams.set("schema", schema);
  const admin = async <T>(work: (client: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ connectionString: base.toString() });
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  };
  let dropping: Promise<void> | undefined;
  return {
    label: `PostgreSQL at ${base.host}, schema ${schema}`,
    config: { databaseUrl: url.toString(), dataDir: "" },
    version: () => admin(async (client) => (await client.query<{ server_version: string }>("SHOW server_version")).rows[0]?.server_version ?? "?"),
    drop: () =>
      (dropping ??= admin(async (client) => {
        await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        await client.query(`DROP SCHEMA IF EXISTS "${schema}_jobs" CASCADE`);
      })),
  };
}

const loadProcesses = new Set<ChildProcess>();
let interrupted = false;

export const isInterrupted = () => interrupted;

/** Runs a benchmark's main and exits with its code: 130 once interrupted, 1 on an error (printed). */
export function exitWith(main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(interrupted ? 130 : code),
    (error: unknown) => {
      if (!interrupted) console.error(error);
      process.exit(interrupted ? 130 : 1);
    },
  );
}

export type BenchDatabase = ReturnType<typeof benchDatabase>;
/** Steps a benchmark registers to run at its end, newest first (unshift), whatever happened. */
export type Cleanup = (() => Promise<void>)[];

/**
 * Runs a benchmark on a database of its own and exits with its code: the first SIGINT or
 * SIGTERM stops the load and lets the run clean up, a second one drops the schema and exits.
 */
export function runBench(bench: (database: BenchDatabase, cleanup: Cleanup) => Promise<number>): void {
  exitWith(async () => {
    const database = benchDatabase();
    const cleanup: Cleanup = [];
    const onSignal = () => {
      if (interrupt()) {
        void database.drop().finally(() => process.exit(130));
        return;
      }
      console.error("\ninterrupted: stopping, then cleaning up");
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    try {
      return await bench(database, cleanup);
    } finally {
      for (const step of cleanup) await step().catch((error: unknown) => console.error("cleanup:", error));
      await database.drop().catch((error: unknown) => console.error("dropping the bench schema:", error));
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    }
  });
}

/** Called between steps: stops the run once interrupted. */
export function checkpoint(): void {
  if (interrupted) throw new Error("interrupted");
}

/** Marks the run interrupted and stops the load; true if it already was (a second signal). */
export function interrupt(): boolean {
  if (interrupted) return true;
  interrupted = true;
  for (const child of loadProcesses) child.kill();
  return false;
}

/** Runs autocannon in a child process (bench/load.ts) and returns its result. */
export function runAutocannon(options: autocannon.Options): Promise<autocannon.Result> {
  checkpoint();
  const script = fileURLToPath(new URL("./load.ts", import.meta.url));
  const child = spawn(process.execPath, ["--import", import.meta.resolve("tsx"), script], { stdio: ["pipe", "pipe", "inherit"] });
  loadProcesses.add(child);
  child.once("exit", () => loadProcesses.delete(child));
  const out: Buffer[] = [];
  child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
  child.stdin.end(JSON.stringify(options));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0) return reject(new Error(`autocannon child exited with ${code}`));
      try {
        resolve(JSON.parse(Buffer.concat(out).toString("utf8")) as autocannon.Result);
      } catch (error) {
        reject(error);
      }
    });
  });
}

/**
 * Requests a server has finished and those still running. A response emits "close" once,
 * whether it was answered or its client went away (autocannon drops its connections when it
 * stops, and yoga then never ends the response).
 */
export function trackRequests(server: Server) {
  const state = { inFlight: 0, done: 0 };
  server.prependListener("request", (_req, res) => {
    state.inFlight += 1;
    res.once("close", () => {
      state.inFlight -= 1;
      state.done += 1;
    });
  });
  return state as Readonly<typeof state>;
}

/** Waits until no request is in flight and no SQL was sent for 250 ms. */
export async function waitForIdle(tracker: { readonly inFlight: number }, db: Pick<Database, "sqlStatementCount">, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = -1;
  for (;;) {
    const count = db.sqlStatementCount();
    if (tracker.inFlight === 0 && count === last) return;
    if (Date.now() > deadline) throw new Error(`the server is still busy ${timeoutMs} ms after the run`);
    last = count;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

export function fmt(value: number, digits = 1): string {
  return Number.isFinite(value) ? value.toFixed(digits) : "n/a";
}

/** A table whose first row is the header; the first column left-aligned, the rest right-aligned. */
export function printTable(rows: string[][], indent = ""): void {
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((row) => row[col]!.length)));
  rows.forEach((row, index) => {
    console.log(indent + row.map((cell, col) => (col === 0 ? cell.padEnd(widths[col]!) : cell.padStart(widths[col]!))).join("   "));
    if (index === 0) console.log(indent + widths.map((w) => "-".repeat(w)).join("   "));
  });
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
