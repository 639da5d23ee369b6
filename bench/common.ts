// What the benchmarks share: settings from the environment, autocannon in a child process
// (so the load does not compete with the server in one event loop), request counting,
// interruption, and printing.
import { spawn, type ChildProcess } from "node:child_process";
import type { Server } from "node:http";
import { fileURLToPath } from "node:url";
import type autocannon from "autocannon";

export function intFromEnv(name: string, fallback: number, min = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be an integer >= ${min}, got "${raw}"`);
  return value;
}

const loadProcesses = new Set<ChildProcess>();
let interrupted = false;

export const isInterrupted = () => interrupted;

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
