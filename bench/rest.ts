// `npm run bench:rest`: the REST compatibility layer (src/rest) against the GraphQL request
// it runs underneath, on the same server, the same data and the same token, in one run:
//
//   REST     GET /api/v1/conversations?limit=20          (Convo token, convo_…)
//   GraphQL  POST /graphql  ConvoListConversations {first: 20}
//   REST     GET /api/v1/leads?sort=score&limit=20
//   GraphQL  POST /graphql  ConvoListLeads {first: 20, sort: "SCORE"}
//
// The GraphQL request carries the route's operation as written in schema/rest/convo.graphql
// (with the fragments it spreads) and the variables the route itself derives from the query
// string, so both sides run the same operation; REST adds only its routing and shaping.
// Before the runs, the REST body must equal the route's `result` applied to the GraphQL
// data; during them every response must be 2xx with exactly the verified body.
//
// Runs alternate GraphQL/REST in ABBA order after an unmeasured warm-up of both, so machine
// noise (other processes on these CPUs) falls on both sides alike; each round's REST/GraphQL
// ratio is printed, and the median of them.
//
//   DATABASE_URL          PostgreSQL (a fresh schema bench_<random>, dropped at the end);
//                         unset: the embedded database (PGlite, in memory, in this process)
//   BENCH_SECONDS         measured duration of each run (default 5)
//   BENCH_ROUNDS          measured runs per side and route (default 6)
//   BENCH_WARMUP_SECONDS  unmeasured warm-up per side and route (default 3)
//   BENCH_CONNECTIONS     concurrent connections (default 10)
//   BENCH_CONVERSATIONS   conversations per tenant (default 500)
//   BENCH_LEADS           leads per tenant (default 500)
//   BENCH_CPU_PROFILE     a directory: CPU-profile the server during every measured run,
//                         write one .cpuprofile per run there, and print where REST and
//                         GraphQL spend their CPU per request (figures then include the
//                         profiler's overhead, on both sides)
//
// Exits non-zero when a response was an error, non-2xx or another body than the verified one.
import { mkdir, readFile } from "node:fs/promises";
import os from "node:os";
import { join } from "node:path";
import type autocannon from "autocannon";
import { Kind, parse, visit, type DefinitionNode, type FragmentDefinitionNode } from "graphql";
import { loadConfig } from "../src/config.js";
import { openDatabase, type Database } from "../src/db/client.js";
import { createApp } from "../src/http/server.js";
import { convo } from "../src/rest/dialects/convo.js";
import { documentPath } from "../src/rest/documents.js";
import type { RestRequest, Route } from "../src/rest/route.js";
import { largestDifferences, Profiler, summarise, type ProfileSummary } from "./rest-profile.js";
import { SEEDED_TABLES, seedTenant, type SeededTenant } from "./rest-seed.js";
import { type BenchDatabase, checkpoint, type Cleanup, fmt, intFromEnv, median, printTable, runAutocannon, runBench, trackRequests, waitForIdle, BENCH_ENV } from "./common.js";

const HOST = "127.0.0.1";
const PAGE_SIZE = 20;


const settings = {
  seconds: intFromEnv("BENCH_SECONDS", 5),
  rounds: intFromEnv("BENCH_ROUNDS", 6),
  warmupSeconds: intFromEnv("BENCH_WARMUP_SECONDS", 3, 0),
  connections: intFromEnv("BENCH_CONNECTIONS", 10),
  conversations: intFromEnv("BENCH_CONVERSATIONS", 500, PAGE_SIZE),
  leads: intFromEnv("BENCH_LEADS", 500, PAGE_SIZE),
  profileDir: process.env.BENCH_CPU_PROFILE || undefined,
};

// ---------------------------------------------------------------------------------------
// The two routes, and the GraphQL request each one stands for.

/** The named operation and the fragments it spreads, as written in the dialect's document. */
async function operationText(file: URL, name: string): Promise<string> {
  const source = await readFile(file, "utf8");
  const document = parse(source);
  const fragments = new Map(
    document.definitions
      .filter((definition): definition is FragmentDefinitionNode => definition.kind === Kind.FRAGMENT_DEFINITION)
      .map((fragment) => [fragment.name.value, fragment]),
  );
  const operation = document.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION && d.name?.value === name);
  if (!operation) throw new Error(`${file.pathname} has no operation ${name}`);
  const needed = new Set<DefinitionNode>([operation]);
  const pending: DefinitionNode[] = [operation];
  while (pending.length > 0) {
    visit(pending.pop()!, {
      FragmentSpread(node) {
        const fragment = fragments.get(node.name.value);
        if (fragment && !needed.has(fragment)) {
          needed.add(fragment);
          pending.push(fragment);
        }
      },
    });
  }
  return document.definitions
    .filter((definition) => needed.has(definition))
    .map((definition) => source.slice(definition.loc!.start, definition.loc!.end))
    .join("\n\n");
}

interface Case {
  name: string;
  route: Route;
  /** Path and query string of the REST request. */
  restPath: string;
  restRequest: RestRequest;
  /** The JSON body of the equivalent GraphQL request. */
  graphqlBody: string;
  /** The route's data field, e.g. "conversations". */
  field: string;
  /** The tenant's ids of that kind, to check that a page shows the tenant's rows only. */
  ids(tenant: SeededTenant): Set<string>;
  /** Throws unless the REST rows are in the order the route promises. */
  checkOrder?(rows: Record<string, any>[]): void;
}

async function makeCase(
  method: Route["method"],
  path: string,
  query: string,
  field: string,
  ids: Case["ids"],
  checkOrder?: Case["checkOrder"],
): Promise<Case> {
  const route = convo.routes.find((each) => each.method === method && each.path === path);
  if (!route) throw new Error(`the convo dialect has no route ${method} ${path}`);
  const restRequest: RestRequest = { params: {}, query: new URLSearchParams(query), body: {} };
  const text = await operationText(documentPath(convo), route.operation);
  // JSON drops the variables the query string leaves undefined, as the route's run does.
  const graphqlBody = JSON.stringify({ query: text, variables: route.variables(restRequest), operationName: route.operation });
  return { name: `${method} ${convo.basePaths[0]}${path}?${query}`, route, restPath: `${convo.basePaths[0]}${path}?${query}`, restRequest, graphqlBody, field, ids, checkOrder };
}

// ---------------------------------------------------------------------------------------
// Verification before the runs: what each side answers, and that they agree.

interface Verified {
  graphqlText: string;
  restText: string;
}

async function verify(c: Case, base: string, tenant: SeededTenant, other: SeededTenant): Promise<Verified> {
  const fail = (why: string, text = ""): never => {
    throw new Error(`${c.name}: ${why}${text ? `\n${text.slice(0, 2000)}` : ""}`);
  };
  const graphql = await fetch(`${base}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json", authorization: `Bearer ${tenant.token}` },
    body: c.graphqlBody,
  });
  const graphqlText = await graphql.text();
  if (graphql.status !== 200) fail(`GraphQL answered HTTP ${graphql.status}`, graphqlText);
  const body = JSON.parse(graphqlText) as { data?: Record<string, any> | null; errors?: unknown[] };
  if (body.errors?.length || !body.data) fail("GraphQL answered with errors", graphqlText);

  const rest = await fetch(`${base}${c.restPath}`, { headers: { authorization: `Bearer ${tenant.token}` } });
  const restText = await rest.text();
  if (rest.status !== (c.route.status ?? 200)) fail(`REST answered HTTP ${rest.status}`, restText);
  if (!rest.headers.get("content-type")?.startsWith("application/json")) fail(`REST content-type ${rest.headers.get("content-type")}`);

  // The REST body is the GraphQL data shaped by the route's own `result`, byte for byte.
  const expected = JSON.stringify(c.route.result(body.data!, c.restRequest));
  if (restText !== expected) {
    let at = 0;
    while (restText[at] === expected[at]) at += 1;
    fail(
      `the REST body differs from result(GraphQL data) at character ${at}:\n` +
        `  expected: ...${expected.slice(Math.max(0, at - 80), at + 80)}\n` +
        `  REST:     ...${restText.slice(Math.max(0, at - 80), at + 80)}`,
    );
  }
  const checked = c.route.response.safeParse(JSON.parse(restText));
  if (!checked.success) fail(`the REST body does not match the route's response schema: ${checked.error.message}`);
  const rows = JSON.parse(restText) as Record<string, any>[];
  if (rows.length !== PAGE_SIZE) fail(`${rows.length} rows, expected ${PAGE_SIZE}`, restText);
  const edges = (body.data![c.field] as { edges: { node: { id: string } }[] }).edges;
  if (edges.length !== PAGE_SIZE) fail(`GraphQL: ${edges.length} edges, expected ${PAGE_SIZE}`);
  rows.forEach((row, i) => {
    if (!c.ids(tenant).has(row.id)) fail(`row ${row.id} is not the tenant's${c.ids(other).has(row.id) ? " (it is the other tenant's)" : ""}`);
    if (edges[i]!.node.id.slice(edges[i]!.node.id.indexOf("_") + 1) !== row.id) fail(`row ${i}: REST ${row.id}, GraphQL ${edges[i]!.node.id}`);
  });
  c.checkOrder?.(rows);
  return { graphqlText, restText };
}

const newestFirst = (rows: Record<string, any>[]) => {
  for (let i = 1; i < rows.length; i++) if (rows[i - 1]!.createdAt < rows[i]!.createdAt) throw new Error(`rows not newest first at ${i}`);
};
const highestScoreFirst = (rows: Record<string, any>[]) => {
  const score = (row: Record<string, any>) => (row.score === null ? -1 : (row.score as number));
  for (let i = 1; i < rows.length; i++) if (score(rows[i - 1]!) < score(rows[i]!)) throw new Error(`leads not highest score first at ${i}`);
};

// ---------------------------------------------------------------------------------------
// Load: autocannon in a child process (bench/load.ts, as `npm run bench` runs it).




type Side = "GraphQL" | "REST";

interface Run {
  side: Side;
  round: number;
  result: autocannon.Result;
  served: number;
  statements: number;
  /** CPU time of this process (server, and the embedded database if any) during the run, µs. */
  cpu: number;
  profile?: ProfileSummary;
}

function failures(result: autocannon.Result): number {
  return result.errors + result.timeouts + result.non2xx + result.mismatches;
}

// ---------------------------------------------------------------------------------------
// Report.


const signed = (value: number) => `${value >= 0 ? "+" : ""}${fmt(value, 1)}`;



// ---------------------------------------------------------------------------------------



async function main(database: BenchDatabase, cleanup: Cleanup): Promise<number> {
  const cpus = os.cpus();
  console.log("Engagement Graph benchmark: REST compatibility layer vs the GraphQL request it runs");
  console.log(
    `machine: node ${process.version}, ${os.platform()} ${os.release()} ${os.arch()}, ${cpus.length} CPUs (${cpus[0]?.model.trim() ?? "?"}), ` +
      `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, load average ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`,
  );
  console.log(`database: ${database.label}${database.version ? `, PostgreSQL ${await database.version()} (shares these CPUs when local)` : ""}`);
  console.log(
    `settings: ${settings.rounds} rounds x ${settings.seconds} s per side and route (ABBA order) after ${settings.warmupSeconds} s warm-up per side, ` +
      `${settings.connections} connections, ${settings.conversations} conversations and ${settings.leads} leads per tenant x 2 tenants` +
      (settings.profileDir ? `, CPU profiles in ${settings.profileDir} (figures include the profiler's overhead)` : ""),
  );

  let t = Date.now();
  const db: Database = await openDatabase(database.config);
  cleanup.unshift(() => db.close());
  console.log(`migrated in ${Date.now() - t} ms`);
  checkpoint();

  t = Date.now();
  const counts = { conversations: settings.conversations, leads: settings.leads };
  const tenant = await seedTenant(db, "Bench Tenant A", counts, 0);
  const other = await seedTenant(db, "Bench Tenant B", counts, 30_000);
  // Statistics and visibility maps, as on a settled database.
  await db.prisma.$executeRawUnsafe(`VACUUM (ANALYZE) ${SEEDED_TABLES.map((table) => `"${table}"`).join(", ")}`);
  console.log(`seeded ${2 * settings.conversations} conversations, ${2 * settings.leads} leads in ${Date.now() - t} ms`);
  checkpoint();

  // Without rate limits: this measures REST against GraphQL (bench/rate-limits.ts measures the limits).
  const app = createApp(db, loadConfig({ ...BENCH_ENV, RATE_LIMITS: "off" }));
  const port = await app.listen(0, HOST);
  cleanup.unshift(() => app.close());
  const base = `http://${HOST}:${port}`;
  const tracker = trackRequests(app.server);

  const cases = [
    await makeCase("GET", "/conversations", `limit=${PAGE_SIZE}`, "conversations", (t) => t.conversationIds, newestFirst),
    await makeCase("GET", "/leads", `sort=score&limit=${PAGE_SIZE}`, "leads", (t) => t.leadIds, highestScoreFirst),
  ];

  const settle = () => waitForIdle(tracker, db);

  if (settings.profileDir) await mkdir(settings.profileDir, { recursive: true });
  const profiler = new Profiler();
  let failed = false;

  for (const c of cases) {
    const verified = await verify(c, base, tenant, other);
    console.log(`\n${c.name}  vs  POST /graphql ${c.route.operation} ${JSON.stringify(c.route.variables(c.restRequest))}`);
    console.log(
      `  verified: REST body (${verified.restText.length} bytes) = route.result(GraphQL data) (GraphQL response ${verified.graphqlText.length} bytes), ` +
        `${PAGE_SIZE} rows of the tenant's, in order, matching the route's response schema`,
    );
    const options: Record<Side, autocannon.Options> = {
      GraphQL: {
        url: `${base}/graphql`,
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json", authorization: `Bearer ${tenant.token}` },
        body: c.graphqlBody,
        expectBody: verified.graphqlText,
      },
      REST: {
        url: `${base}${c.restPath}`,
        method: "GET",
        headers: { authorization: `Bearer ${tenant.token}` },
        expectBody: verified.restText,
      },
    };
    const common = { connections: settings.connections, pipelining: 1, timeout: 10 };

    if (settings.warmupSeconds > 0) {
      for (const side of ["GraphQL", "REST"] as const) {
        const warm = await runAutocannon({ ...options[side], ...common, duration: settings.warmupSeconds });
        await settle();
        console.log(`  warm-up ${side}: ${warm.requests.total} requests in ${settings.warmupSeconds} s${failures(warm) ? `, ${failures(warm)} FAILED` : ""}`);
        if (failures(warm)) failed = true;
      }
    }

    const runs: Run[] = [];
    const header = ["round", "side", "req/s", "p50 ms", "p99 ms", "mean ms", "requests", "SQL/req", "CPU µs/req", "failed"];
    const rowOf = (run: Run) => [
      String(run.round + 1),
      run.side,
      fmt(run.result.requests.average),
      fmt(run.result.latency.p50, 0),
      fmt(run.result.latency.p99, 0),
      fmt(run.result.latency.mean, 2),
      String(run.result.requests.total),
      fmt(run.statements / run.served, 2),
      fmt(run.cpu / run.served, 0),
      String(failures(run.result)),
    ];
    console.log(`  ${header.join(" | ")}`);
    for (let round = 0; round < settings.rounds; round++) {
      // ABBA: GraphQL first in rounds 1, 4, 5, 8, ...; REST first in the others.
      const order: Side[] = round % 4 === 0 || round % 4 === 3 ? ["GraphQL", "REST"] : ["REST", "GraphQL"];
      for (const side of order) {
        const served = tracker.done;
        const statements = db.sqlStatementCount();
        if (settings.profileDir) await profiler.start(250);
        const cpu = process.cpuUsage();
        const result = await runAutocannon({ ...options[side], ...common, duration: settings.seconds });
        await settle();
        const used = process.cpuUsage(cpu);
        let profile: ProfileSummary | undefined;
        if (settings.profileDir) {
          const slug = c.route.path.replace(/\W+/g, "");
          profile = summarise(await profiler.stop(join(settings.profileDir, `${slug}-${side.toLowerCase()}-${round + 1}.cpuprofile`)));
        }
        const run: Run = {
          side,
          round,
          result,
          served: tracker.done - served,
          statements: db.sqlStatementCount() - statements,
          cpu: used.user + used.system,
          profile,
        };
        runs.push(run);
        console.log(`  ${rowOf(run).join(" | ")}`);
        if (failures(result) > 0 || result.requests.total === 0) failed = true;
      }
    }

    // Per round: REST / GraphQL, then the median over rounds.
    const rounds = Array.from({ length: settings.rounds }, (_, round) => ({
      graphql: runs.find((run) => run.round === round && run.side === "GraphQL")!,
      rest: runs.find((run) => run.round === round && run.side === "REST")!,
    }));
    const ratio = (pick: (run: Run) => number) => rounds.map(({ rest, graphql }) => pick(rest) / pick(graphql));
    const metrics: [string, (run: Run) => number, number][] = [
      ["req/s", (run) => run.result.requests.average, 1],
      ["latency p50 (ms)", (run) => run.result.latency.p50, 0],
      ["latency p99 (ms)", (run) => run.result.latency.p99, 0],
      ["latency mean (ms)", (run) => run.result.latency.mean, 2],
      ["server CPU (µs/req)", (run) => run.cpu / run.served, 0],
      ["SQL statements/req", (run) => run.statements / run.served, 2],
    ];
    console.log("");
    printTable([
      ["", "GraphQL (median)", "REST (median)", "REST/GraphQL per round", "median ratio"],
      ...metrics.map(([label, pick, digits]) => [
        label,
        fmt(median(rounds.map((r) => pick(r.graphql))), digits),
        fmt(median(rounds.map((r) => pick(r.rest))), digits),
        ratio(pick).map((value) => fmt(value, 3)).join(" "),
        fmt(median(ratio(pick)), 3),
      ]),
    ], "  ");
    const throughput = median(ratio((run) => run.result.requests.average));
    const p50 = median(ratio((run) => run.result.latency.p50));
    const p99 = median(ratio((run) => run.result.latency.p99));
    const over = [throughput < 0.9 ? "throughput" : "", p50 > 1.1 ? "p50" : "", p99 > 1.1 ? "p99" : ""].filter(Boolean);
    console.log(
      `  => REST vs GraphQL (median of per-round ratios): throughput ${signed((throughput - 1) * 100)}%, p50 ${signed((p50 - 1) * 100)}%, ` +
        `p99 ${signed((p99 - 1) * 100)}%: ${over.length === 0 ? "within 10%" : `MORE THAN 10% WORSE in ${over.join(", ")}`}`,
    );

    if (settings.profileDir) {
      const merge = (side: Side) => {
        const summary: ProfileSummary = { busy: 0, selfByFunction: new Map(), totalByFunction: new Map(), selfByGroup: new Map() };
        let served = 0;
        for (const run of runs.filter((each) => each.side === side)) {
          served += run.served;
          const p = run.profile!;
          summary.busy += p.busy;
          for (const [from, to] of [
            [p.selfByFunction, summary.selfByFunction],
            [p.totalByFunction, summary.totalByFunction],
            [p.selfByGroup, summary.selfByGroup],
          ] as const) {
            for (const [key, value] of from) to.set(key, (to.get(key) ?? 0) + value);
          }
        }
        return { summary, served };
      };
      const rest = merge("REST");
      const graphql = merge("GraphQL");
      console.log(
        `\n  CPU profile (sampled, not idle): REST ${fmt(rest.summary.busy / rest.served, 0)} µs/req, ` +
          `GraphQL ${fmt(graphql.summary.busy / graphql.served, 0)} µs/req`,
      );
      console.log("  self time by package or file, µs per request:");
      printTable([["where", "REST", "GraphQL", "REST-GraphQL"], ...largestDifferences(rest.summary.selfByGroup, rest.served, graphql.summary.selfByGroup, graphql.served, 12)], "    ");
      console.log("  self time by function, µs per request:");
      printTable([["function", "REST", "GraphQL", "REST-GraphQL"], ...largestDifferences(rest.summary.selfByFunction, rest.served, graphql.summary.selfByFunction, graphql.served, 15)], "    ");
      console.log("  total time (self + callees) by function, µs per request:");
      printTable([["function", "REST", "GraphQL", "REST-GraphQL"], ...largestDifferences(rest.summary.totalByFunction, rest.served, graphql.summary.totalByFunction, graphql.served, 25)], "    ");
    }
  }

  if (failed) {
    console.error("\nFAILED: a run had errors, timeouts, non-2xx responses, unexpected bodies, or no requests at all");
    return 1;
  }
  return 0;
}

runBench(main);
