// Support tickets: the GraphQL surface (createTicket, tickets, updateTicket, Ticket nodes) and
// the Velents Support Center REST routes over it (src/rest/dialects/velents.ts), end to end
// on a real server, every REST answer checked against the served OpenAPI document.
import { createClient } from "graphql-ws";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import WebSocket from "ws";
import { toCanonicalScopes, type Scope } from "../src/auth/scopes.js";
import { globalIdOfPublicId, publicIdOf } from "../src/rest/mapping.js";
import { seedTenant, snapshot } from "./fixtures.js";
import { waitUntil, type TestServer } from "./harness.js";
import { restRequest, startRestTestServer, type OpenApiOracle, type Reply } from "./openapi-oracle.js";

let server: TestServer;
let origin: string;
let oracle: OpenApiOracle;

beforeAll(async () => {
  ({ server, origin, oracle } = await startRestTestServer(["velents"]));
});
afterAll(() => server?.close());

const TICKETS = "/Company/Support/Tickets";
const ALL_ABILITIES = ["Tickets-Show", "Tickets-History", "Tickets-Create", "Tickets-Send"];

/** Sends a request and checks the answer against the served document (success or error schema). */
async function call(method: string, path: string, token: string, body?: unknown, template = path.split("?")[0]!): Promise<Reply> {
  const reply = await restRequest(origin, method, path, token, body);
  expect(reply.status, `${method} ${path}: ${JSON.stringify(reply.body)}`).toBeLessThan(500);
  oracle.expectDocumented("velents", method, template, reply.status, reply.body);
  return reply;
}
const SEND = "/Company/Conversation/{Conversation}/Send";
const HISTORY = "/Company/Conversation/{Conversation}/history";
const SHOW = "/Company/Support/Tickets/{public_id}";
const send = (token: string, conversation: string, body: unknown) => call("POST", `/Company/Conversation/${conversation}/Send`, token, body, SEND);
const history = (token: string, conversation: string, query = "") => call("GET", `/Company/Conversation/${conversation}/history${query}`, token, undefined, HISTORY);
const show = (token: string, publicId: string) => call("GET", `${TICKETS}/${publicId}`, token, undefined, SHOW);

async function velentsTenant(name: string, abilities: string[] = ALL_ABILITIES) {
  const tenant = await server.createTenant(name);
  return { tenant, token: await tenant.tokenWith(toCanonicalScopes("VELENTS_SUPPORT", abilities), "VELENTS_SUPPORT") };
}

const PUBLIC_ID = (prefix: string) => expect.stringMatching(new RegExp(`^${prefix}_[0-7][0-9A-HJKMNP-TV-Z]{25}$`));
const TIMESTAMP = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);

describe("public ids", () => {
  test("tkt_/cnv_/msg_ ids are the row uuid in Crockford base32, ULID-looking, and read back", () => {
    const uuid = "0190f3a4-5b6c-7d8e-9fa0-b1c2d3e4f5a6";
    const ticket = publicIdOf("Ticket", uuid);
    expect(ticket).toMatch(/^tkt_[0-7][0-9A-HJKMNP-TV-Z]{25}$/);
    expect(globalIdOfPublicId("Ticket", ticket)).toBe(`tkt_${uuid}`);
    expect(globalIdOfPublicId("Ticket", ticket.toLowerCase().replace(/^tkt/, "tkt"))).toBe(`tkt_${uuid}`);
    expect(publicIdOf("Conversation", `conv_${uuid}`)).toBe(ticket.replace(/^tkt/, "cnv"));
    for (const edge of ["00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff"]) {
      expect(globalIdOfPublicId("Message", publicIdOf("Message", edge))).toBe(`msg_${edge}`);
    }
    expect(publicIdOf("Message", "ffffffff-ffff-ffff-ffff-ffffffffffff")).toBe("msg_7ZZZZZZZZZZZZZZZZZZZZZZZZZ");
    // Nothing else names a row: another prefix, a bare uuid, a global id, 2^128 and over, letters Crockford leaves out.
    for (const bad of [ticket.replace(/^tkt/, "cnv"), uuid, `tkt_${uuid}`, "tkt_8ZZZZZZZZZZZZZZZZZZZZZZZZZ", "tkt_01HXU0000000000000000000O0", `${ticket}0`, "tkt_"]) {
      expect(globalIdOfPublicId("Ticket", bad), bad).toBeUndefined();
    }
  });
});

describe("the Support Center's typical flow", () => {
  test("me → create a ticket → send replies → history, oldest first → show the ticket", async () => {
    const { tenant, token } = await velentsTenant("Typical flow");

    const me = await call("GET", "/Company/TenantAuth/me", token);
    expect(me.status).toBe(200);
    expect(me.body.data.tenant_id).toBe(tenant.id);
    expect(me.body.data.token.abilities).toEqual(ALL_ABILITIES);

    const created = await call("POST", TICKETS, token, {
      subject: "Order #1212 arrived damaged",
      message: "The box was crushed.",
      priority: "high",
      identifier: "order-1212",
      category: "Shipping",
      tags: ["damaged", "order"],
      customer_name: "Shady",
      customer_email: "shady@example.com",
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toEqual({
      data: {
        public_id: PUBLIC_ID("tkt"),
        conversation_id: PUBLIC_ID("cnv"),
        subject: "Order #1212 arrived damaged",
        status: "open",
        priority: "high",
        identifier: "order-1212",
        assignee: null,
        category: { name: "Shipping" },
        tags: ["damaged", "order"],
        created_at: TIMESTAMP,
      },
    });
    const { public_id: publicId, conversation_id: conversationId } = created.body.data;

    const replies = ["A photo of the box is attached.", "Any news?"];
    const sent: Reply[] = [];
    for (const body of replies) sent.push(await send(token, conversationId, { body }));
    for (const [index, reply] of sent.entries()) {
      expect(reply.status, JSON.stringify(reply.body)).toBe(201);
      expect(reply.body).toEqual({ data: { id: PUBLIC_ID("msg"), author: { type: "customer", name: "Shady" }, body: replies[index], created_at: TIMESTAMP } });
    }

    const thread = await history(token, conversationId);
    expect(thread.status).toBe(200);
    expect(thread.body.data.map((entry: any) => [entry.author, entry.body])).toEqual([
      [{ type: "customer", name: "Shady" }, "The box was crushed."],
      [{ type: "customer", name: "Shady" }, replies[0]],
      [{ type: "customer", name: "Shady" }, replies[1]],
    ]);
    expect(thread.body.data.slice(1)).toEqual(sent.map((reply) => reply.body.data));
    expect(thread.body.meta).toEqual({ total: 3 });
    expect(thread.body.links).toEqual({ next: null });

    const shown = await show(token, publicId);
    expect(shown.status).toBe(200);
    expect(shown.body).toEqual(created.body);

    const listed = await call("GET", TICKETS, token);
    expect(listed.status).toBe(200);
    const { assignee: _assignee, category: _category, tags: _tags, ...entry } = created.body.data;
    expect(listed.body.data).toEqual([entry]);
    expect(listed.body.meta).toEqual({ current_page: 1, per_page: 15, total: 1, last_page: 1, from: 1, to: 1 });
  });

  test("agent replies are the agent's: the AI agent's name, or the assigned operator's; SYSTEM notes are left out", async () => {
    const { tenant, token } = await velentsTenant("Agent replies");
    const created = await call("POST", TICKETS, token, { subject: "Where is my refund?", customer_name: "Ada" });
    const conversationId = created.body.data.conversation_id;
    const conversationUuid = globalIdOfPublicId("Conversation", conversationId)!.replace(/^conv_/, "");
    const agent = await server.db.prisma.agent.create({ data: { tenantId: tenant.id, number: 1, name: "Refund bot", publicId: "refund_Agent_1" } });
    await server.db.prisma.conversation.update({ where: { id: conversationUuid }, data: { agentId: agent.id, assignedOperator: "olga" } });
    for (const [role, content] of [["ASSISTANT", "Let me check."], ["SYSTEM", "handoff requested"], ["OPERATOR", "Refunded today."]] as const) {
      await server.ok(tenant, `mutation($input: AddMessageInput!) { addMessage(input: $input) { id } }`, {
        input: { conversationId: `conv_${conversationUuid}`, role, content },
      });
    }
    await send(token, conversationId, { body: "Thanks!" });
    const thread = await history(token, conversationId);
    expect(thread.body.data.map((entry: any) => [entry.author, entry.body])).toEqual([
      [{ type: "agent", name: "Refund bot" }, "Let me check."],
      [{ type: "agent", name: "olga" }, "Refunded today."],
      [{ type: "customer", name: "Ada" }, "Thanks!"],
    ]);
    // The total counts what the history shows, so a client paging until it has `total` stops.
    expect(thread.body.meta).toEqual({ total: 3 });
  });

  test("cnv_ ids address any conversation of the tenant: a WhatsApp thread's history and replies", async () => {
    const seed = await seedTenant(server, "WhatsApp history");
    const token = await seed.tenant.tokenWith(toCanonicalScopes("VELENTS_SUPPORT", ["Tickets-History", "Tickets-Send"]), "VELENTS_SUPPORT");
    const conversationId = publicIdOf("Conversation", seed.raw.conversation.id);
    expect((await send(token, conversationId, { body: "Still there?" })).status).toBe(201);
    const thread = await history(token, conversationId);
    expect(thread.body.data.map((entry: any) => [entry.id, entry.author.type, entry.body])).toEqual([
      [publicIdOf("Message", seed.raw.message.id), "customer", "Hello there"],
      [expect.any(String), "customer", "Still there?"],
    ]);
  });

  test("history pages by 100: links.next carries the last message, the next page goes on from it", async () => {
    const { tenant, token } = await velentsTenant("Long thread");
    const conversationId = (await call("POST", TICKETS, token, { subject: "Long" })).body.data.conversation_id;
    const conversationUuid = globalIdOfPublicId("Conversation", conversationId)!.replace(/^conv_/, "");
    const start = Date.now();
    await server.db.prisma.message.createMany({
      data: Array.from({ length: 105 }, (_, index) => ({
        tenantId: tenant.id,
        conversationId: conversationUuid,
        role: "USER" as const,
        content: `message ${index + 1}`,
        createdAt: new Date(start + index),
      })),
    });
    const first = await history(token, conversationId);
    expect(first.body.data).toHaveLength(100);
    expect(first.body.meta).toEqual({ total: 105 });
    expect(first.body.links.next).toBe(`/Company/Conversation/${conversationId}/history?after=${first.body.data[99].id}`);
    const second = await call("GET", first.body.links.next, token, undefined, HISTORY);
    expect(second.body.data.map((entry: any) => entry.body)).toEqual(["message 101", "message 102", "message 103", "message 104", "message 105"]);
    expect(second.body.links).toEqual({ next: null });
    const bad = await history(token, conversationId, "?after=nope");
    expect(bad.status).toBe(422);
    expect(bad.body).toEqual({ message: "The given data was invalid.", errors: { after: ["The after field must be a message id from links.next."] } });
  });
});

describe("validation: Laravel's 422 body, nothing written", () => {
  test("a missing subject: the documented body", async () => {
    const { tenant, token } = await velentsTenant("Validation");
    const before = await snapshot(server, tenant.id);
    for (const body of [{}, { message: "no subject" }, { subject: null }, { subject: "   " }]) {
      const reply = await call("POST", TICKETS, token, body);
      expect(reply.status, JSON.stringify(body)).toBe(422);
      expect(reply.body, JSON.stringify(body)).toEqual({ message: "The given data was invalid.", errors: { subject: ["The subject field is required."] } });
    }
    expect(await snapshot(server, tenant.id)).toEqual(before);
  });

  test("other fields are named as sent, values listed in lower case", async () => {
    const { tenant, token } = await velentsTenant("Validation 2");
    const before = await snapshot(server, tenant.id);
    const cases: [unknown, Record<string, string[]>][] = [
      [{ subject: "x".repeat(201) }, { subject: ["The subject field must be at most 200 characters."] }],
      [{ subject: "Hi", priority: "HIGH" }, { priority: ["The priority field must be one of: low, normal, high, urgent."] }],
      [{ subject: "Hi", customer_email: "not-an-email" }, { customer_email: ["The customer email field must be a valid email address."] }],
      [{ subject: "Hi", tags: "one" }, { tags: ["The tags field must be an array."] }],
      [{ subject: "Hi", tags: [1] }, { tags: ["The tags field must be a string."] }],
    ];
    for (const [body, errors] of cases) {
      const reply = await call("POST", TICKETS, token, body);
      expect(reply.status, JSON.stringify(body)).toBe(422);
      expect(reply.body, JSON.stringify(body)).toEqual({ message: "The given data was invalid.", errors });
    }
    const conversation = publicIdOf("Conversation", "00000000-0000-4000-8000-000000000000");
    const empty = await send(token, conversation, {});
    expect(empty.body).toEqual({ message: "The given data was invalid.", errors: { body: ["The body field is required."] } });
    const list = await call("GET", `${TICKETS}?status=solved`, token);
    expect(list.body).toEqual({ message: "The given data was invalid.", errors: { status: ["The status field must be one of: open, pending, resolved, closed."] } });
    expect(await snapshot(server, tenant.id)).toEqual(before);
  });
});

describe("abilities", () => {
  test("a token lacking Tickets-Show gets 403 naming it; one lacking Tickets-Create writes nothing", async () => {
    const { tenant, token: full } = await velentsTenant("Abilities");
    const publicId = (await call("POST", TICKETS, full, { subject: "Visible?" })).body.data.public_id;
    const writer = await tenant.tokenWith(toCanonicalScopes("VELENTS_SUPPORT", ["Tickets-Create", "Tickets-Send", "Tickets-History"]), "VELENTS_SUPPORT");
    for (const path of [TICKETS, `${TICKETS}/${publicId}`]) {
      const reply = await call("GET", path, writer, undefined, path === TICKETS ? TICKETS : SHOW);
      expect(reply.status).toBe(403);
      expect(reply.body).toEqual({ message: "This token lacks the Tickets-Show ability.", ability: "Tickets-Show" });
    }
    const reader = await tenant.tokenWith(toCanonicalScopes("VELENTS_SUPPORT", ["Tickets-Show", "Tickets-History"]), "VELENTS_SUPPORT");
    const before = await snapshot(server, tenant.id);
    const refused = await call("POST", TICKETS, reader, { subject: "Not allowed" });
    expect(refused.body).toEqual({ message: "This token lacks the Tickets-Create ability.", ability: "Tickets-Create" });
    const conversationId = (await show(reader, publicId)).body.data.conversation_id;
    expect((await send(reader, conversationId, { body: "no" })).body).toEqual({ message: "This token lacks the Tickets-Send ability.", ability: "Tickets-Send" });
    expect(await snapshot(server, tenant.id)).toEqual(before);
    const showOnly = await tenant.tokenWith(toCanonicalScopes("VELENTS_SUPPORT", ["Tickets-Show"]), "VELENTS_SUPPORT");
    expect((await history(showOnly, conversationId)).body).toEqual({ message: "This token lacks the Tickets-History ability.", ability: "Tickets-History" });
  });

  test("canonical scope names are accepted too", async () => {
    const tenant = await server.createTenant("Canonical tickets");
    const token = await tenant.tokenWith(toCanonicalScopes("VELENTS_SUPPORT", ["tickets:write", "tickets:read"]), "VELENTS_SUPPORT");
    const created = await call("POST", TICKETS, token, { subject: "Canonical" });
    expect(created.status).toBe(201);
    expect((await show(token, created.body.data.public_id)).status).toBe(200);
  });
});

describe("tenant isolation", () => {
  test("another tenant's tkt_ and cnv_ ids answer exactly as unknown and malformed ones", async () => {
    const mine = await velentsTenant("Mine");
    const theirs = await velentsTenant("Theirs");
    const their = (await call("POST", TICKETS, theirs.token, { subject: "Private", message: "secret" })).body.data;
    const unknownUuid = "00000000-0000-4000-8000-000000000000";
    const before = await Promise.all([mine.tenant.id, theirs.tenant.id].map((id) => snapshot(server, id)));

    for (const id of [their.public_id, publicIdOf("Ticket", unknownUuid), "tkt_nope", publicIdOf("Ticket", theirs.tenant.id), their.conversation_id]) {
      const reply = await show(mine.token, id);
      expect(reply.status, id).toBe(404);
      expect(reply.body, id).toEqual({ message: "Ticket not found" });
    }
    for (const id of [their.conversation_id, publicIdOf("Conversation", unknownUuid), "cnv_x", their.public_id]) {
      const thread = await history(mine.token, id);
      expect(thread.status, id).toBe(404);
      expect(thread.body, id).toEqual({ message: "Conversation not found" });
      const reply = await send(mine.token, id, { body: "hello" });
      expect(reply.status, id).toBe(404);
      expect(reply.body, id).toEqual({ message: "Conversation not found" });
    }
    expect(await Promise.all([mine.tenant.id, theirs.tenant.id].map((id) => snapshot(server, id)))).toEqual(before);
    expect((await call("GET", TICKETS, mine.token)).body.data).toEqual([]);
    expect((await history(theirs.token, their.conversation_id)).body.data).toHaveLength(1);
  });
});

describe("GraphQL", () => {
  const TICKET_FIELDS = `id subject status priority identifier category tags assignee customerName customerEmail conversationId createdAt updatedAt
    conversation { id channelType customerIdentifier status ticket { id } messages(first: 5) { edges { node { role content } } } }`;

  test("createTicket, tickets and the Ticket node show the same ticket REST shows", async () => {
    const { tenant, token } = await velentsTenant("GraphQL tickets");
    const created = (
      await server.ok(tenant, `mutation($input: CreateTicketInput!) { createTicket(input: $input) { ${TICKET_FIELDS} } }`, {
        input: { subject: "  Login fails  ", message: "I cannot log in", priority: "URGENT", category: "Account", tags: ["login"], customerEmail: "ada@example.com" },
      })
    ).createTicket;
    expect(created).toMatchObject({
      subject: "Login fails",
      status: "OPEN",
      priority: "URGENT",
      identifier: null,
      category: "Account",
      tags: ["login"],
      assignee: null,
      customerName: null,
      customerEmail: "ada@example.com",
      conversation: { channelType: "SUPPORT", customerIdentifier: created.id, status: "OPEN", ticket: { id: created.id }, messages: { edges: [{ node: { role: "USER", content: "I cannot log in" } }] } },
    });
    expect(created.id).toMatch(/^tkt_[0-9a-f-]{36}$/);
    expect(created.conversationId).toBe(created.conversation.id);

    const node = await server.ok(tenant, `query($id: ID!) { node(id: $id) { ... on Ticket { ${TICKET_FIELDS} } } }`, { id: created.id });
    expect(node.node).toEqual(created);
    const list = await server.ok(tenant, `{ tickets(first: 10, status: OPEN) { totalCount edges { node { id } } } }`);
    expect(list.tickets).toEqual({ totalCount: 1, edges: [{ node: { id: created.id } }] });
    expect((await server.ok(tenant, `{ tickets(status: CLOSED) { totalCount } }`)).tickets.totalCount).toBe(0);

    const shown = await show(token, publicIdOf("Ticket", created.id));
    expect(shown.body.data).toMatchObject({
      public_id: publicIdOf("Ticket", created.id),
      conversation_id: publicIdOf("Conversation", created.conversationId),
      subject: "Login fails",
      status: "open",
      priority: "urgent",
      category: { name: "Account" },
      created_at: created.createdAt,
    });
  });

  test("updateTicket: assignee and status reach the conversation and REST; CLOSED closes the thread, reopening opens it", async () => {
    const { tenant, token } = await velentsTenant("Update tickets");
    const publicId = (await call("POST", TICKETS, token, { subject: "Printer on fire" })).body.data.public_id;
    const id = globalIdOfPublicId("Ticket", publicId)!;
    const UPDATE = `mutation($id: ID!, $input: UpdateTicketInput!) { updateTicket(id: $id, input: $input) { status assignee category tags conversation { status assignedOperator } } }`;
    const assigned = await server.ok(tenant, UPDATE, { id, input: { status: "PENDING", assignee: "olga", category: "Hardware", tags: ["fire"] } });
    expect(assigned.updateTicket).toEqual({ status: "PENDING", assignee: "olga", category: "Hardware", tags: ["fire"], conversation: { status: "OPEN", assignedOperator: "olga" } });
    expect((await show(token, publicId)).body.data).toMatchObject({ status: "pending", assignee: { name: "olga" }, category: { name: "Hardware" }, tags: ["fire"] });

    const closed = await server.ok(tenant, UPDATE, { id, input: { status: "CLOSED", assignee: null, category: null } });
    expect(closed.updateTicket).toEqual({ status: "CLOSED", assignee: null, category: null, tags: ["fire"], conversation: { status: "CLOSED", assignedOperator: null } });
    const reopened = await server.ok(tenant, UPDATE, { id, input: { status: "OPEN" } });
    expect(reopened.updateTicket.conversation.status).toBe("OPEN");

    const empty = await server.gql(UPDATE, { id, input: {} }, tenant.token);
    expect(empty.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    const other = await server.createTenant("Other");
    const foreign = await server.gql(UPDATE, { id, input: { status: "CLOSED" } }, other.token);
    expect(foreign.errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
    expect((await show(token, publicId)).body.data.status).toBe("open");
  });

  test("scopes: tickets:read to read, tickets:write to write; a write reads back only what it wrote", async () => {
    const tenant = await server.createTenant("Ticket scopes");
    const writer = await tenant.tokenWith(["tickets:write"] as Scope[]);
    const created = await server.gql(`mutation { createTicket(input: { subject: "Hi" }) { id subject status assignee } }`, {}, writer);
    expect(created.errors).toBeUndefined();
    expect(created.data!.createTicket).toMatchObject({ subject: "Hi", status: "OPEN", assignee: null });
    const nested = await server.gql(`mutation { createTicket(input: { subject: "Hi" }) { id conversation { id } } }`, {}, writer);
    expect(nested.errors?.[0]?.extensions).toMatchObject({ code: "FORBIDDEN", scope: "conversations:read" });
    const list = await server.gql(`{ tickets { totalCount } }`, {}, writer);
    expect(list.errors?.[0]?.extensions).toMatchObject({ code: "FORBIDDEN", scope: "tickets:read" });
    const reader = await tenant.tokenWith(["tickets:read"] as Scope[]);
    const refused = await server.gql(`mutation { createTicket(input: { subject: "Hi" }) { id } }`, {}, reader);
    expect(refused.errors?.[0]?.extensions).toMatchObject({ code: "FORBIDDEN", scope: "tickets:write" });
  });
});

describe("live updates", () => {
  test("a subscriber sees the ticket's conversation CREATED, its first message, and a Send as MESSAGE_ADDED", async () => {
    const { tenant, token } = await velentsTenant("Live tickets");
    const events: any[] = [];
    const client = createClient({
      url: server.url.replace(/^http/, "ws"),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${tenant.token}` },
      retryAttempts: 0,
    });
    try {
      const streams = server.app.live.stats().streams;
      client.subscribe<{ conversationEvents: any }>(
        { query: `subscription { conversationEvents { type conversation { id channelType ticket { subject } } message { role content } } }` },
        { next: ({ data }) => void (data && events.push(data.conversationEvents)), error: () => {}, complete: () => {} },
      );
      await waitUntil(() => server.app.live.stats().streams > streams, () => "the subscription to start");

      const created = (await call("POST", TICKETS, token, { subject: "Live case", message: "First" })).body.data;
      const conversation = globalIdOfPublicId("Conversation", created.conversation_id);
      const sent = await send(token, created.conversation_id, { body: "Second" });
      expect(sent.status).toBe(201);
      await waitUntil(() => events.length >= 3, () => `three events; have ${JSON.stringify(events)}`);
      const thread = { id: conversation, channelType: "SUPPORT", ticket: { subject: "Live case" } };
      expect(events).toEqual([
        { type: "CREATED", conversation: thread, message: null },
        { type: "MESSAGE_ADDED", conversation: thread, message: { role: "USER", content: "First" } },
        { type: "MESSAGE_ADDED", conversation: thread, message: { role: "USER", content: "Second" } },
      ]);
    } finally {
      await client.dispose();
    }
  });
});
