// Request/response over a child process's IPC channel, shared by `npm run bench:live`
// (bench/subscriptions.ts) and the processes it starts: the service, the plain-ws baseline
// and the subscriber processes. Structured-clone ("advanced") serialization, so typed
// arrays, Maps and Sets cross as they are.
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

/**
 * The one clock of the benchmark, in milliseconds: CLOCK_MONOTONIC (libuv's hrtime), which
 * every process on this machine reads alike, so a time taken by the writer and one taken by
 * a subscriber in another process can be subtracted.
 */
export function now(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

type Handler = (args: any) => unknown;

interface Request {
  id: number;
  cmd: string;
  args: unknown;
}

interface Reply {
  id: number;
  ok: boolean;
  value?: unknown;
  error?: string;
}

/** In a child: answers the parent's calls with these handlers, then says hello. */
export function serve(handlers: Record<string, Handler>): void {
  if (!process.send) throw new Error("run this file through bench/subscriptions.ts (it needs an IPC channel)");
  const send = process.send.bind(process);
  process.on("message", async (message: Request) => {
    const handler = handlers[message.cmd];
    try {
      if (!handler) throw new Error(`unknown command ${message.cmd}`);
      const value = await handler(message.args);
      send({ id: message.id, ok: true, value } satisfies Reply);
    } catch (error) {
      send({ id: message.id, ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) } satisfies Reply);
    }
  });
  // The parent is gone: nothing left to do.
  process.on("disconnect", () => process.exit(0));
  send({ id: 0, ok: true, value: "hello" } satisfies Reply);
}

export interface Child {
  label: string;
  process: ChildProcess;
  call<T = unknown>(cmd: string, args?: unknown): Promise<T>;
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>;
  /** Asks the process to finish with `cmd` (if given), and kills it if it has not after `graceMs`. */
  stop(cmd?: string, graceMs?: number): Promise<void>;
}

/** Starts `node [nodeArgs] --import tsx <script>` and waits for its hello. */
export async function startChild(
  label: string,
  script: URL,
  options: { nodeArgs?: string[]; env?: NodeJS.ProcessEnv } = {},
): Promise<Child> {
  const child = spawn(
    process.execPath,
    [...(options.nodeArgs ?? []), "--import", import.meta.resolve("tsx"), fileURLToPath(script)],
    { stdio: ["ignore", "inherit", "inherit", "ipc"], serialization: "advanced", env: options.env ?? process.env },
  );
  const pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  let nextId = 1;
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code, signal) => {
      exitCode = code ?? (signal ? 128 : null);
      for (const { reject } of pending.values()) reject(new Error(`${label} exited (${signal ?? code}) before answering`));
      pending.clear();
      resolve(exitCode);
    }),
  );
  const hello = new Promise<void>((resolve, reject) => {
    child.once("error", reject);
    void exited.then((code) => reject(new Error(`${label} exited with ${code} while starting`)));
    child.on("message", (reply: Reply) => {
      if (reply.id === 0) return resolve();
      const waiting = pending.get(reply.id);
      if (!waiting) return;
      pending.delete(reply.id);
      if (reply.ok) waiting.resolve(reply.value);
      else waiting.reject(new Error(`${label}: ${reply.error}`));
    });
  });
  await hello;
  const call = <T>(cmd: string, args?: unknown) =>
    new Promise<T>((resolve, reject) => {
      if (exitCode !== undefined) return reject(new Error(`${label} has exited`));
      const id = nextId++;
      pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      child.send({ id, cmd, args } satisfies Request);
    });
  return {
    label,
    process: child,
    call,
    exited,
    async stop(cmd, graceMs = 15_000) {
      if (exitCode !== undefined) return;
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      if (cmd) call(cmd).catch(() => {});
      else child.kill("SIGTERM");
      await exited;
      clearTimeout(timer);
    },
  };
}
