// `npm run bench:limits`: what the rate limits cost per request, in one run, two ways.
//
// 1. The limiter alone, in this process: microseconds per call of what a request adds when
//    limits are on: counting one REST request and setting its headers (in memory; in Redis one
//    at a time, which is a round trip, and ten at a time), and computing a GraphQL
//    operation's complexity (what its budget is charged).
//
// 2. End to end, as a ratio to the same server without limits. One database and up to three
//    instances of the same code:
//
//   off     RATE_LIMITS=off
//   memory  the limits, counted in this process
//   redis   the limits, counted in Redis (only with REDIS_URL; keys under a prefix of this run's own)
//
// each answering the same requests, with limits so high that nothing is refused (what is
// measured is the counting, not the refusing):
//
//   REST     GET /api/v1/agents                          Convo token: per workspace and route
//   GraphQL  POST /graphql { viewer { tenant { name } } }  the token's complexity budget
//
// Cheap requests on purpose: the cheaper the request, the larger the limiter's share of it.
// Each round runs every side once, in an order rotated from round to round, so that machine
// noise falls on all sides alike; per-round ratios to "off" are printed, then their medians.
//
//   DATABASE_URL          PostgreSQL (a fresh schema bench_<random>, dropped at the end);
//                         unset: the embedded database (PGlite, in memory, in this process)
//   REDIS_URL             adds the redis side
//   BENCH_CALLS           calls per measurement of part 1 (default 10000)
//   BENCH_SECONDS         measured duration of each run of part 2 (default 2)
//   BENCH_ROUNDS          rounds of part 2 (default 3)
//   BENCH_WARMUP_SECONDS  unmeasured warm-up per side and request (default 1)
//   BENCH_CONNECTIONS     concurrent connections (default 10)
//
// Exits non-zero when a response was an error, non-2xx, or another body than the verified one.
import { randomBytes } from "node:crypto";
import os from "node:os";
import type autocannon from "autocannon";
import { parse } from "graphql";
import { authenticate } from "../src/auth/viewer.js";
import { loadConfig } from "../src/config.js";
import { openDatabase } from "../src/db/client.js";
import { schema } from "../src/graphql/schema.js";
import { createApp, type App } from "../src/http/server.js";
import { operationCost } from "../src/limits/rate-limits.js";
import { POLICY_NAMES } from "../src/limits/settings.js";
import { convo } from "../src/rest/dialects/convo.js";
import { seedTenant } from "./rest-seed.js";
import { type BenchDatabase, checkpoint, type Cleanup, fmt, intFromEnv, median, printTable, runAutocannon, runBench, trackRequests, waitForIdle, BENCH_ENV } from "./common.js";

const HOST = "127.0.0.1";

const settings = {
  calls: intFromEnv("BENCH_CALLS", 10_000),
  seconds: intFromEnv("BENCH_SECONDS", 2),
  rounds: intFromEnv("BENCH_ROUNDS", 3),
  warmupSeconds: intFromEnv("BENCH_WARMUP_SECONDS", 1, 0),
  connections: intFromEnv("BENCH_CONNECTIONS", 10),
};

type SideName = "off" | "memory" | "redis";

interface Side {
  name: SideName;
  app: App;
  base: string;
  tracker: ReturnType<typeof trackRequests>;
}

interface Case {
  name: string;
  /** The header a limited response carries, and an unlimited one does not. */
  header: string;
  options(base: string, token: string): autocannon.Options;
}

const VIEWER_QUERY = "{ viewer { tenant { name } } }";
/** The inbox page README's "The first query" shows. */
const INBOX_QUERY =
  "{ viewer { tenant { name } } conversations(first: 5) { totalCount edges { node { id status customerName contact { firstName email } tags { name } lastMessages(count: 2) { role content } } } } }";

const CASES: Case[] = [
  {
    name: "REST GET /api/v1/agents",
    header: "x-ratelimit-limit",
    options: (base, token) => ({ url: `${base}/api/v1/agents`, method: "GET", headers: { authorization: `Bearer ${token}` } }),
  },
  {
    name: "GraphQL { viewer { tenant { name } } }",
    header: "ratelimit-limit",
    options: (base, token) => ({
      url: `${base}/graphql`,
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: VIEWER_QUERY }),
    }),
  },
];

/** Every policy at a billion per window: counted on every request, never refused. */
const unlimited = (keyPrefix: string) =>
  JSON.stringify({ ...Object.fromEntries(POLICY_NAMES.map((name) => [name, { limit: 1_000_000_000 }])), keyPrefix });

interface Run {
  side: SideName;
  round: number;
  result: autocannon.Result;
  served: number;
  /** CPU time of this process (the server, and the embedded database if any), µs. */
  cpu: number;
}

const failures = (result: autocannon.Result) => result.errors + result.timeouts + result.non2xx + result.mismatches;

/** Elapsed and CPU µs per call of `call`, made `count` times, `inFlight` at a time. */
async function microseconds(count: number, inFlight: number, call: () => Promise<unknown> | unknown): Promise<{ elapsed: number; cpu: number }> {
  const started = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  const worker = async (calls: number) => {
    for (let i = 0; i < calls; i++) await call();
  };
  await Promise.all(Array.from({ length: inFlight }, () => worker(Math.ceil(count / inFlight))));
  const used = process.cpuUsage(cpu);
  return { elapsed: Number(process.hrtime.bigint() - started) / 1_000 / count, cpu: (used.user + used.system) / count };
}

/** Part 1: what limits add to a request, measured on the limiter alone. */
async function limiterAlone(sides: Side[], token: string, db: Parameters<typeof authenticate>[0]): Promise<void> {
  const viewer = await authenticate(db, token);
  const route = convo.routes.find((each) => each.method === "GET" && each.path === "/agents");
  if (!viewer || !route) throw new Error("the bench token or the Convo route GET /agents is missing");
  const request = new Request("http://127.0.0.1/api/v1/agents");
  const response = new Response(null);
  const countOne = (side: Side) => async () => {
    const meter = side.app.rateLimits.meter(request, undefined);
    await meter.authenticated("convo", viewer, route);
    meter.report(response);
  };
  const rows = [["counting one REST request and setting its headers", "1 at a time: µs elapsed", "µs CPU", "10 at a time: µs elapsed", "µs CPU"]];
  for (const side of sides.filter((each) => each.name !== "off")) {
    await microseconds(settings.calls / 10, 1, countOne(side)); // warm-up
    const one = await microseconds(settings.calls, 1, countOne(side));
    const ten = await microseconds(settings.calls, 10, countOne(side));
    rows.push([side.name, fmt(one.elapsed, 1), fmt(one.cpu, 1), fmt(ten.elapsed, 1), fmt(ten.cpu, 1)]);
  }
  console.log("\n1. The limiter alone, in this process\n");
  printTable(rows, "  ");

  const complexityRows = [["a GraphQL operation's complexity (charged to its budget)", "points", "µs CPU per operation"]];
  for (const [name, query] of [
    ["{ viewer { tenant { name } } }", VIEWER_QUERY],
    ["the README's inbox query (5 conversations, nested)", INBOX_QUERY],
  ] as const) {
    const args = { schema, document: parse(query), variableValues: {}, contextValue: {} };
    await microseconds(settings.calls / 10, 1, () => operationCost(args));
    complexityRows.push([name, String(operationCost(args)), fmt((await microseconds(settings.calls, 1, () => operationCost(args))).cpu, 1)]);
  }
  console.log("");
  printTable(complexityRows, "  ");
}

/** One request through each side: the same status and body everywhere, the limit's header only where limits are on. */
async function verify(c: Case, sides: Side[], token: string): Promise<string> {
  let expected: string | undefined;
  for (const side of sides) {
    const options = c.options(side.base, token);
    const response = await fetch(options.url!, { method: options.method, headers: options.headers as Record<string, string>, body: options.body as string | undefined });
    const body = await response.text();
    if (response.status !== 200) throw new Error(`${c.name} on ${side.name}: HTTP ${response.status} ${body.slice(0, 400)}`);
    if (expected !== undefined && body !== expected) throw new Error(`${c.name} on ${side.name}: another body than on off:\n${body.slice(0, 400)}\n${expected.slice(0, 400)}`);
    expected ??= body;
    if (response.headers.has(c.header) !== (side.name !== "off")) throw new Error(`${c.name} on ${side.name}: ${c.header} ${response.headers.has(c.header) ? "present" : "missing"}`);
  }
  return expected!;
}

async function main(database: BenchDatabase, cleanup: Cleanup): Promise<number> {
  const cpus = os.cpus();
  const redisUrl = process.env.REDIS_URL || undefined;
  console.log("Engagement Graph benchmark: the rate limiter's cost per request (limits off, in memory, in Redis)");
  console.log(
    `machine: node ${process.version}, ${os.platform()} ${os.release()} ${os.arch()}, ${cpus.length} CPUs (${cpus[0]?.model.trim() ?? "?"}), ` +
      `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, load average ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`,
  );
  console.log(`database: ${database.label}${database.version ? `, PostgreSQL ${await database.version()}` : ""}; Redis: ${redisUrl ? new URL(redisUrl).host : "none (REDIS_URL unset: no redis side)"}`);
  console.log(`settings: ${settings.rounds} rounds x ${settings.seconds} s per side and request, after ${settings.warmupSeconds} s warm-up each, ${settings.connections} connections`);

  const db = await openDatabase(database.config);
  cleanup.unshift(() => db.close());
  const tenant = await seedTenant(db, "Bench Limits", { conversations: 20, leads: 20 }, 0);
  checkpoint();

  const keyPrefix = `bench:rate:${randomBytes(6).toString("hex")}:`;
  const configs: [SideName, Record<string, string>][] = [
    ["off", { RATE_LIMITS: "off" }],
    ["memory", { RATE_LIMITS: unlimited(keyPrefix) }],
    ...(redisUrl ? [["redis", { RATE_LIMITS: unlimited(keyPrefix), REDIS_URL: redisUrl }] as [SideName, Record<string, string>]] : []),
  ];
  const sides: Side[] = [];
  for (const [name, env] of configs) {
    const app = createApp(db, loadConfig({ ...BENCH_ENV, ...env }));
    cleanup.unshift(() => app.close());
    const port = await app.listen(0, HOST);
    sides.push({ name, app, base: `http://${HOST}:${port}`, tracker: trackRequests(app.server) });
  }
  const redisSide = sides.find((side) => side.name === "redis");
  for (let waited = 0; redisSide && redisSide.app.rateLimits.status() !== "up"; waited += 50) {
    if (waited > 5_000) throw new Error("the redis side did not connect to Redis within 5 s");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  await limiterAlone(sides, tenant.token, db.prisma);
  checkpoint();

  console.log("\n2. End to end: the same server with limits off, counted in memory and in Redis");
  let failed = false;
  const summary: string[][] = [["request", "side", "req/s", "p50 ms", "p99 ms", "CPU µs/req", "req/s vs off", "p50 vs off", "p99 vs off", "CPU vs off", "CPU µs/req added"]];
  for (const c of CASES) {
    const expectBody = await verify(c, sides, tenant.token);
    console.log(`\n${c.name}: verified on ${sides.map((side) => side.name).join(", ")} (same 200 body; the limit's header only where limits are on)`);
    const load = (side: Side, duration: number) =>
      runAutocannon({ ...c.options(side.base, tenant.token), expectBody, connections: settings.connections, pipelining: 1, timeout: 10, duration });

    if (settings.warmupSeconds > 0) {
      for (const side of sides) {
        const warm = await load(side, settings.warmupSeconds);
        await waitForIdle(side.tracker, db);
        if (failures(warm)) {
          console.log(`  warm-up ${side.name}: ${failures(warm)} FAILED`);
          failed = true;
        }
      }
    }

    const runs: Run[] = [];
    const header = ["round", "side", "req/s", "p50 ms", "p99 ms", "mean ms", "requests", "CPU µs/req", "failed"];
    console.log(`  ${header.join(" | ")}`);
    for (let round = 0; round < settings.rounds; round++) {
      const order = sides.map((_, i) => sides[(i + round) % sides.length]!);
      for (const side of order) {
        const served = side.tracker.done;
        const cpu = process.cpuUsage();
        const result = await load(side, settings.seconds);
        await waitForIdle(side.tracker, db);
        const used = process.cpuUsage(cpu);
        const run: Run = { side: side.name, round, result, served: side.tracker.done - served, cpu: used.user + used.system };
        runs.push(run);
        console.log(
          `  ${[round + 1, side.name, fmt(result.requests.average), fmt(result.latency.p50, 0), fmt(result.latency.p99, 0), fmt(result.latency.mean, 2), result.requests.total, fmt(run.cpu / run.served, 0), failures(result)].join(" | ")}`,
        );
        if (failures(result) > 0 || result.requests.total === 0) failed = true;
      }
    }

    const runOf = (side: SideName, round: number) => runs.find((run) => run.side === side && run.round === round)!;
    const rounds = Array.from({ length: settings.rounds }, (_, round) => round);
    const metrics = {
      rps: (run: Run) => run.result.requests.average,
      p50: (run: Run) => run.result.latency.p50,
      p99: (run: Run) => run.result.latency.p99,
      cpu: (run: Run) => run.cpu / run.served,
    };
    const medianOf = (side: SideName, pick: (run: Run) => number) => median(rounds.map((round) => pick(runOf(side, round))));
    const ratio = (side: SideName, pick: (run: Run) => number) => median(rounds.map((round) => pick(runOf(side, round)) / pick(runOf("off", round))));
    for (const side of sides) {
      const on = side.name !== "off";
      summary.push([
        c.name,
        side.name,
        fmt(medianOf(side.name, metrics.rps)),
        fmt(medianOf(side.name, metrics.p50), 0),
        fmt(medianOf(side.name, metrics.p99), 0),
        fmt(medianOf(side.name, metrics.cpu), 0),
        on ? `${fmt(ratio(side.name, metrics.rps), 3)}×` : "",
        on ? `${fmt(ratio(side.name, metrics.p50), 3)}×` : "",
        on ? `${fmt(ratio(side.name, metrics.p99), 3)}×` : "",
        on ? `${fmt(ratio(side.name, metrics.cpu), 3)}×` : "",
        on ? fmt(median(rounds.map((round) => metrics.cpu(runOf(side.name, round)) - metrics.cpu(runOf("off", round)))), 0) : "",
      ]);
    }
  }

  console.log("\n  Medians over rounds; ratios are medians of the per-round ratios to off (throughput: above 1 is faster; latency and CPU: above 1 is costlier).");
  console.log("  CPU is this process's: the server and the embedded database, not PostgreSQL or Redis.\n");
  printTable(summary, "  ");
  if (failed) {
    console.error("\nFAILED: a run had errors, timeouts, non-2xx responses, unexpected bodies, or no requests at all");
    return 1;
  }
  return 0;
}

runBench(main);
