// The Velents Agent.sa REST dialect (src/rest/dialects/velents-agent.ts) and the GraphQL
// dispatch mutations behind it (src/graphql/types/dispatch.ts), on a real server: Dispatch and
// Batch end to end, the conflict, skip and reopen rules, the webhook stored but never readable,
// Laravel error bodies, abilities, agents and tenants kept apart, the agent configuration, and
// the same conversations seen through GraphQL and a live subscription.
import { createClient } from "graphql-ws";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import WebSocket from "ws";
import type { Scope } from "../src/auth/scopes.js";
import { TOKEN_FORMATS } from "../src/auth/tokens.js";
import { issueToken } from "../src/auth/viewer.js";
import { seedTenant, snapshot, type Seed } from "./fixtures.js";
import { expectError, waitUntil, type TestServer } from "./harness.js";
import { restRequest, startRestTestServer, type OpenApiOracle, type Reply } from "./openapi-oracle.js";

let server: TestServer;
let origin: string;
let oracle: OpenApiOracle;

beforeAll(async () => {
  ({ server, origin, oracle } = await startRestTestServer(["velents-agent"]));
});
afterAll(() => server?.close());

const DISPATCH = "/Integration/Agent/Dispatch";
const BATCH = "/Integration/Agent/Batch";
const AGENT = "/Integration/Agent";
const DISPATCHER: Scope[] = ["conversations:write", "conversations:read", "agents:read"];
const SECRET = "Bearer s3cr3t-webhook-value";
const WEBHOOK = { link: "https://crm.example.com/hooks/agentsa", body: { call_id: "c-1" }, headers: { "x-velents-authorization": SECRET } };

const call = (method: string, path: string, token: string | null, body?: unknown) => restRequest(origin, method, path, token, body);

/** Calls a route and checks the answer against the served OpenAPI document. */
async function documented(method: string, path: string, token: string | null, body?: unknown): Promise<Reply> {
  const reply = await call(method, path, token, body);
  oracle.expectDocumented("velents-agent", method, path, reply.status, reply.body);
  return reply;
}

/** A VELENTS_AGENT token bound to an agent of the seed's tenant (its own agent unless given). */
async function agentToken(seed: Seed, scopes: Scope[] = DISPATCHER, agentId = seed.raw.agent.id): Promise<string> {
  return (await issueToken(server.db.prisma, { tenantId: seed.tenant.id, name: "agent.sa", format: "VELENTS_AGENT", scopes, agentId })).secret;
}

const conversationAt = (seed: Seed, customerIdentifier: string, channelType: "WHATSAPP" | "VOICE" = "VOICE") =>
  server.db.prisma.conversation.findUnique({ where: { tenantId_channelType_customerIdentifier: { tenantId: seed.tenant.id, channelType, customerIdentifier } } });

/** A CLOSED conversation at this phone with one message in its history. */
async function closedConversation(seed: Seed, phone: string, channelType: "WHATSAPP" | "VOICE" = "VOICE") {
  const endpoint = await server.db.prisma.webhookEndpoint.create({ data: { tenantId: seed.tenant.id, dialect: "VELENTS_AGENT", url: "https://old.example.com", events: [] } });
  const row = await server.db.prisma.conversation.create({
    data: {
      tenantId: seed.tenant.id,
      number: 800 + Math.floor(Math.random() * 99),
      channelType,
      customerIdentifier: phone,
      status: "CLOSED",
      inputValues: { order_id: "old" },
      extractedValues: { customer_name: "old run" },
      webhookEndpointId: endpoint.id,
    },
  });
  await server.db.prisma.message.create({ data: { tenantId: seed.tenant.id, conversationId: row.id, role: "USER", content: "From the first run" } });
  return row;
}

/** The `conversationEvents` a token receives over graphql-ws, in order (outbound-messages.test.ts). */
function conversationEvents<T>(token: string, selection: string) {
  const events: T[] = [];
  const client = createClient({ url: server.url.replace(/^http/, "ws"), webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${token}` }, retryAttempts: 0 });
  client.subscribe<{ conversationEvents: T }>(
    { query: `subscription { conversationEvents ${selection} }` },
    { next: ({ data }) => void (data && events.push(data.conversationEvents)), error: () => {}, complete: () => {} },
  );
  return { events, dispose: () => client.dispose() };
}

describe("POST /Integration/Agent/Dispatch", () => {
  test("201: the conversation is stored OPEN for the token's agent, numbered, with its values and webhook", async () => {
    const seed = await seedTenant(server, "Dispatch");
    const token = await agentToken(seed);
    const reply = await documented("POST", DISPATCH, token, {
      channel_id: 3,
      phone: "+20 114-580-3442",
      values: { company_name: "acme", order_id: "1212" },
      webhook: WEBHOOK,
      ignored: "unknown fields are ignored",
    });
    expect(reply.status, JSON.stringify(reply.body)).toBe(201);
    const row = await conversationAt(seed, "+201145803442");
    expect(row).toMatchObject({
      status: "OPEN",
      channelType: "VOICE",
      agentId: seed.raw.agent.id,
      customerIdentifier: "+201145803442",
      inputValues: { company_name: "acme", order_id: "1212" },
      extractedValues: {},
      batchId: null,
    });
    // The webhook is an endpoint of its own: its link and body as given, its headers sealed.
    const endpoint = await server.db.prisma.webhookEndpoint.findUniqueOrThrow({ where: { id: row!.webhookEndpointId! } });
    expect(endpoint).toMatchObject({ tenantId: seed.tenant.id, dialect: "VELENTS_AGENT", url: WEBHOOK.link, extraBody: WEBHOOK.body, secretCiphertext: null });
    expect(endpoint.headersCiphertext).toMatch(/^v1\./);
    expect(endpoint.headersCiphertext).not.toContain("s3cr3t");
    expect(reply.body).toEqual({
      data: {
        id: row!.number,
        phone: "+201145803442",
        channel_id: 3,
        values: { company_name: "acme", order_id: "1212" },
        status: "open",
        created_at: row!.createdAt.toISOString().slice(0, 19).replace("T", " "),
      },
    });
    // Numbers come from the tenant's counter: the first conversation the API creates is 1.
    expect(row!.number).toBe(1);
    // Nothing but the response says "1 = WhatsApp": it creates a WHATSAPP conversation.
    const whatsapp = await documented("POST", DISPATCH, token, { channel_id: 1, phone: "+201145803442" });
    expect(whatsapp.status).toBe(201);
    expect(whatsapp.body.data).toMatchObject({ id: 2, channel_id: 1, values: {} });
    expect(await conversationAt(seed, "+201145803442", "WHATSAPP")).toMatchObject({ number: 2, webhookEndpointId: null, agentId: seed.raw.agent.id });
  });

  test("the webhook is never readable: not through REST, not through any GraphQL field; hasWebhook says it is there", async () => {
    const seed = await seedTenant(server, "Secret webhook");
    const reply = await documented("POST", DISPATCH, await agentToken(seed), { channel_id: 3, phone: "+48500100200", webhook: WEBHOOK });
    expect(reply.status).toBe(201);
    expect(JSON.stringify(reply.body)).not.toContain("s3cr3t");
    expect(JSON.stringify(reply.body)).not.toContain("crm.example.com");

    // Every field of Conversation whose value is a leaf (or JSON), read by the admin token.
    const type = await server.ok(seed.tenant, `{ __type(name: "Conversation") { fields { name args { name } type { kind ofType { kind ofType { kind ofType { kind } } } } } } }`);
    const fields: any[] = type.__type.fields;
    expect(fields.map((field) => field.name)).not.toContain("webhook");
    const leaf = (t: any): boolean => (t.kind === "NON_NULL" || t.kind === "LIST" ? leaf(t.ofType) : t.kind === "SCALAR" || t.kind === "ENUM");
    expect(leaf(fields.find((field) => field.name === "inputValues").type)).toBe(true);
    const selection = fields.filter((field) => field.args.length === 0 && leaf(field.type)).map((field) => field.name).join(" ");
    const row = await conversationAt(seed, "+48500100200");
    const data = await server.ok(seed.tenant, `query($id: ID!) { node(id: $id) { ... on Conversation { ${selection} } } }`, { id: `conv_${row!.id}` });
    expect(data.node.hasWebhook).toBe(true);
    expect(data.node.inputValues).toEqual({});
    const text = JSON.stringify(data);
    expect(text).not.toContain("s3cr3t");
    expect(text).not.toContain("crm.example.com");
    const without = await server.ok(seed.tenant, `query($id: ID!) { node(id: $id) { ... on Conversation { hasWebhook } } }`, { id: seed.id.conversation });
    expect(without.node.hasWebhook).toBe(false);
  });

  test("409 while the phone's conversation on that channel is OPEN or HANDED_OFF, however the phone is written; nothing written", async () => {
    const seed = await seedTenant(server, "Conflict");
    const token = await agentToken(seed);
    // The seed's OPEN WhatsApp conversation is at +48111222333.
    let before = await snapshot(server, seed.tenant.id);
    const open = await documented("POST", DISPATCH, token, { channel_id: 1, phone: "+48 (111) 222.333", values: { a: 1 } });
    expect(open.status).toBe(409);
    // In words, not GraphQL's enum values: Agent.sa's vocabulary is not the schema's.
    expect(open.body).toEqual({ message: "The conversation with +48111222333 on this channel is still in progress: dispatch again once it has ended" });
    expect(await snapshot(server, seed.tenant.id)).toEqual(before);
    await server.db.prisma.conversation.update({ where: { id: seed.raw.conversation.id }, data: { status: "HANDED_OFF" } });
    before = await snapshot(server, seed.tenant.id);
    const handedOff = await documented("POST", DISPATCH, token, { channel_id: 1, phone: "+48111222333" });
    expect(handedOff.status).toBe(409);
    expect(handedOff.body.message).toContain("still in progress");
    expect(await snapshot(server, seed.tenant.id)).toEqual(before);
    // The same phone on the other channel is another conversation.
    expect((await documented("POST", DISPATCH, token, { channel_id: 3, phone: "+48111222333" })).status).toBe(201);
  });

  test("a CLOSED conversation is reopened: same id, this agent, values and webhook, extraction emptied, history kept, UPDATED live", async () => {
    const seed = await seedTenant(server, "Reopen");
    const closed = await closedConversation(seed, "+971500000001");
    const live = conversationEvents<{ type: string; conversation: { id: string; status: string; hasWebhook: boolean } }>(
      seed.tenant.token,
      "{ type conversation { id status hasWebhook } }",
    );
    try {
      await waitUntil(() => server.app.live.stats().streams >= 1, () => "the subscription to start");
      const reply = await documented("POST", DISPATCH, await agentToken(seed), { channel_id: 3, phone: "+971 50 000 0001", values: { order_id: "new" } });
      expect(reply.status, JSON.stringify(reply.body)).toBe(201);
      expect(reply.body.data).toMatchObject({ id: closed.number, status: "open", values: { order_id: "new" } });
      const row = await server.db.prisma.conversation.findUniqueOrThrow({ where: { id: closed.id }, include: { messages: true } });
      expect(row).toMatchObject({ status: "OPEN", agentId: seed.raw.agent.id, inputValues: { order_id: "new" }, extractedValues: {}, webhookEndpointId: null });
      expect(row.messages.map((message) => message.content)).toEqual(["From the first run"]);
      await waitUntil(() => live.events.length >= 1, () => `UPDATED; have ${JSON.stringify(live.events)}`);
      expect(live.events).toEqual([{ type: "UPDATED", conversation: { id: `conv_${closed.id}`, status: "OPEN", hasWebhook: false } }]);
    } finally {
      await live.dispose();
    }
  });

  test("422 in Laravel's shape, naming the body's own fields; nothing written", async () => {
    const seed = await seedTenant(server, "Invalid");
    const token = await agentToken(seed);
    const cases: [unknown, string][] = [
      [{ channel_id: 2, phone: "+48500000001" }, "channel_id"],
      [{ channel_id: "WHATSAPP", phone: "+48500000001" }, "channel_id"],
      [{ phone: "+48500000001" }, "channel_id"],
      [{ channel_id: 3 }, "phone"],
      [{ channel_id: 3, phone: "call me" }, "phone"],
      [{ channel_id: 3, phone: "+48500000001", values: ["a"] }, "values"],
      [{ channel_id: 3, phone: "+48500000001", webhook: "https://x.example.com" }, "webhook"],
      [{ channel_id: 3, phone: "+48500000001", webhook: { link: "ftp://files.example.com" } }, "webhook.link"],
      [{ channel_id: 3, phone: "+48500000001", webhook: { body: {} } }, "webhook.link"],
      [{ channel_id: 3, phone: "+48500000001", webhook: { link: "https://x.example.com", headers: { "X-A": "1\r\nX-Injected: 1" } } }, "webhook.headers"],
      [{ channel_id: 3, phone: "+48500000001", webhook: { link: "https://x.example.com", headers: { "bad header": "1" } } }, "webhook.headers"],
      [{ channel_id: 3, phone: "+48500000001", webhook: { link: "https://x.example.com", headers: { "X-Price": "10 €" } } }, "webhook.headers"],
      [{ channel_id: 3, phone: "+48500000001", webhook: { link: "https://x.example.com", headers: { "X-A": 1 } } }, "webhook.headers"],
    ];
    const before = await snapshot(server, seed.tenant.id);
    for (const [body, field] of cases) {
      const reply = await documented("POST", DISPATCH, token, body);
      expect(reply.status, `${JSON.stringify(body)}: ${JSON.stringify(reply.body)}`).toBe(422);
      expect(reply.body.message).toBe("The given data was invalid.");
      // A header is named with its key: webhook.headers.X-A.
      expect(Object.keys(reply.body.errors).some((key) => key === field || key.startsWith(`${field}.`)), `${JSON.stringify(body)}: ${JSON.stringify(reply.body)}`).toBe(true);
      expect(JSON.stringify(reply.body), "no GraphQL words").not.toMatch(/input\.|Variable|DispatchWebhookInput|ChannelType/);
    }
    expect((await call("POST", DISPATCH, token, "{not json")).status).toBe(400);
    expect(await snapshot(server, seed.tenant.id)).toEqual(before);
  });
});

describe("POST /Integration/Agent/Batch", () => {
  test("201: new rows created, a closed one reopened, in-progress and repeated phones skipped, one batch, events after commit", async () => {
    const seed = await seedTenant(server, "Batch");
    const closed = await closedConversation(seed, "+48500000003", "WHATSAPP");
    const live = conversationEvents<{ type: string; conversation: { id: string; number: number; inputValues: unknown; batchId: string | null } }>(
      seed.agentToken,
      "{ type conversation { id number inputValues batchId } }",
    );
    try {
      await waitUntil(() => server.app.live.stats().streams >= 1, () => "the subscription to start");
      const reply = await documented("POST", BATCH, await agentToken(seed), {
        channel_id: 1,
        name: "  November reminders ",
        rows: [
          { phone: "+48 500 000 001", values: { n: 0 } },
          { phone: "+48500000001", values: { n: 1 } },
          { phone: "+48111222333", values: { n: 2 } },
          { phone: "+48500000003", values: { n: 3 } },
          { phone: "+48500000004", extra: "ignored" },
        ],
        webhook: WEBHOOK,
      });
      expect(reply.status, JSON.stringify(reply.body)).toBe(201);
      const batch = await server.db.prisma.dispatchBatch.findFirstOrThrow({ where: { tenantId: seed.tenant.id } });
      expect(batch).toMatchObject({ name: "November reminders", channelType: "WHATSAPP", agentId: seed.raw.agent.id });
      const at = async (phone: string) => (await conversationAt(seed, phone, "WHATSAPP"))!;
      const [first, fourth] = [await at("+48500000001"), await at("+48500000004")];
      const stamp = (date: Date) => date.toISOString().slice(0, 19).replace("T", " ");
      expect(reply.body).toEqual({
        data: {
          id: batch.id,
          name: "November reminders",
          channel_id: 1,
          total: 5,
          dispatched: [
            { row: 0, reopened: false, id: first.number, phone: "+48500000001", channel_id: 1, values: { n: 0 }, status: "open", created_at: stamp(first.createdAt) },
            { row: 3, reopened: true, id: closed.number, phone: "+48500000003", channel_id: 1, values: { n: 3 }, status: "open", created_at: stamp(closed.createdAt) },
            { row: 4, reopened: false, id: fourth.number, phone: "+48500000004", channel_id: 1, values: {}, status: "open", created_at: stamp(fourth.createdAt) },
          ],
          skipped: [
            { row: 1, phone: "+48500000001", reason: "duplicate", message: "Row 0 has the same phone" },
            { row: 2, phone: "+48111222333", reason: "in_progress", message: expect.stringContaining("still in progress") },
          ],
          created_at: stamp(batch.createdAt),
        },
      });
      // New conversations numbered consecutively in row order.
      expect([first.number, fourth.number]).toEqual([1, 2]);
      // One endpoint for the batch's webhook, shared by its conversations.
      const endpoint = await server.db.prisma.webhookEndpoint.findFirstOrThrow({ where: { tenantId: seed.tenant.id, dialect: "VELENTS_AGENT", url: WEBHOOK.link } });
      for (const row of [first, fourth, await at("+48500000003")]) expect(row).toMatchObject({ batchId: batch.id, webhookEndpointId: endpoint.id, status: "OPEN" });
      // The in-progress conversation is untouched.
      expect(await server.db.prisma.conversation.findUniqueOrThrow({ where: { id: seed.raw.conversation.id } })).toMatchObject({ batchId: null, webhookEndpointId: null, inputValues: {} });

      await waitUntil(() => live.events.length >= 3, () => `three events; have ${JSON.stringify(live.events)}`);
      const batchId = `batch_${batch.id}`;
      expect(live.events.sort((a, b) => a.conversation.number - b.conversation.number)).toEqual([
        { type: "CREATED", conversation: { id: `conv_${first.id}`, number: first.number, inputValues: { n: 0 }, batchId } },
        { type: "CREATED", conversation: { id: `conv_${fourth.id}`, number: fourth.number, inputValues: {}, batchId } },
        { type: "UPDATED", conversation: { id: `conv_${closed.id}`, number: closed.number, inputValues: { n: 3 }, batchId } },
      ]);

      // GraphQL sees the batch, its conversations and their counts.
      const node = await server.ok(
        seed.tenant,
        `query($id: ID!) { node(id: $id) { ... on DispatchBatch { name channelType agentId counts { total open handedOff closed } conversations { totalCount edges { node { number } } } } } }`,
        { id: batchId },
      );
      expect(node.node).toEqual({
        name: "November reminders",
        channelType: "WHATSAPP",
        agentId: seed.id.agent,
        counts: { total: 3, open: 3, handedOff: 0, closed: 0 },
        conversations: { totalCount: 3, edges: [first.number, fourth.number, closed.number].sort((a, b) => a - b).map((number) => ({ node: { number } })) },
      });
      // Another tenant's token finds no such batch, exactly as for an id that names nothing.
      const other = await seedTenant(server, "Batch other");
      const lookup = `query($id: ID!) { node(id: $id) { id } }`;
      const foreign = await server.gql(lookup, { id: batchId }, other.tenant.token);
      const unknown = await server.gql(lookup, { id: "batch_00000000-0000-4000-8000-000000000000" }, other.tenant.token);
      expect(foreign.data).toEqual({ node: null });
      expect(foreign).toEqual(unknown);
    } finally {
      await live.dispose();
    }
  });

  test("422 for an empty or oversized batch, a bad row or a bad channel, with nothing written (all or nothing)", async () => {
    const seed = await seedTenant(server, "Batch invalid");
    const token = await agentToken(seed);
    const row = (i: number) => ({ phone: `+4860${String(i).padStart(7, "0")}` });
    const cases: [unknown, string][] = [
      [{ channel_id: 3, name: "x", rows: [] }, "rows"],
      [{ channel_id: 3, name: "x", rows: Array.from({ length: 1001 }, (_, i) => row(i)) }, "rows"],
      [{ channel_id: 3, name: "x", rows: "+48600000001" }, "rows"],
      [{ channel_id: 3, name: "x", rows: [row(1), "+48600000002"] }, "rows.1"],
      [{ channel_id: 3, name: "x", rows: [row(1), { phone: "nope" }] }, "rows.1.phone"],
      [{ channel_id: 3, name: "x", rows: [row(1), { phone: "+48600000002", values: 3 }] }, "rows.1.values"],
      [{ channel_id: 3, rows: [row(1)] }, "name"],
      [{ channel_id: 3, name: "   ", rows: [row(1)] }, "name"],
      [{ channel_id: 7, name: "x", rows: [row(1)] }, "channel_id"],
      [{ channel_id: 3, name: "x", rows: [row(1)], webhook: { link: "javascript:alert(1)" } }, "webhook.link"],
    ];
    const before = await snapshot(server, seed.tenant.id);
    for (const [body, field] of cases) {
      const reply = await documented("POST", BATCH, token, body);
      expect(reply.status, `${JSON.stringify(body).slice(0, 200)}: ${JSON.stringify(reply.body)}`).toBe(422);
      expect(Object.keys(reply.body.errors), JSON.stringify(reply.body)).toContain(field);
    }
    expect(await snapshot(server, seed.tenant.id)).toEqual(before);
    expect(await server.db.prisma.dispatchBatch.count({ where: { tenantId: seed.tenant.id } })).toBe(0);
  });

  test("a thousand rows in one batch", async () => {
    const seed = await seedTenant(server, "Batch 1000");
    // The seed writes conversation 901 past the tenant's counter: start the API's numbers after it.
    await server.db.prisma.tenant.update({ where: { id: seed.tenant.id }, data: { lastConversationNumber: 1000 } });
    const rows = Array.from({ length: 1000 }, (_, i) => ({ phone: `+4870${String(i).padStart(7, "0")}`, values: { i } }));
    const reply = await documented("POST", BATCH, await agentToken(seed), { channel_id: 3, name: "big", rows });
    expect(reply.status, JSON.stringify(reply.body).slice(0, 300)).toBe(201);
    expect(reply.body.data.dispatched).toHaveLength(1000);
    expect(reply.body.data.dispatched.map((row: any) => row.id)).toEqual(Array.from({ length: 1000 }, (_, i) => 1001 + i));
    expect(await server.db.prisma.conversation.count({ where: { tenantId: seed.tenant.id, channelType: "VOICE" } })).toBe(1000);
  });
});

describe("GET /Integration/Agent", () => {
  test("a token issued as the README shows (createApiToken, dialectScopes) reads its agent and dispatches", async () => {
    const seed = await seedTenant(server, "Issued");
    const issued = await server.ok(
      seed.tenant,
      `mutation($a: ID!) { createApiToken(input: {name: "Agent.sa", format: VELENTS_AGENT, agentId: $a, dialectScopes: ["dispatch", "agent:read"]}) { secret token { scopes agent { id } } } }`,
      { a: seed.id.agent },
    );
    expect(issued.createApiToken.token).toEqual({ scopes: ["CONVERSATIONS_READ", "CONVERSATIONS_WRITE", "AGENTS_READ"], agent: { id: seed.id.agent } });
    const token: string = issued.createApiToken.secret;
    expect(token).toMatch(/^agentsa_[0-9a-f]{48}$/);
    expect((await documented("GET", AGENT, token)).body.data.id).toBe(901);
    expect((await documented("POST", DISPATCH, token, { channel_id: 3, phone: "+201145803442" })).status).toBe(201);
  });

  test("the token's own agent: number, public handle, configuration", async () => {
    const seed = await seedTenant(server, "Config");
    await server.db.prisma.agent.update({
      where: { id: seed.raw.agent.id },
      data: { status: "PUBLISHED", systemPrompt: "You confirm bookings.", modelProvider: "openai", modelName: "gpt-4o" },
    });
    const agent = await server.db.prisma.agent.findUniqueOrThrow({ where: { id: seed.raw.agent.id } });
    const reply = await documented("GET", AGENT, await agentToken(seed, ["agents:read"]));
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    const stamp = (date: Date) => date.toISOString().slice(0, 19).replace("T", " ");
    expect(reply.body).toEqual({
      data: {
        id: 901,
        public: "sales_Agent",
        name: "Sales agent",
        status: "published",
        system_prompt: "You confirm bookings.",
        model: { provider: "openai", name: "gpt-4o" },
        created_at: stamp(agent.createdAt),
        updated_at: stamp(agent.updatedAt),
      },
    });
    // A token of another agent of the same tenant reads that agent.
    const other = await server.db.prisma.agent.create({ data: { tenantId: seed.tenant.id, number: 950, name: "Other", publicId: "other_Agent_950" } });
    const otherReply = await documented("GET", AGENT, await agentToken(seed, ["agents:read"], other.id));
    expect(otherReply.body.data).toMatchObject({ id: 950, public: "other_Agent_950", status: "draft", model: { provider: null, name: null } });
  });

  test("403 without agent:read names the ability; deleting an agent ends its tokens", async () => {
    const seed = await seedTenant(server, "Config refusals");
    const forbidden = await documented("GET", AGENT, await agentToken(seed, ["conversations:read", "conversations:write"]));
    expect(forbidden.status).toBe(403);
    expect(forbidden.body).toEqual({ message: expect.stringContaining("agent:read"), ability: "agent:read" });
    const doomed = await server.db.prisma.agent.create({ data: { tenantId: seed.tenant.id, number: 951, name: "Doomed", publicId: "doomed_Agent_951" } });
    const token = await agentToken(seed, DISPATCHER, doomed.id);
    await server.db.prisma.agent.delete({ where: { id: doomed.id } });
    // ApiToken.agent cascades: the token is gone with its agent.
    const gone = await documented("GET", AGENT, token);
    expect(gone.status).toBe(401);
    expect((await documented("POST", DISPATCH, token, { channel_id: 3, phone: "+48500000009" })).status).toBe(401);
  });
});

describe("authentication, abilities, agents and tenants", () => {
  test("401 without a token or with an unknown one, in Laravel's words", async () => {
    const seed = await seedTenant(server, "Anonymous");
    for (const [method, path] of [["POST", DISPATCH], ["POST", BATCH], ["GET", AGENT]] as const) {
      for (const token of [null, TOKEN_FORMATS.VELENTS_AGENT.generate(seed.tenant.id)]) {
        const reply = await documented(method, path, token, method === "POST" ? { channel_id: 3, phone: "+48500000001" } : undefined);
        expect(reply.status).toBe(401);
        expect(reply.body).toEqual({ message: "Unauthenticated." });
        expect(reply.headers.get("www-authenticate")).toBe("Bearer");
      }
    }
  });

  test("403 without dispatch names the ability, and writes nothing", async () => {
    const seed = await seedTenant(server, "No dispatch");
    const tokens = [await agentToken(seed, ["conversations:read", "agents:read"]), await agentToken(seed, ["conversations:write", "agents:read"])];
    const before = await snapshot(server, seed.tenant.id);
    for (const token of tokens) {
      const reply = await documented("POST", DISPATCH, token, { channel_id: 3, phone: "+48500000001" });
      expect(reply.status).toBe(403);
      expect(reply.body.ability).toBe("dispatch");
      const batch = await documented("POST", BATCH, token, { channel_id: 3, name: "x", rows: [{ phone: "+48500000001" }] });
      expect(batch.status).toBe(403);
    }
    expect(await snapshot(server, seed.tenant.id)).toEqual(before);
  });

  test("other dialects' tokens are not served these paths, and agent tokens no other dialect's", async () => {
    const seed = await seedTenant(server, "Dialects");
    const convo = await (await server.createTenant("Convo")).tokenWith(["conversations:write", "conversations:read"]);
    expect((await call("POST", DISPATCH, convo, { channel_id: 3, phone: "+48500000001" })).status).toBe(404);
    const support = (await issueToken(server.db.prisma, { tenantId: seed.tenant.id, name: "s", format: "VELENTS_SUPPORT", scopes: DISPATCHER })).secret;
    const notServed = await call("GET", AGENT, support);
    expect(notServed.status).toBe(404);
    expect(Object.keys(notServed.body)).toEqual(["message"]);
    const agent = await agentToken(seed);
    const me = await call("GET", "/Company/TenantAuth/me", agent);
    expect(me.status).toBe(404);
    expect(Object.keys(me.body)).toEqual(["message"]);
    expect((await call("GET", "/api/v1/conversations", agent)).status).toBe(404);
  });

  test("a tenant dispatching a phone another tenant talks to gets its own conversation; the other's is untouched", async () => {
    const mine = await seedTenant(server, "Mine");
    const theirs = await seedTenant(server, "Theirs");
    const their = await closedConversation(theirs, "+48500000077");
    const theirBefore = await snapshot(server, theirs.tenant.id);
    const reply = await documented("POST", DISPATCH, await agentToken(mine), { channel_id: 3, phone: "+48500000077", values: { who: "mine" } });
    expect(reply.status).toBe(201);
    expect(reply.body.data.id).toBe(1);
    expect(await snapshot(server, theirs.tenant.id)).toEqual(theirBefore);
    expect((await conversationAt(mine, "+48500000077"))!.id).not.toBe(their.id);
    // Their batch of the same phone reopens their own closed conversation, not mine.
    const batch = await documented("POST", BATCH, await agentToken(theirs), { channel_id: 3, name: "theirs", rows: [{ phone: "+48500000077" }] });
    expect(batch.body.data.dispatched).toEqual([expect.objectContaining({ id: their.number, reopened: true })]);
  });
});

describe("GraphQL dispatchConversation and dispatchBatch", () => {
  const DISPATCH_GQL = `mutation($input: DispatchConversationInput!) { dispatchConversation(input: $input) { id number status agentId inputValues hasWebhook batchId } }`;
  const BATCH_GQL = `mutation($input: DispatchBatchInput!) { dispatchBatch(input: $input) { batch { id } dispatched { row number reopened } skipped { row reason } conversations { id number } } }`;

  test("an agent token may dispatch only for its own agent: another agent of its tenant, or of another tenant, is NOT_FOUND", async () => {
    const seed = await seedTenant(server, "Own agent");
    const other = await seedTenant(server, "Other tenant");
    const sibling = await server.db.prisma.agent.create({ data: { tenantId: seed.tenant.id, number: 960, name: "Sibling", publicId: "sibling_Agent_960" } });
    const token = await agentToken(seed);
    const before = await snapshot(server, seed.tenant.id);
    for (const agentId of [`agt_${sibling.id}`, other.id.agent, "agt_00000000-0000-4000-8000-000000000000"]) {
      expectError(await server.gql(DISPATCH_GQL, { input: { agentId, channelType: "VOICE", phone: "+48500000001" } }, token), "NOT_FOUND", { field: "input.agentId" });
      expectError(
        await server.gql(BATCH_GQL, { input: { agentId, channelType: "VOICE", name: "x", rows: [{ phone: "+48500000001" }] } }, token),
        "NOT_FOUND",
        { field: "input.agentId" },
      );
    }
    expect(await snapshot(server, seed.tenant.id)).toEqual(before);
    // Naming its own agent is the same as leaving it out.
    const own = await server.ok(token, DISPATCH_GQL, { input: { agentId: seed.id.agent, channelType: "VOICE", phone: "+48500000001" } });
    expect(own.dispatchConversation).toMatchObject({ number: 1, status: "OPEN", agentId: seed.id.agent, hasWebhook: false, batchId: null });
  });

  test("other tokens dispatch for any agent of their tenant, and must name it; another tenant's agent is NOT_FOUND", async () => {
    const seed = await seedTenant(server, "Admin dispatch");
    const other = await seedTenant(server, "Admin other");
    const sibling = await server.db.prisma.agent.create({ data: { tenantId: seed.tenant.id, number: 970, name: "Sibling", publicId: "sibling_Agent_970" } });
    expectError(await server.gql(DISPATCH_GQL, { input: { channelType: "VOICE", phone: "+48500000001" } }, seed.tenant.token), "BAD_USER_INPUT", { field: "input.agentId" });
    expectError(
      await server.gql(DISPATCH_GQL, { input: { agentId: other.id.agent, channelType: "VOICE", phone: "+48500000001" } }, seed.tenant.token),
      "NOT_FOUND",
      { field: "input.agentId" },
    );
    expectError(
      await server.gql(DISPATCH_GQL, { input: { agentId: seed.id.agent, channelType: "SMS", phone: "+48500000001" } }, seed.tenant.token),
      "BAD_USER_INPUT",
      { field: "input.channelType" },
    );
    const data = await server.ok(seed.tenant, DISPATCH_GQL, {
      input: { agentId: `agt_${sibling.id}`, channelType: "WHATSAPP", phone: "+48 500 000 001", values: { x: 1 }, webhook: { link: "http://hooks.example.com/x" } },
    });
    expect(data.dispatchConversation).toMatchObject({ status: "OPEN", agentId: `agt_${sibling.id}`, inputValues: { x: 1 }, hasWebhook: true });
    // GraphQL sees it where it sees every conversation.
    const list = await server.ok(seed.tenant, `query($a: ID) { conversations(agentId: $a) { edges { node { id customerIdentifier channelType } } } }`, { a: `agt_${sibling.id}` });
    expect(list.conversations.edges).toEqual([{ node: { id: data.dispatchConversation.id, customerIdentifier: "+48500000001", channelType: "WHATSAPP" } }]);
    expectError(
      await server.gql(DISPATCH_GQL, { input: { agentId: `agt_${sibling.id}`, channelType: "WHATSAPP", phone: "+48500000001" } }, seed.tenant.token),
      "CONFLICT",
    );
    const batch = await server.ok(seed.tenant, BATCH_GQL, {
      input: { agentId: seed.id.agent, channelType: "WHATSAPP", name: "b", rows: [{ phone: "+48500000001" }, { phone: "+48500000002" }] },
    });
    expect(batch.dispatchBatch).toMatchObject({ dispatched: [{ row: 1, reopened: false }], skipped: [{ row: 0, reason: "IN_PROGRESS" }], conversations: [{ number: 2 }] });
  });

  test("dispatching needs conversations:write; a dispatch token reads back what it dispatched", async () => {
    const seed = await seedTenant(server, "Scopes");
    const reader = await agentToken(seed, ["conversations:read", "agents:read"]);
    expectError(await server.gql(DISPATCH_GQL, { input: { channelType: "VOICE", phone: "+48500000001" } }, reader), "FORBIDDEN", { scope: "conversations:write" });
    const writer = await agentToken(seed, ["conversations:write"]);
    const data = await server.ok(writer, DISPATCH_GQL, { input: { channelType: "VOICE", phone: "+48500000001" } });
    expect(data.dispatchConversation.number).toBe(1);
    const batch = await server.ok(writer, BATCH_GQL, { input: { channelType: "VOICE", name: "b", rows: [{ phone: "+48500000002" }] } });
    expect(batch.dispatchBatch.conversations).toEqual([{ id: expect.stringMatching(/^conv_/), number: 2 }]);
  });
});
