// No N+1: an inbox page with every relation a frontend shows costs the same number of SQL
// statements whether it has 1 or 50 conversations.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, expect, test } from "vitest";
import { startTestServer, type TestServer, type TestTenant } from "./harness.js";

let server: TestServer;
let tenant: TestTenant;
let token: string;

const CONVERSATIONS = 60;
const MESSAGES_PER_CONVERSATION = 5;
const PAGE_SIZES = [1, 5, 20, 50];

interface Expected {
  id: string;
  contact: { firstName: string; email: string };
  agent: { name: string };
  channel: { name: string };
  tags: { name: string }[];
  messages: { role: string; content: string }[];
}
/** Newest conversation first, as the API orders them. */
const expected: Expected[] = [];

beforeAll(async () => {
  server = await startTestServer();
  tenant = await server.createTenant("Inbox");
  const p = server.db.prisma;
  const tenantId = tenant.id;
  const base = Date.UTC(2030, 0, 1);
  const tags = Array.from({ length: 4 }, (_, i) => ({ id: randomUUID(), tenantId, name: `tag-${i}`, createdAt: new Date(base) }));
  await p.tag.createMany({ data: tags });
  const agents = [];
  const channels = [];
  const contacts = [];
  const conversations = [];
  const links: { tenantId: string; conversationId: string; tagId: string; createdAt: Date }[] = [];
  const messages = [];
  for (let i = 0; i < CONVERSATIONS; i += 1) {
    const agent = { id: randomUUID(), tenantId, number: i + 1, name: `Agent ${i}`, publicId: `agent_${i}` };
    const channel = { id: randomUUID(), tenantId, type: "WHATSAPP" as const, name: `Channel ${i}`, agentId: agent.id };
    const contact = { id: randomUUID(), tenantId, firstName: `First${i}`, email: `c${i}@example.com` };
    const createdAt = new Date(base + i * 60_000);
    const conversation = {
      id: randomUUID(),
      tenantId,
      number: i + 1,
      channelType: "WHATSAPP" as const,
      channelId: channel.id,
      agentId: agent.id,
      contactId: contact.id,
      customerIdentifier: `+1555${String(i).padStart(6, "0")}`,
      createdAt,
    };
    // Two tags each, linked in a known order (the API lists a conversation's tags in link order).
    const tagPair = [tags[i % 4]!, tags[(i + 1) % 4]!];
    tagPair.forEach((tag, k) =>
      links.push({ tenantId, conversationId: conversation.id, tagId: tag.id, createdAt: new Date(createdAt.getTime() + k * 1000) }),
    );
    const convMessages = Array.from({ length: MESSAGES_PER_CONVERSATION }, (_, m) => ({
      id: randomUUID(),
      tenantId,
      conversationId: conversation.id,
      role: m % 2 === 0 ? ("USER" as const) : ("ASSISTANT" as const),
      content: `conversation ${i} message ${m}`,
      createdAt: new Date(createdAt.getTime() + (m + 1) * 1000),
    }));
    // Inserted out of order, so an ordering bug cannot hide behind insertion order.
    messages.push(...[...convMessages].reverse());
    agents.push(agent);
    channels.push(channel);
    contacts.push(contact);
    conversations.push(conversation);
    expected.unshift({
      id: `conv_${conversation.id}`,
      contact: { firstName: contact.firstName, email: contact.email },
      agent: { name: agent.name },
      channel: { name: channel.name },
      tags: tagPair.map((tag) => ({ name: tag.name })),
      messages: convMessages.map(({ role, content }) => ({ role, content })),
    });
  }
  await p.agent.createMany({ data: agents });
  await p.channel.createMany({ data: channels });
  await p.contact.createMany({ data: contacts });
  await p.conversation.createMany({ data: conversations });
  await p.conversationTag.createMany({ data: links });
  await p.message.createMany({ data: messages });
  token = await tenant.tokenWith(["conversations:read", "contacts:read", "agents:read", "channels:read"]);
});
afterAll(() => server?.close());

const INBOX = `query Inbox($first: Int!) {
  conversations(first: $first) {
    totalCount
    edges { node {
      id
      contact { firstName email }
      agent { name }
      channel { name }
      tags { name }
      lastMessages(count: 3) { role content }
      messages(first: 2) { totalCount edges { node { content } } }
    } }
  }
}`;

async function measure(first: number) {
  // lastUsedAt is rewritten at most once a minute: a request just before keeps that write
  // out of the measured one, however slow the machine.
  await server.gql(`{ viewer { scopes } }`, {}, token);
  const before = server.db.sqlStatementCount();
  const result = await server.gql(INBOX, { first }, token);
  const statements = server.db.sqlStatementCount() - before;
  return { result, statements };
}

test("an inbox page costs the same number of SQL statements for 1, 5, 20 and 50 conversations", async () => {
  const counts: Record<number, number> = {};
  for (const first of PAGE_SIZES) {
    const { result, statements } = await measure(first);
    expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
    expect(result.data?.conversations.edges).toHaveLength(first);
    counts[first] = statements;
  }
  console.log(
    `SQL statements per inbox request (${server.db.kind}): ${PAGE_SIZES.map((first) => `first: ${first} → ${counts[first]}`).join(", ")}`,
  );
  const distinct = new Set(Object.values(counts));
  expect(distinct.size, `statements per page size: ${JSON.stringify(counts)}`).toBe(1);
  // Sanity: the counter sees the request at all (auth, the page, its relations).
  expect(counts[1]).toBeGreaterThanOrEqual(2);
});

test("the same request repeated costs the same (the count is not warm-up noise)", async () => {
  const first = await measure(20);
  const second = await measure(20);
  expect(second.statements).toBe(first.statements);
});

test("the inbox page carries the right data", async () => {
  const { result } = await measure(50);
  expect(result.errors).toBeUndefined();
  const page = result.data!.conversations;
  expect(page.totalCount).toBe(CONVERSATIONS);
  expect(page.edges).toHaveLength(50);
  page.edges.forEach((edge: any, index: number) => {
    const want = expected[index]!;
    const node = edge.node;
    expect(node.id).toBe(want.id);
    expect(node.contact).toEqual(want.contact);
    expect(node.agent).toEqual(want.agent);
    expect(node.channel).toEqual(want.channel);
    expect(node.tags).toEqual(want.tags);
    // The last three, oldest first.
    expect(node.lastMessages).toEqual(want.messages.slice(-3));
    // The transcript's first two, oldest first, and its full size.
    expect(node.messages.totalCount).toBe(MESSAGES_PER_CONVERSATION);
    expect(node.messages.edges.map((e: any) => e.node.content)).toEqual(want.messages.slice(0, 2).map((m) => m.content));
  });
});
