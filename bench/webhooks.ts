// `npm run bench:webhooks`: outbound webhooks end to end (src/webhooks: the outbox row and
// fan-out job written with the change, pg-boss fan-out rendering the Veleria body, the
// delivery job signing and POSTing it) against a bare HTTP POST of the same size from this
// process to the same receiver, measured in the same run.
//
// One process holds the service (createApp, as bench/rest.ts starts it), its database when
// embedded, the receiver (node:http, answers 200 at once) and the clients: they share one
// event loop and these CPUs, on both sides of the comparison.
//
//   webhooks   createContact over HTTP; one VELERIA endpoint for contact.created points at the
//              receiver. Commit time = when the mutation's HTTP response arrives (the write
//              has committed by then); latency = receiver arrival - commit time, matched per
//              contact by the payload's data.first_name. In one process that response can
//              reach the client only after the fan-out and the send already ran on this event
//              loop, so the latency is also reported from when the server had written the
//              response (its "finish", also after the commit): the closer bound.
//   bare POST  node:http with agent: false (a new connection per request, as the service's
//              sender makes them), the same body bytes and the same headers (Standard
//              Webhooks' webhook-id, -timestamp and -signature, signed per request, plus
//              content-type and user-agent); latency = receiver arrival - request start.
//
// Latency: N requests one at a time (the next starts once the previous one's delivery or POST
// has arrived). Throughput: M requests from 16 concurrent clients; per second = M / (first
// request sent -> last delivery or POST received).
//
//   DATABASE_URL               PostgreSQL (a fresh schema bench_<random>, dropped at the end);
//                              unset: the embedded database (PGlite, in memory, in this process)
//   WEBHOOK_BENCH_EVENTS       N, sequential requests for latency (default 200)
//   WEBHOOK_BENCH_BURST        M, requests for throughput, 16 at a time (default 1000)
//   WEBHOOK_BENCH_WARMUP       unmeasured warm-up requests per side (default 20; at least one
//                              webhook, whose body the bare POST sends)
//   WEBHOOK_BENCH_TIMEOUT_MS   how long to wait for deliveries before failing (default 120000)
//
// The service runs with its default webhook settings (WEBHOOK_POLL_MS 1000 etc.), rate
// limits off and private targets allowed. No assertion on time: exits non-zero only when a
// request failed or a delivery never came.
import { randomBytes, randomUUID } from "node:crypto";
import http, { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import { performance } from "node:perf_hooks";
import { DATA_SCOPES } from "../src/auth/scopes.js";
import { issueToken } from "../src/auth/viewer.js";
import { loadConfig } from "../src/config.js";
import { openDatabase, type Database } from "../src/db/client.js";
import { createApp } from "../src/http/server.js";
import { signatureHeaders } from "../src/webhooks/signing.js";
import { type BenchDatabase, checkpoint, type Cleanup, fmt, intFromEnv, printTable, runBench, BENCH_ENV } from "./common.js";

const HOST = "127.0.0.1";
const CONCURRENCY = 16;
const EVENT = "contact.created";
/** What the service's sender sends when the endpoint sets none (src/webhooks/send.ts). */
const USER_AGENT = "engagement-graph-webhooks/1";

const settings = {
  events: intFromEnv("WEBHOOK_BENCH_EVENTS", 200),
  burst: intFromEnv("WEBHOOK_BENCH_BURST", 1000),
  warmup: intFromEnv("WEBHOOK_BENCH_WARMUP", 20, 0),
  timeoutMs: intFromEnv("WEBHOOK_BENCH_TIMEOUT_MS", 120_000),
};

const SERVICE_ENV = { ...BENCH_ENV, RATE_LIMITS: "off", WEBHOOK_ALLOW_PRIVATE: "true" };

// ---------------------------------------------------------------------------------------
// The receiver: answers 200 at once and records when each request arrived, by webhook-id.

interface Arrival {
  /** performance.now() when the whole request had arrived. */
  at: number;
  body: string;
}

interface Receiver {
  url: string;
  /** The first arrival of each webhook-id. */
  arrivals: Map<string, Arrival>;
  /** Requests whose webhook-id had already arrived. */
  duplicates: number;
  /** Resolves once `count` distinct webhook-ids have arrived; fails after timeoutMs. */
  until(count: number, timeoutMs: number, what: string): Promise<void>;
  close(): Promise<void>;
}

async function startReceiver(): Promise<Receiver> {
  const arrivals = new Map<string, Arrival>();
  let duplicates = 0;
  let waiter: { count: number; resolve: () => void } | undefined;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const at = performance.now();
      res.writeHead(200, { "content-length": "0" }).end();
      const id = String(req.headers["webhook-id"] ?? "");
      if (arrivals.has(id)) duplicates += 1;
      else arrivals.set(id, { at, body: Buffer.concat(chunks).toString("utf8") });
      if (waiter && arrivals.size >= waiter.count) {
        const { resolve } = waiter;
        waiter = undefined;
        resolve();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${HOST}:${port}`,
    arrivals,
    get duplicates() {
      return duplicates;
    },
    until(count, timeoutMs, what) {
      if (arrivals.size >= count) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiter = undefined;
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}: ${arrivals.size} of ${count} arrived`));
        }, timeoutMs);
        waiter = {
          count,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        };
      });
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

// ---------------------------------------------------------------------------------------
// Clients.

/** Runs `count` jobs from `concurrency` workers, each taking the next index. */
async function pool(count: number, concurrency: number, job: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      checkpoint();
      const index = next++;
      await job(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

/** A bare POST as the service's sender makes it: node:http, agent: false, the body read to its end. */
function barePost(url: URL, headers: Record<string, string>, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { method: "POST", hostname: url.hostname, port: Number(url.port), path: url.pathname, headers, agent: false },
      (res) => {
        res.resume();
        res.on("end", () => {
          resolve(res.statusCode ?? 0);
          req.destroy();
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body, "utf8");
  });
}

// ---------------------------------------------------------------------------------------
// Figures.

/** Nearest-rank percentile. */
function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

interface Latencies {
  p50: number;
  p90: number;
  p99: number;
  max: number;
}
const latencies = (values: number[]): Latencies => ({
  p50: percentile(values, 50),
  p90: percentile(values, 90),
  p99: percentile(values, 99),
  max: Math.max(...values),
});

// ---------------------------------------------------------------------------------------

async function main(database: BenchDatabase, cleanup: Cleanup): Promise<number> {
  const cpus = os.cpus();
  console.log("Engagement Graph benchmark: outbound webhooks (createContact -> VELERIA contact.created delivery) vs a bare HTTP POST");
  console.log(
    `machine: node ${process.version}, ${os.platform()} ${os.release()} ${os.arch()}, ${cpus.length} CPUs (${cpus[0]?.model.trim() ?? "?"}), ` +
      `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, load average ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`,
  );
  console.log(`database: ${database.label}${database.version ? `, PostgreSQL ${await database.version()} (shares these CPUs when local)` : ""}`);
  console.log(
    `settings: latency over ${settings.events} sequential requests, throughput over ${settings.burst} requests at concurrency ${CONCURRENCY}, ` +
      `${settings.warmup} unmeasured warm-up requests per side; service env RATE_LIMITS=off WEBHOOK_ALLOW_PRIVATE=true, ` +
      `other webhook settings default (WEBHOOK_POLL_MS 1000)`,
  );
  console.log("one process: the service, the receiver and both clients share this event loop (and the database too when embedded)");

  let t = Date.now();
  const db: Database = await openDatabase(database.config);
  cleanup.unshift(() => db.close());
  console.log(`migrated in ${Date.now() - t} ms`);
  checkpoint();

  const receiver = await startReceiver();
  cleanup.unshift(() => receiver.close());

  const app = createApp(db, loadConfig(SERVICE_ENV));
  const port = await app.listen(0, HOST);
  cleanup.unshift(() => app.close());
  const graphqlUrl = `http://${HOST}:${port}/graphql`;

  const tenant = await db.prisma.tenant.create({ data: { name: "Webhook bench", slug: `webhook-bench-${randomBytes(4).toString("hex")}` } });
  const { secret: token } = await issueToken(db.prisma, { tenantId: tenant.id, name: "bench", format: "CONVO", scopes: [...DATA_SCOPES, "admin"] });

  const graphql = async (query: string, variables: Record<string, unknown>, tag?: string) => {
    const response = await fetch(graphqlUrl, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json", authorization: `Bearer ${token}`, ...(tag ? { "x-bench-contact": tag } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    const answered = performance.now();
    const text = await response.text();
    const body = JSON.parse(text) as { data?: Record<string, any> | null; errors?: unknown[] };
    if (response.status !== 200 || body.errors?.length || !body.data) throw new Error(`GraphQL answered HTTP ${response.status}: ${text.slice(0, 1000)}`);
    return { data: body.data, answered };
  };

  const registered = await graphql(
    `mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { endpoint { id } signingSecret } }`,
    { input: { dialect: "VELERIA", url: `${receiver.url}/veleria`, events: [EVENT] } },
  );
  const signingSecret = registered.data.createWebhookEndpoint.signingSecret as string;
  console.log(`endpoint ${registered.data.createWebhookEndpoint.endpoint.id as string}: VELERIA ${EVENT} -> ${receiver.url}/veleria`);

  /** When each contact's mutation answered (the client has its HTTP response), by first name. */
  const committedAt = new Map<string, number>();
  /** When each contact's mutation was sent. */
  const sentAt = new Map<string, number>();
  /**
   * When the server had written each contact's response (its "finish"), by first name. In one
   * process the client may only see its response after whatever else this event loop runs
   * first (fan-out, rendering, sending): this is the earlier bound of the commit.
   */
  const writtenAt = new Map<string, number>();
  app.server.prependListener("request", (req, res) => {
    const tag = req.headers["x-bench-contact"];
    if (typeof tag === "string") res.once("finish", () => writtenAt.set(tag, performance.now()));
  });
  const createContact = async (firstName: string) => {
    sentAt.set(firstName, performance.now());
    const { answered } = await graphql(
      `mutation($input: ContactInput!) { createContact(input: $input) { id } }`,
      { input: { firstName, email: `${firstName}@example.com` } },
      firstName,
    );
    committedAt.set(firstName, answered);
  };
  /** Latency of each named contact's delivery: its arrival minus its commit, matched by data.first_name. */
  const deliveryLatencies = (names: string[]) => {
    const arrivedAt = new Map<string, number>();
    for (const { at, body } of receiver.arrivals.values()) {
      const firstName = (JSON.parse(body) as { data?: { first_name?: string } }).data?.first_name;
      if (firstName !== undefined) arrivedAt.set(firstName, at);
    }
    return names.map((name) => {
      const arrived = arrivedAt.get(name);
      if (arrived === undefined) throw new Error(`no delivery for contact ${name}`);
      const committed = committedAt.get(name)!;
      const written = writtenAt.get(name) ?? NaN;
      const sent = sentAt.get(name)!;
      return { name, arrived, committed, latency: arrived - committed, fromWritten: arrived - written, fromSent: arrived - sent, roundTrip: committed - sent };
    });
  };
  /** Every delivery's bookkeeping (attempt log, status) done: nothing PENDING. */
  const settle = async () => {
    const deadline = Date.now() + settings.timeoutMs;
    while ((await db.prisma.webhookDelivery.count({ where: { tenantId: tenant.id, status: { not: "DELIVERED" } } })) > 0) {
      if (Date.now() > deadline) throw new Error("deliveries still not DELIVERED after the timeout");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  const names = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${prefix}${String(i).padStart(6, "0")}`);
  const perDelivery = 30_000;

  // Sequential: each mutation waits for the previous contact's delivery.
  const sequentialWebhooks = async (list: string[]) => {
    for (const name of list) {
      checkpoint();
      const expected = receiver.arrivals.size + 1;
      await createContact(name);
      await receiver.until(expected, perDelivery, `the delivery of ${name}`);
    }
    await settle();
  };

  // The bare POST's request: the body of a real delivery, signed per request as the service does.
  const target = new URL(`${receiver.url}/bare`);
  let template = "";
  const signedHeaders = (body: string): Record<string, string> => ({
    "content-type": "application/json",
    "user-agent": USER_AGENT,
    ...signatureHeaders("VELERIA", signingSecret, { id: randomUUID(), body, timestamp: Math.floor(Date.now() / 1000), eventName: EVENT }),
    host: target.host,
    "content-length": String(Buffer.byteLength(body, "utf8")),
  });
  /** One bare POST; returns receiver arrival minus request start (the signing included, as in the service). */
  const bare = async () => {
    const started = performance.now();
    const headers = signedHeaders(template);
    const status = await barePost(target, headers, template);
    if (status !== 200) throw new Error(`the receiver answered a bare POST with ${status}`);
    const arrival = receiver.arrivals.get(headers["webhook-id"]!);
    if (!arrival) throw new Error("a bare POST was answered but not recorded");
    return { started, arrived: arrival.at, latency: arrival.at - started };
  };

  // ---- Warm-up (unmeasured): both paths, so JIT and connection setup are behind us.
  t = Date.now();
  await sequentialWebhooks(names("warm", Math.max(1, settings.warmup)));
  const sample = [...receiver.arrivals.values()][0]!.body;
  template = sample;
  for (let i = 0; i < settings.warmup; i++) await bare();
  console.log(`warm-up: ${Math.max(1, settings.warmup)} webhooks + ${settings.warmup} bare POSTs in ${Date.now() - t} ms; delivery body ${Buffer.byteLength(template)} bytes:`);
  console.log(`  ${template.length > 300 ? `${template.slice(0, 300)}...` : template}`);
  const sampleHeaders = signedHeaders(template);
  console.log(`  bare POST headers (as the service's sender sends them): ${Object.keys(sampleHeaders).join(", ")}; node:http, agent: false (a new connection per request)`);

  // ---- Latency, sequential.
  t = Date.now();
  const latencyNames = names("late", settings.events);
  await sequentialWebhooks(latencyNames);
  const sequential = deliveryLatencies(latencyNames);
  const webhookLatency = latencies(sequential.map((each) => each.latency));
  const sequentialFromWritten = latencies(sequential.map((each) => each.fromWritten));
  const sequentialFromSent = latencies(sequential.map((each) => each.fromSent));
  const sequentialRoundTrip = latencies(sequential.map((each) => each.roundTrip));
  console.log(`latency, webhooks: ${settings.events} mutations in ${Date.now() - t} ms`);

  t = Date.now();
  const bareSequential: number[] = [];
  for (let i = 0; i < settings.events; i++) {
    checkpoint();
    bareSequential.push((await bare()).latency);
  }
  const bareLatency = latencies(bareSequential);
  console.log(`latency, bare POST: ${settings.events} POSTs in ${Date.now() - t} ms`);

  // ---- Throughput, concurrency 16.
  const burstNames = names("brst", settings.burst);
  const beforeBurst = receiver.arrivals.size;
  const burstStart = performance.now();
  await pool(settings.burst, CONCURRENCY, (index) => createContact(burstNames[index]!));
  const lastCommitAt = performance.now();
  await receiver.until(beforeBurst + settings.burst, settings.timeoutMs, `the burst's ${settings.burst} deliveries`);
  const burst = deliveryLatencies(burstNames);
  const lastDelivery = Math.max(...burst.map((each) => each.arrived));
  const lastCommit = Math.max(...burst.map((each) => each.committed));
  const webhookSeconds = (lastDelivery - burstStart) / 1000;
  const deliveriesPerSecond = settings.burst / webhookSeconds;
  const mutationsPerSecond = settings.burst / ((lastCommitAt - burstStart) / 1000);
  const burstLatency = latencies(burst.map((each) => each.latency));
  const burstFromWritten = latencies(burst.map((each) => each.fromWritten));
  await settle();
  console.log(`throughput, webhooks: ${settings.burst} mutations, the last delivery ${fmt(webhookSeconds * 1000, 0)} ms after the first mutation was sent`);

  const bareBurst: { started: number; arrived: number }[] = [];
  await pool(settings.burst, CONCURRENCY, async () => {
    bareBurst.push(await bare());
  });
  const bareStart = Math.min(...bareBurst.map((each) => each.started));
  const bareSeconds = (Math.max(...bareBurst.map((each) => each.arrived)) - bareStart) / 1000;
  const postsPerSecond = settings.burst / bareSeconds;
  console.log(`throughput, bare POST: ${settings.burst} POSTs, the last received ${fmt(bareSeconds * 1000, 0)} ms after the first was sent`);

  // ---- Checks and report.
  const delivered = await db.prisma.webhookDelivery.count({ where: { tenantId: tenant.id, status: "DELIVERED" } });
  const attempts = await db.prisma.webhookAttempt.count({ where: { tenantId: tenant.id } });
  const expectedDeliveries = Math.max(1, settings.warmup) + settings.events + settings.burst;
  console.log(
    `checks: ${delivered} of ${expectedDeliveries} deliveries DELIVERED in ${attempts} attempts, ` +
      `${receiver.duplicates} duplicate arrivals at the receiver`,
  );

  const ratio = (a: number, b: number) => fmt(a / b, 2);
  console.log("");
  const latencyRows = (label: string, webhooks: Latencies) =>
    (["p50", "p90", "p99", "max"] as const).map((key) => [
      `latency ${key} (ms) ${label}`,
      fmt(webhooks[key], 2),
      fmt(bareLatency[key], 2),
      ratio(webhooks[key], bareLatency[key]),
    ]);
  printTable(
    [
      ["metric", "webhooks", "bare POST", "ratio (webhooks / bare)"],
      ...latencyRows("from response at client", webhookLatency),
      ...latencyRows("from response written", sequentialFromWritten),
      [`throughput (per s)`, fmt(deliveriesPerSecond), fmt(postsPerSecond), ratio(deliveriesPerSecond, postsPerSecond)],
      ["last delivery after last commit (ms)", fmt(lastDelivery - lastCommit, 1), "n/a", "n/a"],
    ],
    "  ",
  );
  console.log("");
  console.log(`  latency: ${settings.events} sequential requests; throughput: ${settings.burst} requests at concurrency ${CONCURRENCY}`);
  console.log("  webhooks: latency = receiver arrival - the contact's commit, taken as");
  console.log("    from response at client:  when createContact's HTTP response reached the client (as specified), or");
  console.log("    from response written:    when the server had written that response (its 'finish'; after the commit).");
  console.log("    In one process the client sees its response only after what this event loop runs first (fan-out, rendering,");
  console.log("    sending), so the first can be later than the delivery's start; the second is the closer bound. Both are at or");
  console.log("    after the commit, so both understate the commit -> arrival time.");
  console.log("    throughput = deliveries / (first mutation sent -> last delivery received); last commit = last response at client.");
  console.log(
    "  bare POST: node:http with agent: false (a new connection per request, like the service's sender), the same body bytes and\n" +
      "    header set, signed per request; latency = receiver arrival - request start; throughput = POSTs / (first sent -> last received).",
  );
  const spread = (l: Latencies, digits = 1) => `p50 ${fmt(l.p50, digits)} / p90 ${fmt(l.p90, digits)} / p99 ${fmt(l.p99, digits)} / max ${fmt(l.max, digits)} ms`;
  console.log("  more about the webhooks side (no bare POST counterpart):");
  console.log(`    sequential: createContact round trip (sent -> response at client)  ${spread(sequentialRoundTrip, 2)}`);
  console.log(`    sequential: delivery arrival - mutation sent                        ${spread(sequentialFromSent, 2)}`);
  console.log(`    burst: mutations committed at ${fmt(mutationsPerSecond)}/s (first sent -> last response at client)`);
  console.log(`    burst: delivery arrival - response at client                        ${spread(burstLatency)}`);
  console.log(`    burst: delivery arrival - response written                          ${spread(burstFromWritten)}`);

  if (delivered !== expectedDeliveries) {
    console.error(`\nFAILED: ${delivered} deliveries DELIVERED, expected ${expectedDeliveries}`);
    return 1;
  }
  return 0;
}

runBench(main);
