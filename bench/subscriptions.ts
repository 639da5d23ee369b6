// `npm run bench:live`: live updates at scale. N graphql-ws subscribers (each its own
// WebSocket connection) watch one tenant's inbox (`conversationEvents`) on one instance of the
// service while one writer sends operator messages over HTTP, one after another; against a
// baseline of the same N sockets receiving the same payloads from a plain `ws` server
// (bench/subscriptions-baseline.ts) triggered the same way, measured in the same run.
//
//   npm run bench:live -- [--sizes 1000,5000,10000] [--events 20] [--warmup 3] [--paced 5]
//                         [--concurrency 100] [--per-process 10000] [--cpu-prof <dir>] [--heap-snapshot <dir>]
//
//   --sizes        subscriber counts N, one fresh server (and baseline server) per N
//   --events       measured events per N, sent back to back (the next mutation as soon as the
//                  previous one's response arrived), not waiting for delivery
//   --warmup       unmeasured events first, same way
//   --paced        then this many events one at a time: the next is sent once every
//                  subscriber has the previous one (latency of an event on an idle system)
//   --concurrency  WebSocket connections being opened at once
//   --per-process  subscribers per subscriber process (each process has its own ulimit -n)
//   --cpu-prof     write CPU profiles of the service per N into this directory: one of the
//                  second half of the connects, one of the burst phase (sampled every 200 us)
//   --heap-snapshot  write heap snapshots of the service per N into this directory, before
//                  and after the N subscribers connected (after a full GC)
//
//   DATABASE_URL   PostgreSQL (a fresh ?schema=bench_<random> per server, dropped at the
//                  end); unset: the embedded database (DATA_DIR=memory://)
//   REDIS_URL      events through Redis pub/sub instead of in-process
//
// Processes: this one is the writer (and orchestrates); the service, the baseline server and
// the subscribers each run in their own process. Latency = time a subscriber had the
// payload (parsed) - time the writer had the HTTP response of the write that caused it, both
// read from CLOCK_MONOTONIC, which all processes on this machine share.
//
// Per N, each side (service, then baseline with the service's payloads): a probe subscriber
// checks one event end to end; memory is read; N subscribers connect in two halves, memory
// read after each; warm-up events; the burst; the paced events. Figures:
//   latency          per subscriber and event, from the writer's response (p50/p99/max over
//                    all of them); "from write sent" adds the write's own round trip
//   fan-out time     per event, writer's response -> the last subscriber has it
//   deliveries/s     subscriber-events delivered / (last delivery - first write sent)
//   writes/s         writes completed / (last response - first write sent)
//   memory           the server's RSS and heapUsed after forced full GCs (the servers run with
//                    --expose-gc) and RSS has settled: (after N - before) / N, and the second
//                    half's growth / (N/2), which leaves out one-time costs; heapUsed is the
//                    steady one: RSS moves by tens of MiB on its own (V8 resizing its young
//                    generation, shown, and subtracted in "RSS - young generation"; the
//                    allocator returning pages), so per-subscriber RSS means little at small N
//   server CPU       user + system time of the server process per 1000 deliveries
//   GC, loop delay   GC pause time (V8's gc performance entries) and the event loop's delay
//                    (monitorEventLoopDelay) during the phase
//
// Exits non-zero when a subscriber missed an event, got one twice, got a payload that
// differs from the others' or from what was written, or lost its subscription.
import { randomBytes } from "node:crypto";
import { mkdir } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { createClient } from "graphql-ws";
import pg from "pg";
import WebSocket from "ws";
import type { ConnectArgs, ConnectResult, EventResults, Progress } from "./subscriptions-clients.js";
import { now, startChild, type Child } from "./subscriptions-ipc.js";
import type { MemorySnapshot, ServerInfo } from "./subscriptions-memory.js";

const HOST = "127.0.0.1";

const SUBSCRIPTION = `subscription Inbox {
  conversationEvents {
    type
    conversation { id status customerName contact { firstName } tags { name } lastMessages(count: 3) { role content } }
    message { content }
  }
}`;

const MUTATION = `mutation Reply($conversationId: ID!, $content: String!) {
  sendOperatorMessage(conversationId: $conversationId, content: $content) { id content }
}`;

// ---------------------------------------------------------------------------------------
// Settings.

function parseArgs(argv: string[]) {
  const settings = { sizes: [1_000, 5_000, 10_000], events: 20, warmup: 3, paced: 5, concurrency: 100, perProcess: 10_000, cpuProf: "", heapSnapshot: "" };
  const int = (name: string, raw: string | undefined, min: number) => {
    const value = Number(raw);
    if (raw === undefined || !Number.isInteger(value) || value < min) throw new Error(`--${name} needs an integer >= ${min}, got "${raw ?? ""}"`);
    return value;
  };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split("=", 2) as [string, string | undefined];
    const value = () => inline ?? argv[++i];
    switch (flag) {
      case "--sizes":
        settings.sizes = (value() ?? "").split(",").map((part) => int("sizes", part.trim(), 1));
        break;
      case "--events":
        settings.events = int("events", value(), 1);
        break;
      case "--warmup":
        settings.warmup = int("warmup", value(), 0);
        break;
      case "--paced":
        settings.paced = int("paced", value(), 0);
        break;
      case "--concurrency":
        settings.concurrency = int("concurrency", value(), 1);
        break;
      case "--per-process":
        settings.perProcess = int("per-process", value(), 1);
        break;
      case "--cpu-prof":
        settings.cpuProf = value() ?? "";
        if (!settings.cpuProf) throw new Error("--cpu-prof needs a directory");
        break;
      case "--heap-snapshot":
        settings.heapSnapshot = value() ?? "";
        if (!settings.heapSnapshot) throw new Error("--heap-snapshot needs a directory");
        break;
      default:
        throw new Error(`unknown argument ${argv[i]} (see the top of bench/subscriptions.ts)`);
    }
  }
  return settings;
}

const settings = parseArgs(process.argv.slice(2));
/** How long a phase may take to reach every subscriber before it counts as failed. */
const DELIVERY_TIMEOUT_MS = 300_000;
/** ... or after this long without a single delivery. */
const STALL_TIMEOUT_MS = 30_000;

// ---------------------------------------------------------------------------------------
// Helpers.

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

function fmt(value: number, digits = 1): string {
  return Number.isFinite(value) ? value.toFixed(digits) : "n/a";
}

function ratio(a: number, b: number, digits = 2): string {
  return Number.isFinite(a / b) && b !== 0 ? `${(a / b).toFixed(digits)}x` : "n/a";
}

function printTable(rows: string[][]): void {
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((row) => (row[col] ?? "").length)));
  rows.forEach((row, index) => {
    console.log(row.map((cell, col) => (col === 0 ? cell.padEnd(widths[col]!) : cell.padStart(widths[col]!))).join("   ").trimEnd());
    if (index === 0) console.log(widths.map((w) => "-".repeat(w)).join("   "));
  });
}

// ---------------------------------------------------------------------------------------
// Databases: a fresh schema per service process on PostgreSQL, dropped at the end.

const baseDatabaseUrl = process.env.DATABASE_URL || undefined;
const schemas: string[] = [];

function databaseEnv(): NodeJS.ProcessEnv {
  if (!baseDatabaseUrl) return { DATABASE_URL: "", DATA_DIR: "memory://" };
  const url = new URL(baseDatabaseUrl);
  if (!/^postgres(ql)?:$/.test(url.protocol)) throw new Error("DATABASE_URL must be a postgresql:// URL");
  const schema = `bench_${randomBytes(6).toString("hex")}`;
  schemas.push(schema);
  url.searchParams.set("schema", schema);
  return { DATABASE_URL: url.toString(), DATA_DIR: "" };
}

async function dropSchemas(): Promise<void> {
  if (!baseDatabaseUrl || schemas.length === 0) return;
  const url = new URL(baseDatabaseUrl);
  url.searchParams.delete("schema");
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    for (const schema of schemas.splice(0)) await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

// ---------------------------------------------------------------------------------------
// The two sides.

interface Counters {
  cpu: NodeJS.CpuUsage;
  /** GC pause time so far, and the longest pause since the previous reading (ms). */
  gcMs: { totalMs: number; longestMs: number };
  statements: number;
  stats: { connections: number; streams: number };
  maxRssKiB: number;
}

interface Write {
  sentAt: number;
  respondedAt: number;
}

interface Target {
  label: string;
  server: Child;
  /** Where subscribers connect. */
  url: string;
  mode: ConnectArgs["mode"];
  token: string;
  /** Causes event `index`; resolves once the whole HTTP response has arrived. */
  write(index: number): Promise<Write>;
}

const children = new Set<Child>();

async function start(label: string, script: string, env: NodeJS.ProcessEnv, nodeArgs: string[] = []): Promise<Child> {
  const child = await startChild(label, new URL(script, import.meta.url), { env: { ...process.env, ...env }, nodeArgs: ["--expose-gc", ...nodeArgs] });
  children.add(child);
  void child.exited.then(() => children.delete(child));
  return child;
}

/** Keep-alive HTTP POST of a JSON body; resolves with the parsed response once all of it arrived. */
async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ write: Write; status: number; json: any }> {
  const sentAt = now();
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json", ...headers },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  const respondedAt = now();
  return { write: { sentAt, respondedAt }, status: response.status, json: JSON.parse(text) };
}

function serviceTarget(server: Child, info: ServerInfo, contents: string[]): Target {
  const url = `http://${HOST}:${info.port}/graphql`;
  return {
    label: "service",
    server,
    url: `ws://${HOST}:${info.port}/graphql`,
    mode: "graphql",
    token: info.subscriberToken,
    async write(index) {
      const conversationId = info.conversationIds[index % info.conversationIds.length]!;
      const { write, status, json } = await postJson(url, { query: MUTATION, variables: { conversationId, content: contents[index] } }, { authorization: `Bearer ${info.writerToken}` });
      if (status !== 200 || json.errors || json.data?.sendOperatorMessage?.content !== contents[index]) {
        throw new Error(`sendOperatorMessage for event ${index} failed: HTTP ${status} ${JSON.stringify(json).slice(0, 1_000)}`);
      }
      return write;
    },
  };
}

function baselineTarget(server: Child, port: number, expectClients: (index: number) => number): Target {
  return {
    label: "baseline",
    server,
    url: `ws://${HOST}:${port}/graphql`,
    mode: "plain",
    token: "",
    async write(index) {
      const { write, status, json } = await postJson(`http://${HOST}:${port}/broadcast`, { event: index });
      if (status !== 200 || json.clients !== expectClients(index)) {
        throw new Error(`baseline broadcast of event ${index}: HTTP ${status} ${JSON.stringify(json)}, expected ${expectClients(index)} clients`);
      }
      return write;
    },
  };
}

// ---------------------------------------------------------------------------------------
// One side at one N.

interface PhaseResult {
  events: number[];
  writes: Write[];
  /** Every subscriber-event latency (ms), sorted. */
  latencies: Float64Array;
  /** The same deliveries timed from when the write was sent (includes the write's own round trip), sorted. */
  fromSent: Float64Array;
  /** Per event: last receipt - writer's response. */
  fanOut: number[];
  firstSent: number;
  lastResponse: number;
  lastReceipt: number;
  delivered: number;
  missing: number;
  serverCpuMs: number;
  serverGcMs: number;
  serverLongestGcMs: number;
  /** The service's event-loop delay over the phase (ms). */
  loopDelay: { p99: number; max: number };
  clientCpuMs: number;
  statements: number;
}

interface SideResult {
  label: string;
  n: number;
  connect: ConnectResult & { statements: number };
  memoryBefore: MemorySnapshot;
  /** With half of the subscribers connected. */
  memoryHalf: MemorySnapshot;
  memoryAfter: MemorySnapshot;
  burst: PhaseResult;
  paced?: PhaseResult;
  duplicates: number;
  unknown: number;
  lost: number;
  mismatches: number;
  problems: string[];
  /** 1-minute load average when the side started and when it finished (other work on the machine skews every figure). */
  load: [number, number];
  /** Per event index: the payload the subscribers received (identical across them, or a problem is listed). */
  payloads: Map<number, string>;
  peakRssKiB: number;
}

class Subscribers {
  private constructor(readonly processes: Child[], readonly sizes: number[]) {}

  static async start(n: number): Promise<Subscribers> {
    const count = Math.ceil(n / settings.perProcess);
    const sizes = Array.from({ length: count }, (_, i) => Math.floor(n / count) + (i < n % count ? 1 : 0));
    const processes = await Promise.all(sizes.map((_, i) => start(`subscribers ${i + 1}/${count}`, "./subscriptions-clients.ts", {})));
    return new Subscribers(processes, sizes);
  }

  /** Connects until `fraction` of each process's subscribers are open. */
  async connect(args: Omit<ConnectArgs, "count" | "until">, fraction = 1): Promise<ConnectResult> {
    const results = await Promise.all(
      this.processes.map((child, i) =>
        child.call<ConnectResult>("connect", {
          ...args,
          count: this.sizes[i]!,
          until: Math.round(this.sizes[i]! * fraction),
          concurrency: Math.ceil(args.concurrency / this.processes.length),
        }),
      ),
    );
    return {
      connected: results.reduce((sum, r) => sum + r.connected, 0),
      failed: results.reduce((sum, r) => sum + r.failed, 0),
      firstError: results.find((r) => r.firstError)?.firstError,
      ms: Math.max(...results.map((r) => r.ms)),
    };
  }

  async progress(): Promise<Progress> {
    const parts = await Promise.all(this.processes.map((child) => child.call<Progress>("progress")));
    return {
      perEvent: parts[0]!.perEvent.map((_, e) => parts.reduce((sum, p) => sum + p.perEvent[e]!, 0)),
      duplicates: parts.reduce((sum, p) => sum + p.duplicates, 0),
      unknown: parts.reduce((sum, p) => sum + p.unknown, 0),
      lost: parts.reduce((sum, p) => sum + p.lost, 0),
      firstProblem: parts.find((p) => p.firstProblem)?.firstProblem,
    };
  }

  /** Waits until every subscriber has every one of `events`; gives up at the timeout or after 30 s without progress. */
  async delivered(events: number[], n: number, timeoutMs: number, everyMs = 20): Promise<boolean> {
    const deadline = now() + timeoutMs;
    let count = -1;
    let progressedAt = now();
    for (;;) {
      const progress = await this.progress();
      if (events.every((e) => progress.perEvent[e] === n)) return true;
      const total = events.reduce((sum, e) => sum + progress.perEvent[e]!, 0);
      if (total !== count) {
        count = total;
        progressedAt = now();
      }
      if (progress.lost >= n || now() > deadline || now() - progressedAt > STALL_TIMEOUT_MS) return false;
      await sleep(everyMs);
    }
  }

  results(events: number[]): Promise<EventResults[]> {
    return Promise.all(this.processes.map((child) => child.call<EventResults>("results", { events })));
  }

  async cpuMs(): Promise<number> {
    const usages = await Promise.all(this.processes.map((child) => child.call<NodeJS.CpuUsage>("cpu")));
    return usages.reduce((sum, u) => sum + (u.user + u.system) / 1_000, 0);
  }

  async close(): Promise<void> {
    await Promise.all(this.processes.map((child) => child.stop("close", 10_000)));
  }
}

const cpuMsOf = (before: Counters, after: Counters) => (after.cpu.user + after.cpu.system - before.cpu.user - before.cpu.system) / 1_000;

async function runPhase(
  target: Target,
  subscribers: Subscribers,
  n: number,
  events: number[],
  paced: boolean,
  profile?: string,
): Promise<PhaseResult> {
  const before = await target.server.call<Counters>("counters");
  const clientBefore = await subscribers.cpuMs();
  if (profile) await target.server.call("profileStart");
  await target.server.call("loopDelay");
  const writes: Write[] = [];
  for (const e of events) {
    writes.push(await target.write(e));
    if (paced && !(await subscribers.delivered([e], n, DELIVERY_TIMEOUT_MS))) break;
  }
  await subscribers.delivered(events, n, DELIVERY_TIMEOUT_MS);
  const loopDelay = await target.server.call<{ p99: number; max: number }>("loopDelay");
  if (profile) await target.server.call("profileStop", { file: profile });
  const after = await target.server.call<Counters>("counters");
  const clientAfter = await subscribers.cpuMs();
  const results = await subscribers.results(events);

  const latencies: number[] = [];
  const fromSent: number[] = [];
  const fanOut: number[] = [];
  let lastReceipt = -Infinity;
  let missing = 0;
  events.forEach((_, i) => {
    const respondedAt = writes[i]?.respondedAt ?? Number.NaN;
    const sentAt = writes[i]?.sentAt ?? Number.NaN;
    let last = -Infinity;
    for (const part of results) {
      for (const at of part.times[i]!) {
        if (Number.isNaN(at)) {
          missing += 1;
          continue;
        }
        latencies.push(at - respondedAt);
        fromSent.push(at - sentAt);
        if (at > last) last = at;
      }
    }
    fanOut.push(last - respondedAt);
    lastReceipt = Math.max(lastReceipt, last);
  });
  return {
    events,
    writes,
    latencies: Float64Array.from(latencies).sort(),
    fromSent: Float64Array.from(fromSent).sort(),
    fanOut,
    firstSent: writes[0]?.sentAt ?? Number.NaN,
    lastResponse: writes.at(-1)?.respondedAt ?? Number.NaN,
    lastReceipt,
    delivered: latencies.length,
    missing,
    serverCpuMs: cpuMsOf(before, after),
    serverGcMs: after.gcMs.totalMs - before.gcMs.totalMs,
    serverLongestGcMs: after.gcMs.longestMs,
    loopDelay,
    clientCpuMs: clientAfter - clientBefore,
    statements: after.statements - before.statements,
  };
}

interface Plan {
  contents: string[];
  probe: number;
  warmup: number[];
  burst: number[];
  paced: number[];
}

function plan(n: number): Plan {
  const run = randomBytes(3).toString("hex");
  const total = 1 + settings.warmup + settings.events + settings.paced;
  const contents = Array.from(
    { length: total },
    (_, i) => `Operator reply ${i} (N=${n}, run ${run}): your session on Tuesday at 10:00 is confirmed, see you then!`,
  );
  const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);
  return {
    contents,
    probe: 0,
    warmup: range(1, settings.warmup),
    burst: range(1 + settings.warmup, settings.events),
    paced: range(1 + settings.warmup + settings.events, settings.paced),
  };
}

/** One subscriber opened here (a graphql-ws client, or a plain socket), one event through it. */
async function probe(target: Target, p: Plan): Promise<unknown> {
  const received = new Promise<unknown>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${target.label}: the probe subscriber got nothing in 30 s`)), 30_000);
    const done = (value: unknown) => {
      clearTimeout(timer);
      resolve(value);
    };
    if (target.mode === "graphql") {
      const client = createClient({
        url: target.url,
        webSocketImpl: WebSocket,
        connectionParams: { authorization: `Bearer ${target.token}` },
        retryAttempts: 0,
        on: {
          connected: () =>
            // The subscribe message follows connection_ack; give the server a moment to open the stream.
            void until("the probe's subscription", 10_000, async () => ((await target.server.call<Counters>("counters")).stats.streams === 1 ? true : undefined))
              .then(() => target.write(p.probe))
              .catch(reject),
        },
      });
      client.subscribe(
        { query: SUBSCRIPTION },
        {
          next: (value) => {
            done(value);
            void client.dispose();
          },
          error: (error) => reject(new Error(`${target.label}: probe subscription failed: ${JSON.stringify(error instanceof Error ? error.message : error)}`)),
          complete: () => {},
        },
      );
    } else {
      const socket = new WebSocket(target.url);
      socket.on("open", () => void target.write(p.probe).catch(reject));
      socket.on("message", (data: Buffer) => {
        done((JSON.parse(data.toString("utf8")) as { payload: unknown }).payload);
        socket.close();
      });
      socket.on("error", reject);
    }
  });
  const payload = await received;
  await until(`${target.label}: the probe subscriber to be gone`, 10_000, async () => ((await target.server.call<Counters>("counters")).stats.streams === 0 ? true : undefined));
  return payload;
}

/** What a payload must say about the event it carries (beyond being identical for all). */
function checkPayload(text: string, content: string, conversationId: string | undefined): string | undefined {
  const payload = JSON.parse(text) as {
    errors?: unknown;
    data?: {
      conversationEvents?: {
        type: string;
        conversation: { id: string; contact: { firstName: string } | null; tags: unknown[]; lastMessages: { content: string }[] };
        message: { content: string } | null;
      };
    };
  };
  const event = payload.data?.conversationEvents;
  if (payload.errors || !event) return `errors or no data: ${text.slice(0, 500)}`;
  if (event.type !== "MESSAGE_ADDED") return `type ${event.type}`;
  if (event.message?.content !== content) return `message.content ${JSON.stringify(event.message?.content)}`;
  if (conversationId && event.conversation.id !== conversationId) return `conversation ${event.conversation.id}, expected ${conversationId}`;
  if (!event.conversation.contact?.firstName) return "no contact.firstName";
  if (event.conversation.tags.length !== 2) return `${event.conversation.tags.length} tags, expected 2`;
  if (event.conversation.lastMessages.length !== 3) return `${event.conversation.lastMessages.length} lastMessages, expected 3`;
  return undefined;
}

async function measureSide(
  n: number,
  p: Plan,
  target: Target,
  conversationIds: string[] | undefined,
  expected: Map<number, string> | undefined,
): Promise<SideResult> {
  const problems: string[] = [];
  const loadAtStart = os.loadavg()[0]!;
  const label = `${target.label} N=${n}`;
  const log = (text: string) => console.log(`  [${label}] ${text}`);

  const probePayload = JSON.stringify(await probe(target, p));
  const probeProblem = checkPayload(probePayload, p.contents[p.probe]!, conversationIds?.[p.probe % conversationIds.length]);
  if (probeProblem) throw new Error(`${label}: probe payload: ${probeProblem}`);
  log(`probe ok (${Buffer.byteLength(probePayload)}-byte payload)`);

  const memoryBefore = await target.server.call<MemorySnapshot>("memory");
  const service = target.mode === "graphql";
  const artifact = (dir: string, name: string) => path.resolve(dir, `${target.label}-N${n}-${name}`);
  if (service && settings.heapSnapshot) await target.server.call("heapSnapshot", { file: artifact(settings.heapSnapshot, "before.heapsnapshot") });
  const subscribers = await Subscribers.start(n);
  try {
    const countersBefore = await target.server.call<Counters>("counters");
    // In two halves, with the server's memory read in between: the second half's growth
    // is free of one-time costs (code compiled on first use, caches, pools) and of whatever
    // the process had not yet given back before the first connection.
    const args = { mode: target.mode, url: target.url, token: target.token, query: SUBSCRIPTION, concurrency: settings.concurrency, contents: p.contents };
    const open = async (fraction: number) => {
      const result = await subscribers.connect(args, fraction);
      if (result.failed > 0) throw new Error(`${label}: ${result.failed} subscribers could not connect: ${result.firstError}`);
      const expected = subscribers.sizes.reduce((sum, size) => sum + Math.round(size * fraction), 0);
      await until(`${label}: ${expected} open subscriptions on the server`, 60_000, async () => {
        const counters = await target.server.call<Counters>("counters");
        return counters.stats.streams === expected ? counters : undefined;
      }, 100);
      return { ...result, expected };
    };
    const first = await open(0.5);
    const memoryHalf = await target.server.call<MemorySnapshot>("memory");
    // The profile (--cpu-prof) covers the second half: steady-state connecting.
    if (service && settings.cpuProf) await target.server.call("profileStart");
    const second = await open(1);
    const connect: ConnectResult = { connected: first.connected + second.connected, failed: 0, ms: first.ms + second.ms };
    if (service && settings.cpuProf) await target.server.call("profileStop", { file: artifact(settings.cpuProf, "connect.cpuprofile") });
    const countersConnected = await target.server.call<Counters>("counters");
    log(`${n} subscribers connected and subscribed in ${fmt(connect.ms / 1_000, 1)} s (${subscribers.processes.length} subscriber process(es))`);
    const memoryAfter = await target.server.call<MemorySnapshot>("memory");
    if (service && settings.heapSnapshot) await target.server.call("heapSnapshot", { file: artifact(settings.heapSnapshot, "after.heapsnapshot") });

    if (p.warmup.length > 0) {
      const warm = await runPhase(target, subscribers, n, p.warmup, false);
      log(`warm-up: ${p.warmup.length} events, ${warm.delivered} deliveries, ${warm.missing} missing`);
    }
    const profile = service && settings.cpuProf ? artifact(settings.cpuProf, "burst.cpuprofile") : undefined;
    const burst = await runPhase(target, subscribers, n, p.burst, false, profile);
    log(`burst: ${p.burst.length} events back to back, ${burst.delivered} deliveries, ${burst.missing} missing, last delivered ${fmt((burst.lastReceipt - burst.firstSent) / 1_000, 2)} s after the first write`);
    let paced: PhaseResult | undefined;
    if (p.paced.length > 0) {
      paced = await runPhase(target, subscribers, n, p.paced, true);
      log(`paced: ${p.paced.length} events one at a time, ${paced.delivered} deliveries, ${paced.missing} missing`);
    }

    // Correctness over every event after the probe: exactly once each, identical payloads.
    const all = [...p.warmup, ...p.burst, ...p.paced];
    const results = await subscribers.results(all);
    const progress = await subscribers.progress();
    const payloads = new Map<number, string>([[p.probe, probePayload]]);
    let mismatches = 0;
    all.forEach((e, i) => {
      const texts = new Set<string>();
      for (const part of results) {
        mismatches += part.mismatches[i]!;
        if (part.payloads[i] != null) texts.add(part.payloads[i]!);
        for (const text of part.differing[i]!) texts.add(text);
        const missing = part.times[i]!.reduce((count, at) => count + (Number.isNaN(at) ? 1 : 0), 0);
        if (missing > 0) problems.push(`event ${e}: ${missing} subscribers did not receive it`);
      }
      if (texts.size > 1) problems.push(`event ${e}: ${texts.size} different payloads, e.g.\n      ${[...texts].slice(0, 2).join("\n      ")}`);
      const text = [...texts][0];
      if (text === undefined) return;
      payloads.set(e, text);
      const wrong = checkPayload(text, p.contents[e]!, conversationIds?.[e % conversationIds.length]);
      if (wrong) problems.push(`event ${e}: ${wrong}`);
      if (expected && expected.get(e) !== text) problems.push(`event ${e}: the payload differs from the service's`);
    });
    if (progress.duplicates > 0) problems.push(`${progress.duplicates} duplicate deliveries`);
    if (progress.unknown > 0) problems.push(`${progress.unknown} unexpected payloads: ${progress.firstProblem}`);
    if (progress.lost > 0) problems.push(`${progress.lost} subscriptions lost: ${progress.firstProblem}`);
    if (mismatches > 0) problems.push(`${mismatches} receipts with a payload different from the first one`);
    const final = await target.server.call<Counters>("counters");
    return {
      label: target.label,
      n,
      connect: { ...connect, statements: countersConnected.statements - countersBefore.statements },
      memoryBefore,
      memoryHalf,
      memoryAfter,
      burst,
      paced,
      duplicates: progress.duplicates,
      unknown: progress.unknown,
      lost: progress.lost,
      mismatches,
      problems,
      load: [loadAtStart, os.loadavg()[0]!],
      payloads,
      peakRssKiB: final.maxRssKiB,
    };
  } finally {
    await subscribers.close();
  }
}

async function runSize(n: number): Promise<{ service: SideResult; baseline: SideResult }> {
  const p = plan(n);
  console.log(`\nN = ${n}`);

  const totalEvents = p.contents.length;
  const serverEnv: NodeJS.ProcessEnv = {
    ...databaseEnv(),
    REDIS_URL: process.env.REDIS_URL ?? "",
    PORT: "0",
    MAX_CONNECTIONS_PER_TOKEN: String(Math.max(20_000, n + 10)),
    // Back-to-back events can queue up per subscription; none may overflow in this run.
    SUBSCRIPTION_BUFFER: String(Math.max(100, totalEvents + 10)),
    // Thousands of subscriptions with one token would spend its GraphQL budget in the first second.
    RATE_LIMITS: "off",
  };
  if (settings.cpuProf) await mkdir(settings.cpuProf, { recursive: true });
  if (settings.heapSnapshot) await mkdir(settings.heapSnapshot, { recursive: true });
  const server = await start(`service N=${n}`, "./subscriptions-server.ts", serverEnv);
  let service: SideResult;
  try {
    const info = await server.call<ServerInfo>("start", { conversations: Math.min(totalEvents, 500) });
    if (!info.gc) console.log("  (the service runs without --expose-gc: memory after a 2 s settle delay)");
    service = await measureSide(n, p, serviceTarget(server, info, p.contents), info.conversationIds, undefined);
  } finally {
    await server.stop("close");
  }

  const baselineServer = await start(`baseline N=${n}`, "./subscriptions-baseline.ts", {});
  let baseline: SideResult;
  try {
    const { port } = await baselineServer.call<{ port: number }>("start");
    // The same payloads, as graphql-ws `next` frames (36-character id, like the client's UUIDs).
    const id = "00000000-0000-4000-8000-000000000000";
    const frames = p.contents.map((_, e) => {
      const payload = service.payloads.get(e);
      if (payload === undefined) throw new Error(`the service delivered no payload for event ${e} to replay`);
      return `{"id":"${id}","type":"next","payload":${payload}}`;
    });
    await baselineServer.call("frames", frames);
    const target = baselineTarget(baselineServer, port, (index) => (index === p.probe ? 1 : n));
    baseline = await measureSide(n, p, target, undefined, service.payloads);
  } finally {
    await baselineServer.stop("close");
  }
  return { service, baseline };
}

// ---------------------------------------------------------------------------------------
// Report.

const KiB = 1024;

/** rssOld: RSS less what V8's young generation has committed, which comes and goes with the allocation rate. */
type MemoryKey = "rss" | "heapUsed" | "rssOld";
const memoryOf = (m: MemorySnapshot, key: MemoryKey) => (key === "rssOld" ? m.rss - m.youngGeneration : m[key]);

function phaseRows(label: string, s: PhaseResult, b: PhaseResult, n: number): string[][] {
  const secondsToLast = (r: PhaseResult) => (r.lastReceipt - r.firstSent) / 1_000;
  const eventsPerSecond = (r: PhaseResult) => r.delivered / secondsToLast(r);
  const mutationsPerSecond = (r: PhaseResult) => r.writes.length / ((r.lastResponse - r.firstSent) / 1_000);
  const writeMs = (r: PhaseResult) => Float64Array.from(r.writes.map((w) => w.respondedAt - w.sentAt)).sort();
  const fan = (r: PhaseResult) => r.fanOut.reduce((sum, v) => sum + v, 0) / r.fanOut.length;
  const cpuPerK = (r: PhaseResult) => (r.serverCpuMs / r.delivered) * 1_000;
  const q = (r: PhaseResult, p: number) => percentile(r.latencies, p);
  const gcShare = (r: PhaseResult) => (100 * r.serverGcMs) / (r.lastReceipt - r.firstSent);
  return [
    [`${label}: latency p50 (ms)`, fmt(q(s, 50)), fmt(q(b, 50)), ratio(q(s, 50), q(b, 50))],
    [`${label}: latency p99 (ms)`, fmt(q(s, 99)), fmt(q(b, 99)), ratio(q(s, 99), q(b, 99))],
    [`${label}: latency max (ms)`, fmt(q(s, 100)), fmt(q(b, 100)), ratio(q(s, 100), q(b, 100))],
    [`${label}: latency min (ms)`, fmt(q(s, 0)), fmt(q(b, 0)), ""],
    [
      `${label}: from write sent, p50 / p99 (ms)`,
      `${fmt(percentile(s.fromSent, 50))} / ${fmt(percentile(s.fromSent, 99))}`,
      `${fmt(percentile(b.fromSent, 50))} / ${fmt(percentile(b.fromSent, 99))}`,
      `${ratio(percentile(s.fromSent, 50), percentile(b.fromSent, 50))} / ${ratio(percentile(s.fromSent, 99), percentile(b.fromSent, 99))}`,
    ],
    [`${label}: fan-out time per event, mean (ms)`, fmt(fan(s)), fmt(fan(b)), ratio(fan(s), fan(b))],
    [`${label}: subscriber-events/s delivered`, fmt(eventsPerSecond(s), 0), fmt(eventsPerSecond(b), 0), ratio(eventsPerSecond(s), eventsPerSecond(b))],
    [`${label}: writes/s while delivering`, fmt(mutationsPerSecond(s), 1), fmt(mutationsPerSecond(b), 1), ratio(mutationsPerSecond(s), mutationsPerSecond(b))],
    [`${label}: write round trip p50 / max (ms)`, `${fmt(percentile(writeMs(s), 50))} / ${fmt(percentile(writeMs(s), 100))}`, `${fmt(percentile(writeMs(b), 50))} / ${fmt(percentile(writeMs(b), 100))}`, ""],
    [`${label}: server CPU per 1000 deliveries (ms)`, fmt(cpuPerK(s), 1), fmt(cpuPerK(b), 1), ratio(cpuPerK(s), cpuPerK(b))],
    [
      `${label}: server GC pauses: share of phase wall time, longest (ms)`,
      `${fmt(gcShare(s), 0)}%, ${fmt(s.serverLongestGcMs, 0)}`,
      `${fmt(gcShare(b), 0)}%, ${fmt(b.serverLongestGcMs, 0)}`,
      "",
    ],
    [
      `${label}: server event-loop delay p99 / max (ms)`,
      `${fmt(s.loopDelay.p99, 0)} / ${fmt(s.loopDelay.max, 0)}`,
      `${fmt(b.loopDelay.p99, 0)} / ${fmt(b.loopDelay.max, 0)}`,
      "",
    ],
    [`${label}: subscriber-process CPU per 1000 deliveries (ms)`, fmt((s.clientCpuMs / s.delivered) * 1_000, 1), fmt((b.clientCpuMs / b.delivered) * 1_000, 1), ""],
    [`${label}: SQL statements per event (write included)`, fmt(s.statements / s.writes.length, 1), "0", ""],
    [`${label}: deliveries (expected ${n} x ${s.events.length})`, `${s.delivered} (${s.missing} missing)`, `${b.delivered} (${b.missing} missing)`, ""],
  ];
}

function report(size: { service: SideResult; baseline: SideResult }): void {
  const { service: s, baseline: b } = size;
  const n = s.n;
  const perSub = (r: SideResult, key: MemoryKey) => (memoryOf(r.memoryAfter, key) - memoryOf(r.memoryBefore, key)) / n / KiB;
  const secondHalf = (r: SideResult, key: MemoryKey) => (memoryOf(r.memoryAfter, key) - memoryOf(r.memoryHalf, key)) / (n - Math.round(n / 2)) / KiB;
  const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
  console.log(`\nN = ${n} subscribers (${s.burst.events.length} burst events${s.paced ? `, ${s.paced.events.length} paced events` : ""})`);
  const rows: string[][] = [
    ["", "service", "plain ws baseline", "service / baseline"],
    ["connect + subscribe, all N (s)", fmt(s.connect.ms / 1_000, 2), fmt(b.connect.ms / 1_000, 2), ratio(s.connect.ms, b.connect.ms)],
    ["connections/s", fmt(n / (s.connect.ms / 1_000), 0), fmt(n / (b.connect.ms / 1_000), 0), ""],
    ["SQL statements per connection", fmt(s.connect.statements / n, 2), "0", ""],
    [`server RSS before -> N/2 -> N idle (MiB)`, `${mb(s.memoryBefore.rss)} -> ${mb(s.memoryHalf.rss)} -> ${mb(s.memoryAfter.rss)}`, `${mb(b.memoryBefore.rss)} -> ${mb(b.memoryHalf.rss)} -> ${mb(b.memoryAfter.rss)}`, ""],
    [
      `server V8 young generation before -> N/2 -> N (MiB)`,
      `${mb(s.memoryBefore.youngGeneration)} -> ${mb(s.memoryHalf.youngGeneration)} -> ${mb(s.memoryAfter.youngGeneration)}`,
      `${mb(b.memoryBefore.youngGeneration)} -> ${mb(b.memoryHalf.youngGeneration)} -> ${mb(b.memoryAfter.youngGeneration)}`,
      "",
    ],
    [`server heapUsed before -> N/2 -> N (MiB)`, `${mb(s.memoryBefore.heapUsed)} -> ${mb(s.memoryHalf.heapUsed)} -> ${mb(s.memoryAfter.heapUsed)}`, `${mb(b.memoryBefore.heapUsed)} -> ${mb(b.memoryHalf.heapUsed)} -> ${mb(b.memoryAfter.heapUsed)}`, ""],
    ["RSS per idle subscriber, (N - before) / N (KiB)", fmt(perSub(s, "rss")), fmt(perSub(b, "rss")), ratio(perSub(s, "rss"), perSub(b, "rss"))],
    ["RSS - young generation per idle subscriber, (N - before) / N (KiB)", fmt(perSub(s, "rssOld")), fmt(perSub(b, "rssOld")), ratio(perSub(s, "rssOld"), perSub(b, "rssOld"))],
    ["heapUsed per idle subscriber, (N - before) / N (KiB)", fmt(perSub(s, "heapUsed")), fmt(perSub(b, "heapUsed")), ratio(perSub(s, "heapUsed"), perSub(b, "heapUsed"))],
    ["RSS per idle subscriber, second half only (KiB)", fmt(secondHalf(s, "rss")), fmt(secondHalf(b, "rss")), ratio(secondHalf(s, "rss"), secondHalf(b, "rss"))],
    ["heapUsed per idle subscriber, second half only (KiB)", fmt(secondHalf(s, "heapUsed")), fmt(secondHalf(b, "heapUsed")), ratio(secondHalf(s, "heapUsed"), secondHalf(b, "heapUsed"))],
    ["server peak RSS over the run (MiB)", fmt(s.peakRssKiB / KiB, 1), fmt(b.peakRssKiB / KiB, 1), ""],
    ["machine load average (1 min) at start / end", `${fmt(s.load[0], 2)} / ${fmt(s.load[1], 2)}`, `${fmt(b.load[0], 2)} / ${fmt(b.load[1], 2)}`, ""],
    ...phaseRows("burst", s.burst, b.burst, n),
    ...(s.paced && b.paced ? phaseRows("paced", s.paced, b.paced, n) : []),
    [
      "correctness (dup / unknown / lost / differing)",
      `${s.duplicates} / ${s.unknown} / ${s.lost} / ${s.mismatches}`,
      `${b.duplicates} / ${b.unknown} / ${b.lost} / ${b.mismatches}`,
      "",
    ],
  ];
  printTable(rows);
  console.log("(RSS moves by tens of MiB on its own (V8 resizing its young generation, the allocator returning pages): at small N heapUsed is the per-subscriber figure to trust)");
  for (const r of [s, b]) for (const problem of r.problems) console.log(`  PROBLEM (${r.label}): ${problem}`);
}

function summary(results: { service: SideResult; baseline: SideResult }[]): void {
  console.log("\nSummary: service vs plain ws baseline (burst = writes back to back; paced = one event at a time; memory = (after N - before) / N, after forced GC)");
  const rows: string[][] = [
    [
      "N",
      "burst p50 ms",
      "burst p99 ms",
      "p50 ratio",
      "p99 ratio",
      "paced p50 ms",
      "paced p99 ms",
      "paced p50 ratio",
      "paced p99 ratio",
      "deliveries/s",
      "writes/s",
      "CPU/delivery ratio",
      "RSS KiB/sub",
      "RSS ratio",
      "RSS-young KiB/sub",
      "heap KiB/sub",
      "heap ratio",
    ],
  ];
  const pair = (a: number, b: number, digits = 1) => `${fmt(a, digits)} / ${fmt(b, digits)}`;
  for (const { service: s, baseline: b } of results) {
    const q = (r: PhaseResult | undefined, p: number) => (r ? percentile(r.latencies, p) : Number.NaN);
    const eps = (r: PhaseResult) => r.delivered / ((r.lastReceipt - r.firstSent) / 1_000);
    const mps = (r: PhaseResult) => r.writes.length / ((r.lastResponse - r.firstSent) / 1_000);
    const cpu = (r: PhaseResult) => r.serverCpuMs / r.delivered;
    const perSub = (r: SideResult, key: MemoryKey) => (memoryOf(r.memoryAfter, key) - memoryOf(r.memoryBefore, key)) / r.n / KiB;
    rows.push([
      String(s.n),
      pair(q(s.burst, 50), q(b.burst, 50)),
      pair(q(s.burst, 99), q(b.burst, 99)),
      ratio(q(s.burst, 50), q(b.burst, 50)),
      ratio(q(s.burst, 99), q(b.burst, 99)),
      pair(q(s.paced, 50), q(b.paced, 50)),
      pair(q(s.paced, 99), q(b.paced, 99)),
      ratio(q(s.paced, 50), q(b.paced, 50)),
      ratio(q(s.paced, 99), q(b.paced, 99)),
      pair(eps(s.burst), eps(b.burst), 0),
      pair(mps(s.burst), mps(b.burst)),
      ratio(cpu(s.burst), cpu(b.burst), 1),
      pair(perSub(s, "rss"), perSub(b, "rss")),
      ratio(perSub(s, "rss"), perSub(b, "rss")),
      pair(perSub(s, "rssOld"), perSub(b, "rssOld")),
      pair(perSub(s, "heapUsed"), perSub(b, "heapUsed")),
      ratio(perSub(s, "heapUsed"), perSub(b, "heapUsed")),
    ]);
  }
  printTable(rows);
  console.log(
    "(each cell with a slash: service / baseline; ratio: service / baseline; CPU/delivery: server CPU time per subscriber-event in the burst;\n" +
      " RSS-young: RSS less V8's young generation, which V8 resizes by tens of MiB; RSS figures are noisy at small N, heap ones are not)",
  );
}

// ---------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const cpus = os.cpus();
  const command = [
    baseDatabaseUrl ? `DATABASE_URL=${baseDatabaseUrl}` : "",
    process.env.REDIS_URL ? `REDIS_URL=${process.env.REDIS_URL}` : "",
    "npm run bench:live --",
    `--sizes ${settings.sizes.join(",")} --events ${settings.events} --warmup ${settings.warmup} --paced ${settings.paced}`,
    `--concurrency ${settings.concurrency} --per-process ${settings.perProcess}`,
    settings.cpuProf ? `--cpu-prof ${settings.cpuProf}` : "",
    settings.heapSnapshot ? `--heap-snapshot ${settings.heapSnapshot}` : "",
  ]
    .filter(Boolean)
    .join(" ");
  console.log("Engagement Graph live benchmark: graphql-ws subscribers of conversationEvents vs a plain ws broadcast");
  console.log(
    `machine: node ${process.version}, ${os.platform()} ${os.release()} ${os.arch()}, ${cpus.length} CPUs (${cpus[0]?.model.trim() ?? "?"}), ` +
      `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, load average ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`,
  );
  console.log(
    `service: ${baseDatabaseUrl ? `PostgreSQL ${new URL(baseDatabaseUrl).host} (fresh schema per N)` : "embedded PGlite (memory://)"}, ` +
      `${process.env.REDIS_URL ? `events through Redis ${new URL(process.env.REDIS_URL).host}` : "in-process events"}; ` +
      "the service, the baseline server, the subscribers and this writer each run in their own process (they share these CPUs)",
  );
  console.log(`settings: sizes ${settings.sizes.join(", ")}; per N ${settings.warmup} warm-up + ${settings.events} burst + ${settings.paced} paced events`);
  console.log(`command: ${command}`);
  if (settings.cpuProf || settings.heapSnapshot) console.log("note: profiling and heap snapshots cost time and memory: do not compare this run's figures with plain runs");

  const results: { service: SideResult; baseline: SideResult }[] = [];
  for (const n of settings.sizes) {
    const result = await runSize(n);
    results.push(result);
    report(result);
  }
  if (results.length > 0) summary(results);
  console.log(`\nreproduce: ${command}`);
  const failed = results.some((r) => r.service.problems.length > 0 || r.baseline.problems.length > 0);
  if (failed) {
    console.error("\nFAILED: see PROBLEM lines above");
    return 1;
  }
  console.log("verified: every subscriber received every event exactly once, with identical payloads matching the writes");
  return 0;
}

let interrupted = false;
async function shutdown(): Promise<void> {
  await Promise.all([...children].map((child) => child.stop(undefined, 5_000)));
  await dropSchemas().catch((error: unknown) => console.error("dropping bench schemas:", error));
}
const onSignal = () => {
  if (interrupted) process.exit(130);
  interrupted = true;
  console.error("\ninterrupted: stopping the child processes and dropping the bench schemas");
  void shutdown().finally(() => process.exit(130));
};
process.on("SIGINT", onSignal);
process.on("SIGTERM", onSignal);

main().then(
  async (code) => {
    await shutdown();
    process.exit(code);
  },
  async (error: unknown) => {
    if (!interrupted) console.error(error);
    await shutdown();
    process.exit(1);
  },
);
