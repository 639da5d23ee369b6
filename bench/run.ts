// `npm run bench`: the nested conversations page through the real GraphQL server, against
// the same page fetched with hand-written SQL (bench/baseline.ts), on PostgreSQL.
//
//   DATABASE_URL          PostgreSQL server (default postgresql://postgres@127.0.0.1:5432/test);
//                         the run creates a schema of its own there and drops it at the end
//   BENCH_SECONDS         measured duration per side (default 10)
//   BENCH_CONNECTIONS     concurrent connections (default 10)
//   BENCH_WARMUP_SECONDS  unmeasured warm-up per side before its run (default 3)
//   BENCH_CONVERSATIONS   conversations per tenant (default 500)
//
// Exits non-zero when either side answered with an error, a non-2xx status, or a body
// other than the one verified before the run.
import { randomBytes, randomUUID } from "node:crypto";
import os from "node:os";
import type autocannon from "autocannon";
import pg from "pg";
import { DATA_SCOPES } from "../src/auth/scopes.js";
import { issueToken } from "../src/auth/viewer.js";
import { loadConfig } from "../src/config.js";
import { openDatabase, type Database } from "../src/db/client.js";
import type { ChannelType, ConversationStatus } from "../src/generated/prisma/enums.js";
import { createApp, type App } from "../src/http/server.js";
import { connectionConfig, createBaselineServer, type BaselineServer } from "./baseline.js";
import { checkpoint, exitWith, fmt, interrupt, intFromEnv, printTable, runAutocannon, trackRequests, BENCH_ENV } from "./common.js";

const HOST = "127.0.0.1";
const PAGE_SIZE = 20;
const LAST_MESSAGES = 3;
const MESSAGES_PER_CONVERSATION = 10;
const TAGS_PER_CONVERSATION = 2;
const AGENTS = 5;
const TAGS = 10;
const CHANNEL_TYPES: ChannelType[] = ["WEBSITE", "WHATSAPP", "EMAIL", "SMS", "TELEGRAM"];
const STATUSES: ConversationStatus[] = ["OPEN", "HANDED_OFF", "CLOSED"];

const QUERY = `query ConversationsPage {
  conversations(first: ${PAGE_SIZE}) {
    totalCount
    edges {
      node {
        id status customerName
        contact { firstName lastName email }
        agent { name }
        channel { name }
        tags { name }
        lastMessages(count: ${LAST_MESSAGES}) { role content createdAt }
      }
    }
  }
}`;


const settings = {
  seconds: intFromEnv("BENCH_SECONDS", 10),
  connections: intFromEnv("BENCH_CONNECTIONS", 10),
  warmupSeconds: intFromEnv("BENCH_WARMUP_SECONDS", 3, 0),
  conversations: intFromEnv("BENCH_CONVERSATIONS", 500, PAGE_SIZE),
};

// ---------------------------------------------------------------------------------------
// Database: a fresh schema for this run, dropped at the end.

function benchDatabase() {
  const base = new URL(process.env.DATABASE_URL || "postgresql://postgres@127.0.0.1:5432/test");
  if (!/^postgres(ql)?:$/.test(base.protocol)) throw new Error("DATABASE_URL must be a postgresql:// URL");
  base.searchParams.delete("schema");
  const schema = `bench_${randomBytes(6).toString("hex")}`;
  const url = new URL(base);
  url.searchParams.set("schema", schema);
  let dropping: Promise<void> | undefined;
  return {
    schema,
    databaseUrl: url.toString(),
    /** Drops the schema; later calls wait for the first one. */
    drop() {
      dropping ??= (async () => {
        const client = new pg.Client({ connectionString: base.toString() });
        await client.connect();
        try {
          await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        } finally {
          await client.end();
        }
      })();
      return dropping;
    },
  };
}

// ---------------------------------------------------------------------------------------
// Seed: two tenants with the same shape of data. The second tenant's conversations
// interleave in time with the first's, so a page that forgot the tenant filter would show
// them. Tenants and tokens go through Prisma; the bulk goes in one INSERT ... SELECT FROM
// unnest(...) per table, which stays fast at any BENCH_CONVERSATIONS.

interface SeededTenant {
  id: string;
  token: string;
}

/** A column: name, PostgreSQL type, and optionally a constant SQL expression for every row. */
type Column = [name: string, type: string, constant?: string];

async function insertMany(client: pg.Client, table: string, columns: Column[], rows: object[]): Promise<void> {
  const fromRows = columns.filter(([, , constant]) => constant === undefined);
  // Timestamps are TIMESTAMP(3) holding UTC: send them as UTC strings, whatever the local zone.
  const values = fromRows.map(([name]) =>
    rows.map((row) => {
      const value = (row as Record<string, unknown>)[name];
      return value instanceof Date ? value.toISOString() : (value ?? null);
    }),
  );
  const names = columns.map(([name]) => `"${name}"`).join(", ");
  const select = columns.map(([name, , constant]) => constant ?? `u."${name}"`).join(", ");
  const unnest = fromRows.map(([, type], i) => `$${i + 1}::${type}[]`).join(", ");
  const alias = fromRows.map(([name]) => `"${name}"`).join(", ");
  await client.query(`INSERT INTO "${table}" (${names}) SELECT ${select} FROM unnest(${unnest}) AS u(${alias})`, values);
}

async function seedTenant(
  db: Database,
  client: pg.Client,
  name: string,
  conversations: number,
  timeOffsetMs: number,
): Promise<SeededTenant> {
  const handle = name.toLowerCase().replace(/[^a-z0-9]+/g, "-");
  const tenant = await db.prisma.tenant.create({ data: { name, slug: `${handle}-${randomBytes(4).toString("hex")}` } });
  const tenantId = tenant.id;
  const start = Date.UTC(2026, 0, 1) + timeOffsetMs;
  const at = (ms: number) => new Date(start + ms);

  const agents = Array.from({ length: AGENTS }, (_, i) => ({
    id: randomUUID(),
    tenantId,
    number: i + 1,
    publicId: `${handle.replace(/-/g, "_")}_Agent_${i + 1}`,
    name: `${name} agent ${i + 1}`,
    status: "PUBLISHED",
    systemPrompt: "You are a helpful assistant.",
    modelProvider: "openai",
    modelName: "gpt-4o-mini",
    createdAt: at(i),
    updatedAt: at(i),
  }));
  const channels = CHANNEL_TYPES.map((type, i) => ({
    id: randomUUID(),
    tenantId,
    type,
    name: `${name} ${type.toLowerCase()}`,
    agentId: agents[i % AGENTS]!.id,
    createdAt: at(i),
    updatedAt: at(i),
  }));
  const tags = Array.from({ length: TAGS }, (_, i) => ({
    id: randomUUID(),
    tenantId,
    name: `tag-${i + 1}`,
    color: "#3366ff",
    createdAt: at(i),
  }));
  const contacts = [];
  const convs = [];
  const links = [];
  const messages = [];
  for (let i = 0; i < conversations; i++) {
    const created = at(i * 60_000);
    const contactId = randomUUID();
    const conversationId = randomUUID();
    const channel = channels[i % channels.length]!;
    contacts.push({
      id: contactId,
      tenantId,
      firstName: `First${i}`,
      lastName: `Last${i}`,
      email: `customer${i}@example.com`,
      phone: `+1555${String(i).padStart(7, "0")}`,
      language: "en",
      createdAt: created,
      updatedAt: created,
    });
    convs.push({
      id: conversationId,
      tenantId,
      number: i + 1,
      channelType: channel.type,
      channelId: channel.id,
      agentId: agents[i % AGENTS]!.id,
      contactId,
      customerIdentifier: `customer${i}@example.com`,
      customerName: `First${i} Last${i}`,
      customerLanguage: "en",
      status: STATUSES[i % STATUSES.length]!,
      firstMessageAt: created,
      lastMessageAt: at(i * 60_000 + (MESSAGES_PER_CONVERSATION - 1) * 5_000),
      createdAt: created,
      updatedAt: created,
    });
    for (let k = 0; k < TAGS_PER_CONVERSATION; k++) {
      links.push({ tenantId, conversationId, tagId: tags[(i + k * 3) % TAGS]!.id, createdAt: at(i * 60_000 + k * 1_000) });
    }
    for (let k = 0; k < MESSAGES_PER_CONVERSATION; k++) {
      messages.push({
        id: randomUUID(),
        tenantId,
        conversationId,
        role: k % 2 === 0 ? "USER" : "ASSISTANT",
        content:
          k % 2 === 0
            ? `Message ${k + 1} from customer ${i}: could I book a session next week, preferably in the morning?`
            : `Message ${k + 1} to customer ${i}: of course, Tuesday at 10:00 is free. Shall I book it for you?`,
        createdAt: at(i * 60_000 + k * 5_000),
      });
    }
  }

  const ts = "timestamp(3)";
  await insertMany(client, "Agent", [["id", "uuid"], ["tenantId", "uuid"], ["number", "int"], ["publicId", "text"], ["name", "text"], ["status", '"AgentStatus"'], ["systemPrompt", "text"], ["modelProvider", "text"], ["modelName", "text"], ["createdAt", ts], ["updatedAt", ts]], agents);
  await insertMany(client, "Channel", [["id", "uuid"], ["tenantId", "uuid"], ["type", '"ChannelType"'], ["name", "text"], ["agentId", "uuid"], ["createdAt", ts], ["updatedAt", ts]], channels);
  await insertMany(client, "Tag", [["id", "uuid"], ["tenantId", "uuid"], ["name", "text"], ["color", "text"], ["createdAt", ts]], tags);
  await insertMany(client, "Contact", [["id", "uuid"], ["tenantId", "uuid"], ["firstName", "text"], ["lastName", "text"], ["email", "text"], ["phone", "text"], ["language", "text"], ["tags", "text[]", "'{}'::text[]"], ["createdAt", ts], ["updatedAt", ts]], contacts);
  await insertMany(client, "Conversation", [["id", "uuid"], ["tenantId", "uuid"], ["number", "int"], ["channelType", '"ChannelType"'], ["channelId", "uuid"], ["agentId", "uuid"], ["contactId", "uuid"], ["customerIdentifier", "text"], ["customerName", "text"], ["customerLanguage", "text"], ["status", '"ConversationStatus"'], ["firstMessageAt", ts], ["lastMessageAt", ts], ["createdAt", ts], ["updatedAt", ts]], convs);
  await insertMany(client, "ConversationTag", [["tenantId", "uuid"], ["conversationId", "uuid"], ["tagId", "uuid"], ["createdAt", ts]], links);
  await insertMany(client, "Message", [["id", "uuid"], ["tenantId", "uuid"], ["conversationId", "uuid"], ["role", '"MessageRole"'], ["content", "text"], ["createdAt", ts]], messages);
  await db.prisma.tenant.update({
    where: { id: tenantId },
    data: { lastAgentNumber: agents.length, lastConversationNumber: convs.length },
  });
  const { secret } = await issueToken(db.prisma, { tenantId, name: "bench", format: "CONVO", scopes: [...DATA_SCOPES] });
  return { id: tenantId, token: secret };
}

// ---------------------------------------------------------------------------------------
// Load: autocannon in a child process (bench/load.ts), one run per call.




/**
 * Waits until a side is quiet: no request in flight and no SQL statement sent for 250 ms,
 * so that the handlers of requests abandoned at the end of a run have sent their SQL
 * before the counters are read (or the pools closed).
 */
async function settle(side: Side, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = -1;
  for (;;) {
    const count = side.sqlStatementCount();
    if (side.tracker.inFlight === 0 && count === last) return;
    if (Date.now() > deadline) throw new Error(`${side.label}: still busy ${timeoutMs} ms after the run`);
    last = count;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

interface Side {
  label: string;
  url: string;
  tracker: ReturnType<typeof trackRequests>;
  sqlStatementCount(): number;
}

interface Measurement {
  result: autocannon.Result;
  served: number;
  statements: number;
}

async function measure(side: Side, token: string, expectBody: string): Promise<Measurement> {
  const base: autocannon.Options = {
    url: side.url,
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: QUERY }),
    connections: settings.connections,
    pipelining: 1,
    timeout: 10,
  };
  if (settings.warmupSeconds > 0) {
    process.stdout.write(`  ${side.label}: warm-up ${settings.warmupSeconds} s ... `);
    const warm = await runAutocannon({ ...base, duration: settings.warmupSeconds, expectBody });
    process.stdout.write(`${warm.requests.total} requests\n`);
    await settle(side);
  }
  process.stdout.write(`  ${side.label}: ${settings.seconds} s at ${settings.connections} connections ... `);
  const servedBefore = side.tracker.done;
  const statementsBefore = side.sqlStatementCount();
  const result = await runAutocannon({ ...base, duration: settings.seconds, expectBody });
  await settle(side);
  const served = side.tracker.done - servedBefore;
  const statements = side.sqlStatementCount() - statementsBefore;
  process.stdout.write(`${result.requests.total} requests\n`);
  return { result, served, statements };
}

// ---------------------------------------------------------------------------------------
// Verification before the runs.

interface PageBody {
  data?: {
    conversations?: {
      totalCount: number;
      edges: { node: { id: string; contact: unknown; agent: unknown; channel: unknown; tags: unknown[]; lastMessages: unknown[] } }[];
    };
  } | null;
  errors?: unknown[];
}

async function fetchPage(url: string, token: string): Promise<{ status: number; text: string }> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: QUERY }),
  });
  return { status: response.status, text: await response.text() };
}

function checkPage(label: string, status: number, text: string, totalCount: number): void {
  const fail = (why: string): never => {
    throw new Error(`${label}: ${why}\n${text.slice(0, 2000)}`);
  };
  if (status !== 200) fail(`HTTP ${status}`);
  const body = JSON.parse(text) as PageBody;
  if (body.errors?.length) fail("response has errors");
  const page = body.data?.conversations ?? fail("no data.conversations");
  if (page.edges.length !== PAGE_SIZE) fail(`${page.edges.length} edges, expected ${PAGE_SIZE}`);
  if (page.totalCount !== totalCount) fail(`totalCount ${page.totalCount}, expected ${totalCount} (tenant filter?)`);
  for (const { node } of page.edges) {
    if (!node.contact || !node.agent || !node.channel) fail(`${node.id} lacks its contact, agent or channel`);
    if (node.tags.length !== TAGS_PER_CONVERSATION) fail(`${node.id} has ${node.tags.length} tags`);
    if (node.lastMessages.length !== LAST_MESSAGES) fail(`${node.id} has ${node.lastMessages.length} last messages`);
  }
}

// ---------------------------------------------------------------------------------------
// Report.



function failures(m: Measurement): number {
  return m.result.errors + m.result.timeouts + m.result.non2xx + m.result.mismatches;
}

async function serverVersion(databaseUrl: string): Promise<string> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ server_version: string }>("SHOW server_version");
    return rows[0]?.server_version ?? "?";
  } finally {
    await client.end();
  }
}

// ---------------------------------------------------------------------------------------



async function main(): Promise<number> {
  const database = benchDatabase();
  const cleanup: (() => Promise<void>)[] = [];
  const sides: Side[] = [];
  // An interrupt stops the load and lets the finally below wind down in order (the main
  // flow checks for it between steps); a second one drops the schema and exits at once.
  const onSignal = () => {
    if (interrupt()) {
      void database
        .drop()
        .catch((error: unknown) => console.error("dropping the bench schema:", error))
        .finally(() => process.exit(130));
      return;
    }
    console.error("\ninterrupted: stopping, then dropping the bench schema");
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  try {
    const cpus = os.cpus();
    const baseUrl = new URL(database.databaseUrl);
    baseUrl.searchParams.delete("schema");
    console.log("Engagement Graph benchmark: nested conversations page, GraphQL vs hand-written SQL");
    console.log(
      `machine: node ${process.version}, ${os.platform()} ${os.release()} ${os.arch()}, ${cpus.length} CPUs (${cpus[0]?.model.trim() ?? "?"}), ` +
        `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, load average ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}, ` +
        `PostgreSQL ${await serverVersion(baseUrl.toString())} at ${baseUrl.host}` +
        (/^(127\.|localhost|\[::1\])/.test(baseUrl.hostname) ? " (local: it shares these CPUs)" : ""),
    );
    console.log(
      `settings: ${settings.seconds} s per side after ${settings.warmupSeconds} s warm-up, ${settings.connections} connections, ` +
        `${settings.conversations} conversations per tenant x 2 tenants, schema ${database.schema}`,
    );

    let t = Date.now();
    const db = await openDatabase({ databaseUrl: database.databaseUrl, dataDir: "" });
    cleanup.push(() => db.close());
    console.log(`migrated in ${Date.now() - t} ms`);
    checkpoint();

    t = Date.now();
    const seeder = new pg.Client(connectionConfig(database.databaseUrl));
    await seeder.connect();
    let tenant: SeededTenant;
    try {
      tenant = await seedTenant(db, seeder, "Bench Tenant A", settings.conversations, 0);
      checkpoint();
      await seedTenant(db, seeder, "Bench Tenant B", settings.conversations, 30_000);
      checkpoint();
      await seeder.query("VACUUM (ANALYZE)"); // statistics and visibility map, as on a settled database
    } finally {
      await seeder.end();
    }
    const messageCount = settings.conversations * 2 * MESSAGES_PER_CONVERSATION;
    console.log(`seeded ${settings.conversations * 2} conversations, ${messageCount} messages in ${Date.now() - t} ms`);

    // Without rate limits: this measures the query path (bench/rate-limits.ts measures the limits).
    const app: App = createApp(db, loadConfig({ ...BENCH_ENV, RATE_LIMITS: "off" }));
    const graphqlPort = await app.listen(0, HOST);
    cleanup.unshift(() => app.close());
    const baseline: BaselineServer = createBaselineServer({
      databaseUrl: database.databaseUrl,
      poolSize: 10,
      pageSize: PAGE_SIZE,
      lastMessages: LAST_MESSAGES,
    });
    const baselinePort = await baseline.listen(0, HOST);
    cleanup.unshift(() => baseline.close());

    const graphql: Side = {
      label: "GraphQL",
      url: `http://${HOST}:${graphqlPort}/graphql`,
      tracker: trackRequests(app.server),
      sqlStatementCount: () => db.sqlStatementCount(),
    };
    const handWritten: Side = {
      label: "hand-written SQL",
      url: `http://${HOST}:${baselinePort}/graphql`,
      tracker: trackRequests(baseline.server),
      sqlStatementCount: () => baseline.sqlStatementCount(),
    };
    sides.push(graphql, handWritten);

    // Both sides must answer with the same bytes; every response of the runs is compared to them.
    const fromGraphql = await fetchPage(graphql.url, tenant.token);
    checkPage("GraphQL", fromGraphql.status, fromGraphql.text, settings.conversations);
    const fromBaseline = await fetchPage(handWritten.url, tenant.token);
    checkPage("hand-written SQL", fromBaseline.status, fromBaseline.text, settings.conversations);
    if (fromBaseline.text !== fromGraphql.text) {
      let at = 0;
      while (fromBaseline.text[at] === fromGraphql.text[at]) at += 1;
      throw new Error(
        `the baseline's response differs from the GraphQL response at character ${at}:\n` +
          `  GraphQL:  ...${fromGraphql.text.slice(Math.max(0, at - 80), at + 80)}\n` +
          `  baseline: ...${fromBaseline.text.slice(Math.max(0, at - 80), at + 80)}`,
      );
    }
    console.log(`verified: ${PAGE_SIZE} edges, no errors, identical ${fromGraphql.text.length}-byte responses from both sides`);

    const g = await measure(graphql, tenant.token, fromGraphql.text);
    const b = await measure(handWritten, tenant.token, fromGraphql.text);

    const rps = (m: Measurement) => m.result.requests.average;
    const perRequest = (m: Measurement) => m.statements / m.served;
    console.log("");
    printTable([
      ["", "GraphQL", "hand-written SQL", "GraphQL / SQL"],
      ["requests/s (mean)", fmt(rps(g)), fmt(rps(b)), fmt(rps(g) / rps(b), 2)],
      ["latency mean (ms)", fmt(g.result.latency.mean, 2), fmt(b.result.latency.mean, 2), fmt(g.result.latency.mean / b.result.latency.mean, 2)],
      ["latency p50 (ms)", fmt(g.result.latency.p50), fmt(b.result.latency.p50), fmt(g.result.latency.p50 / b.result.latency.p50, 2)],
      ["latency p99 (ms)", fmt(g.result.latency.p99), fmt(b.result.latency.p99), fmt(g.result.latency.p99 / b.result.latency.p99, 2)],
      ["SQL statements/request", fmt(perRequest(g), 2), fmt(perRequest(b), 2), fmt(perRequest(g) / perRequest(b), 2)],
      ["requests completed", String(g.result.requests.total), String(b.result.requests.total), ""],
      ["non-2xx", String(g.result.non2xx), String(b.result.non2xx), ""],
      ["errors / timeouts / body mismatches", `${g.result.errors} / ${g.result.timeouts} / ${g.result.mismatches}`, `${b.result.errors} / ${b.result.timeouts} / ${b.result.mismatches}`, ""],
    ]);
    console.log(
      `\nthroughput ratio (GraphQL / SQL): ${fmt(rps(g) / rps(b), 2)}x   p99 ratio (GraphQL / SQL): ${fmt(g.result.latency.p99 / b.result.latency.p99, 2)}x`,
    );
    console.log(
      "SQL statements/request = statements sent during the run / responses the server finished " +
        `(GraphQL ${g.statements}/${g.served}, SQL ${b.statements}/${b.served}); both include the token lookup.`,
    );

    const bad = [g, b].filter((m) => failures(m) > 0 || m.result.requests.total === 0);
    if (bad.length > 0) {
      console.error("\nFAILED: a side had errors, timeouts, non-2xx responses, unexpected bodies, or no requests at all");
      return 1;
    }
    return 0;
  } finally {
    for (const side of sides) await settle(side).catch((error: unknown) => console.error("cleanup:", error));
    for (const step of cleanup) await step().catch((error: unknown) => console.error("cleanup:", error));
    await database.drop().catch((error: unknown) => console.error("dropping the bench schema:", error));
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

exitWith(main);
