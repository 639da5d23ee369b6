// The service under test for `npm run bench:live`, in a process of its own, started the way
// src/main.ts starts it: loadConfig(process.env), openDatabase, a seeded tenant, createApp,
// listen. The parent (bench/subscriptions.ts) sets the environment (DATABASE_URL with a
// fresh ?schema= or DATA_DIR=memory://, REDIS_URL, MAX_CONNECTIONS_PER_TOKEN, ...) and
// talks to it over IPC: where it listens, its memory after a forced GC, CPU time, counters.
import { randomBytes, randomUUID } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { Session } from "node:inspector/promises";
import { DATA_SCOPES, type Scope } from "../src/auth/scopes.js";
import { issueToken } from "../src/auth/viewer.js";
import { loadConfig } from "../src/config.js";
import { openDatabase } from "../src/db/client.js";
import type { ConversationStatus } from "../src/generated/prisma/enums.js";
import { encodeId } from "../src/graphql/ids.js";
import { BENCH_ENV } from "./common.js";
import { createApp } from "../src/http/server.js";
import { writeHeapSnapshot } from "node:v8";
import { gcClock, loopDelayClock, memorySnapshot, type ServerInfo } from "./subscriptions-memory.js";
import { serve } from "./subscriptions-ipc.js";

const config = loadConfig({ ...BENCH_ENV, ...process.env });

/**
 * openDatabase already retries a migration that waits for PostgreSQL's migration advisory
 * lock (one per server), for about 40 s; on a PostgreSQL that other processes keep migrating
 * (test runs), keep waiting a while longer.
 */
async function open() {
  for (let attempt = 1; ; attempt++) {
    try {
      return await openDatabase(config);
    } catch (error) {
      if (attempt >= 5 || !String((error as Error).message).includes("advisory lock")) throw error;
      console.error(`  (the PostgreSQL migration lock is busy, another process is migrating: retry ${attempt} of 4)`);
    }
  }
}

const db = await open();
const app = createApp(db, config);
const gcMs = gcClock();
const loopDelay = loopDelayClock();

/** One tenant with an inbox: agent, channel, tags, conversations with a contact, two tags and a few messages each. */
async function seed(conversations: number) {
  const prisma = db.prisma;
  const tenant = await prisma.tenant.create({ data: { name: "Live Bench", slug: `live-bench-${randomBytes(4).toString("hex")}` } });
  const tenantId = tenant.id;
  const agent = await prisma.agent.create({
    data: { tenantId, number: 1, publicId: "live_bench_Agent_1", name: "Front desk", status: "PUBLISHED", systemPrompt: "You are a helpful assistant." },
  });
  const channel = await prisma.channel.create({ data: { tenantId, type: "WHATSAPP", name: "Studio WhatsApp", agentId: agent.id } });
  const tags = Array.from({ length: 6 }, (_, i) => ({ id: randomUUID(), tenantId, name: ["vip", "booking", "pricing", "follow-up", "new", "complaint"][i]!, color: "#3366ff" }));
  await prisma.tag.createMany({ data: tags });
  const start = Date.now() - 3_600_000;
  const contacts = [];
  const convs = [];
  const links = [];
  const messages = [];
  const statuses: ConversationStatus[] = ["OPEN", "HANDED_OFF"];
  for (let i = 0; i < conversations; i++) {
    const contactId = randomUUID();
    const id = randomUUID();
    const first = new Date(start + i * 1_000);
    contacts.push({ id: contactId, tenantId, firstName: `Customer${i}`, lastName: `Family${i}`, email: `customer${i}@example.com`, language: "en" });
    convs.push({
      id,
      tenantId,
      number: i + 1,
      channelType: "WHATSAPP" as const,
      channelId: channel.id,
      agentId: agent.id,
      contactId,
      customerIdentifier: `+1555${String(i).padStart(7, "0")}`,
      customerName: `Customer${i} Family${i}`,
      customerLanguage: "en",
      status: statuses[i % statuses.length]!,
      firstMessageAt: first,
      lastMessageAt: new Date(first.getTime() + 4 * 5_000),
    });
    links.push({ tenantId, conversationId: id, tagId: tags[i % tags.length]!.id }, { tenantId, conversationId: id, tagId: tags[(i + 3) % tags.length]!.id });
    for (let k = 0; k < 5; k++) {
      messages.push({
        tenantId,
        conversationId: id,
        role: k % 2 === 0 ? ("USER" as const) : ("ASSISTANT" as const),
        content:
          k % 2 === 0
            ? `Message ${k + 1} from customer ${i}: could I book a session next week, preferably in the morning?`
            : `Message ${k + 1} to customer ${i}: of course, Tuesday at 10:00 is free. Shall I book it for you?`,
        createdAt: new Date(first.getTime() + k * 5_000),
      });
    }
  }
  await prisma.contact.createMany({ data: contacts });
  await prisma.conversation.createMany({ data: convs });
  await prisma.conversationTag.createMany({ data: links });
  await prisma.message.createMany({ data: messages });
  await prisma.tenant.update({ where: { id: tenantId }, data: { lastAgentNumber: 1, lastConversationNumber: conversations } });
  const token = async (name: string, scopes: Scope[]) => (await issueToken(prisma, { tenantId, name, format: "CONVO", scopes })).secret;
  return {
    // The inbox's token: what an operator's browser tab would hold. One token for every
    // subscriber, hence MAX_CONNECTIONS_PER_TOKEN raised by the parent.
    subscriberToken: await token("inbox", ["conversations:read", "contacts:read"]),
    writerToken: await token("writer", [...DATA_SCOPES]),
    conversationIds: convs.map((conversation) => encodeId("Conversation", conversation.id)),
  };
}

let profiler: Session | undefined;

serve({
  async start({ conversations }: { conversations: number }): Promise<ServerInfo> {
    const seeded = await seed(conversations);
    const port = await app.listen(0, "127.0.0.1");
    return { port, ...seeded, pid: process.pid, gc: typeof globalThis.gc === "function", database: db.kind, bus: config.redisUrl ? "redis" : "in-process" };
  },
  memory: () => memorySnapshot({ streams: app.live.stats().streams, connections: app.live.stats().connections }),
  /** Event-loop delay since the previous call. */
  loopDelay: () => loopDelay(),
  counters: () => ({ cpu: process.cpuUsage(), gcMs: gcMs(), statements: db.sqlStatementCount(), stats: app.live.stats(), maxRssKiB: process.resourceUsage().maxRSS }),
  /** A heap snapshot (--heap-snapshot in the parent), after a full GC. */
  heapSnapshot({ file }: { file: string }) {
    (globalThis as { gc?: () => void }).gc?.();
    return writeHeapSnapshot(file);
  },
  // A CPU profile of one stretch of the run (--cpu-prof in the parent): the burst phase.
  async profileStart() {
    profiler ??= new Session();
    profiler.connect();
    await profiler.post("Profiler.enable");
    await profiler.post("Profiler.setSamplingInterval", { interval: 200 });
    await profiler.post("Profiler.start");
  },
  async profileStop({ file }: { file: string }) {
    if (!profiler) throw new Error("no profile was started");
    const { profile } = await profiler.post("Profiler.stop");
    await writeFile(file, JSON.stringify(profile));
    profiler.disconnect();
    profiler = undefined;
    return file;
  },
  async close() {
    await app.close();
    await db.close();
    setImmediate(() => process.exit(0));
  },
});
