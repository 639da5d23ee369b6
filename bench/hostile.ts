// `npm run bench:hostile`: how long each abusive request of issue 8 takes to be refused, and
// how long it holds the server's event loop, next to a small valid query in the same run.
//
// Each case is sent BENCH_REPEATS times, one at a time, to a server in this process; its body
// is built before the clock starts. Per case: the answer (status and code, which must be the
// typed refusal the case expects, or the run exits non-zero), the median and worst latency,
// and the longest event-loop stall seen while it ran (perf_hooks' event-loop delay histogram,
// 1 ms resolution, reset per case). The target is a stall well under 50 ms whatever the shape.
//
//   DATABASE_URL    PostgreSQL (a fresh schema bench_<random>, dropped at the end);
//                   unset: the embedded database (PGlite, in memory, in this process)
//   BENCH_REPEATS   requests per case (default 20)
import os from "node:os";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { loadConfig } from "../src/config.js";
import { openDatabase } from "../src/db/client.js";
import { createApp } from "../src/http/server.js";
import { fmt, intFromEnv, median, printTable, runBench, type BenchDatabase, type Cleanup, BENCH_ENV } from "./common.js";
import { seedTenant } from "./rest-seed.js";

const HOST = "127.0.0.1";
const REPEATS = intFromEnv("BENCH_REPEATS", 20);
const TARGET_MS = 50;

interface Abuse {
  name: string;
  /** The status and code of the refusal (the baseline: 200 and no code). */
  expect: [number, string | undefined];
  path: string;
  init: RequestInit;
}

const graphql = (body: string, token: string | null, headers: Record<string, string> = {}): RequestInit => ({
  method: "POST",
  headers: { "content-type": "application/json", accept: "application/graphql-response+json", ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
  body,
});
const query = (text: string, variables?: unknown) => JSON.stringify({ query: text, variables });
/** Nested arrays filling about `bytes`. */
const nestedArrays = (bytes: number) => "[".repeat(bytes / 2) + "]".repeat(bytes / 2);

function abuses(token: string): Abuse[] {
  return [
    { name: "baseline: { viewer { scopes } }", expect: [200, undefined], path: "/graphql", init: graphql(query("{ viewer { scopes } }"), token) },
    { name: "1 MB of nested arrays, no token", expect: [400, "BAD_REQUEST"], path: "/graphql", init: graphql(nestedArrays(1_000_000), null) },
    { name: "1 MB of nested arrays, with a token", expect: [400, "BAD_REQUEST"], path: "/graphql", init: graphql(nestedArrays(1_000_000), token) },
    {
      name: "80,000-token query",
      expect: [400, "GRAPHQL_PARSE_FAILED"],
      path: "/graphql",
      init: graphql(query(`{ ${"viewer { scopes } ".repeat(20_000)} }`), token),
    },
    {
      name: "10,000 aliases of __typename",
      expect: [400, "GRAPHQL_PARSE_FAILED"],
      path: "/graphql",
      init: graphql(query(`{ ${Array.from({ length: 10_000 }, (_, i) => `a${i}: __typename`).join(" ")} }`), token),
    },
    {
      name: "100 aliased __schema introspections",
      expect: [400, "GRAPHQL_VALIDATION_FAILED"],
      path: "/graphql",
      init: graphql(query(`{ ${Array.from({ length: 100 }, (_, i) => `s${i}: __schema { queryType { name } }`).join(" ")} }`), token),
    },
    {
      name: "a chain of 5,000 fragments",
      expect: [400, "GRAPHQL_PARSE_FAILED"],
      path: "/graphql",
      init: graphql(query(`{ viewer { ...F0 } } ${Array.from({ length: 5_000 }, (_, i) => `fragment F${i} on Viewer { ...F${i + 1} }`).join(" ")} fragment F5000 on Viewer { scopes }`), token),
    },
    {
      name: "a list literal 10,000 deep",
      expect: [400, "GRAPHQL_PARSE_FAILED"],
      path: "/graphql",
      init: graphql(query(`{ contacts(search: ${"[".repeat(10_000)}"x"${"]".repeat(10_000)}) { totalCount } }`), token),
    },
    {
      name: "variables 10,000 deep",
      expect: [400, "BAD_REQUEST"],
      path: "/graphql",
      init: graphql(`{"query":"mutation($input: ContactInput!) { createContact(input: $input) { id } }","variables":{"input":{"firstName":"A","customFields":${'{"a":'.repeat(10_000)}1${"}".repeat(10_000)}}}}`, token),
    },
    {
      name: "a NUL in a variable",
      expect: [200, "BAD_USER_INPUT"],
      path: "/graphql",
      init: graphql(query("mutation($input: ContactInput!) { createContact(input: $input) { id } }", { input: { firstName: "A\u0000" } }), token),
    },
    { name: "GET variables=notjson, no token", expect: [400, "BAD_REQUEST"], path: `/graphql?query=${encodeURIComponent("{ viewer { scopes } }")}&variables=notjson`, init: {} },
    {
      name: "REST: 1 MB of nested arrays (Convo POST /leads)",
      expect: [400, "Bad Request"],
      path: "/api/v1/leads",
      init: { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body: nestedArrays(1_000_000) },
    },
    { name: "a 20,000-character URL", expect: [431, "REQUEST_HEADER_FIELDS_TOO_LARGE"], path: `/graphql?query=${"x".repeat(20_000)}`, init: {} },
  ];
}

/** A refusal's code in GraphQL's shape, the generic REST one, or Convo's (`error` is the reason phrase). */
function codeOf(body: unknown): string | undefined {
  const value = body as { errors?: { extensions?: { code?: string } }[]; error?: string | { code?: string } } | null;
  if (Array.isArray(value?.errors)) return value.errors[0]?.extensions?.code;
  if (typeof value?.error === "string") return value.error;
  return value?.error?.code;
}

async function main(database: BenchDatabase, cleanup: Cleanup): Promise<number> {
  const cpus = os.cpus();
  console.log("Engagement Graph benchmark: abusive requests, refused (issue 8)");
  console.log(`machine: node ${process.version}, ${cpus.length} CPUs (${cpus[0]?.model.trim() ?? "?"}), load average ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`);
  console.log(`database: ${database.label}; ${REPEATS} requests per case, one at a time`);
  const db = await openDatabase(database.config);
  cleanup.unshift(() => db.close());
  const app = createApp(db, loadConfig({ ...BENCH_ENV, RATE_LIMITS: "off" }));
  cleanup.unshift(() => app.close());
  let failed = false;
  const tenant = await seedTenant(db, "Bench Hostile", { conversations: 5, leads: 5 }, 0);
  const base = `http://${HOST}:${await app.listen(0, HOST)}`;
  const stalls = monitorEventLoopDelay({ resolution: 1 });
  stalls.enable();
  const rows = [["request", "answer", "median ms", "worst ms", "median vs baseline", "longest stall ms", `stall ≤ ${TARGET_MS} ms`]];
  let baseline = 0;
  for (const abuse of abuses(tenant.token)) {
    const latencies: number[] = [];
    let answer = "";
    // One unmeasured request first: the first of a kind compiles code paths and warms caches.
    await (await fetch(`${base}${abuse.path}`, abuse.init)).text();
    stalls.reset();
    for (let i = 0; i < REPEATS; i++) {
      const started = performance.now();
      const response = await fetch(`${base}${abuse.path}`, abuse.init);
      const text = await response.text();
      latencies.push(performance.now() - started);
      let code: string | undefined;
      try {
        code = codeOf(JSON.parse(text));
      } catch {
        code = "(not JSON)";
      }
      answer = `${response.status}${code ? ` ${code}` : ""}`;
      if (response.status !== abuse.expect[0] || code !== abuse.expect[1]) {
        console.error(`${abuse.name}: expected ${abuse.expect.filter(Boolean).join(" ")}, got ${answer}: ${text.slice(0, 200)}`);
        failed = true;
        break;
      }
    }
    const typical = median(latencies);
    if (baseline === 0) baseline = typical;
    const stall = stalls.max / 1e6;
    rows.push([abuse.name, answer, fmt(typical, 2), fmt(Math.max(...latencies), 2), `${fmt(typical / baseline, 2)}×`, fmt(stall, 1), stall <= TARGET_MS ? "yes" : "NO"]);
  }
  stalls.disable();
  printTable(rows);
  console.log("\nThe stall is the longest the event loop waited while the case ran, client included (it runs in the same process).");
  return failed ? 1 : 0;
}

runBench(main);
