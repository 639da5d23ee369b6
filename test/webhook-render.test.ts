// The webhook renderer (src/webhooks/render.ts) on a real server: which dialect names each
// domain event maps to and which an endpoint's subscription keeps, each dialect's envelope, the
// envelope's `data` equal to what the dialect's own REST API answers for that resource, a
// deleted resource as `{ id }`, Agent.sa's four payloads, and stable delivery ids.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { DATA_SCOPES } from "../src/auth/scopes.js";
import type { PrismaClient } from "../src/db/client.js";
import { issueToken } from "../src/auth/viewer.js";
import { bookingEvent, contactEvent, conversationEvent, leadEvent, type DomainEvent } from "../src/events/events.js";
import type { WebhookDialect } from "../src/generated/prisma/enums.js";
import { rawId } from "../src/graphql/ids.js";
import { WEBHOOK_EVENTS, type RegisteredDialect } from "../src/webhooks/catalog.js";
import { createRenderer, deliveryIdFor, type RenderedDelivery, type Renderer, type RenderTarget } from "../src/webhooks/render.js";
import { startTestServer, type TestServer, type TestTenant } from "./harness.js";
import { restRequest } from "./openapi-oracle.js";

let server: TestServer;
let origin: string;
let renderer: Renderer;
let tenant: TestTenant;
const tokens = {} as Record<RegisteredDialect, string>;

beforeAll(async () => {
  server = await startTestServer();
  origin = new URL(server.url).origin;
  renderer = createRenderer(server.db.prisma);
  tenant = await server.createTenant("Webhook render");
  for (const format of ["VELERIA", "CONVO", "VOREL"] as const) tokens[format] = await tenant.tokenWith(DATA_SCOPES, format);
});
afterAll(() => server?.close());

const OCCURRED_AT = new Date("2026-12-02T14:00:00.000Z");
const UUID_V8 = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** An endpoint of `dialect` subscribed to `events` (every event of its catalogue unless given). */
const target = (dialect: WebhookDialect, events?: string[], extraBody: unknown = null): RenderTarget => ({
  id: randomUUID(),
  dialect,
  events: events ?? (dialect === "VELENTS_AGENT" ? [] : [...WEBHOOK_EVENTS[dialect]]),
  extraBody,
});

const render = (to: RenderTarget, event: DomainEvent) => renderer.render(to, event, OCCURRED_AT);
const names = (deliveries: RenderedDelivery[]) => deliveries.map((delivery) => delivery.name);
// `any`: the bodies are the dialects' JSON, compared against what their APIs answer.
const bodyOf = (delivery: RenderedDelivery | undefined): any => JSON.parse(delivery!.body);

/** A GET in a dialect (its token picks it) that must succeed; the JSON body. */
async function get(dialect: RegisteredDialect, path: string): Promise<any> {
  const reply = await restRequest(origin, "GET", path, tokens[dialect]);
  expect(reply.status, `${dialect} GET ${path}: ${JSON.stringify(reply.body)}`).toBe(200);
  return reply.body;
}

const gql = (query: string, variables: Record<string, unknown> = {}) => server.ok(tenant, query, variables);

/** The envelope every registered dialect sends, with its `data`. */
function expectEnvelope(dialect: RegisteredDialect, to: RenderTarget, event: DomainEvent, delivery: RenderedDelivery, data: unknown) {
  expect(delivery.id).toBe(deliveryIdFor(to.id, event.id, delivery.name));
  const body = bodyOf(delivery);
  if (dialect === "VELERIA") expect(body).toStrictEqual({ event: delivery.name, timestamp: "2026-12-02T14:00:00.000+00:00", data });
  if (dialect === "CONVO") expect(body).toStrictEqual({ id: delivery.id, event: delivery.name, createdAt: "2026-12-02T14:00:00.000Z", data });
  if (dialect === "VOREL") expect(body).toStrictEqual({ id: delivery.id, event: delivery.name, created_at: "2026-12-02T14:00:00.000Z", data });
  // The body is sent as rendered: JSON text, nothing else.
  expect(JSON.stringify(body)).toBe(delivery.body);
}

async function createContact() {
  const { createContact: contact } = await gql(
    `mutation($input: ContactInput!) { createContact(input: $input) { id } }`,
    { input: { firstName: "Sarah", lastName: "Lee", email: `sarah.${randomUUID().slice(0, 8)}@example.com`, phone: "+61400000000", tags: ["vip"], customFields: { plan: "gold" }, language: "en" } },
  );
  return { globalId: contact.id as string, id: rawId(contact.id) };
}

async function createConversation(input: Record<string, unknown> = {}) {
  const { createConversation: conversation } = await gql(
    `mutation($input: CreateConversationInput!) { createConversation(input: $input) { id } }`,
    { input: { channelType: "WHATSAPP", customerIdentifier: `+4860${Math.floor(Math.random() * 1e7)}`, customerName: "Ola", ...input } },
  );
  const row = await server.db.prisma.conversation.findUniqueOrThrow({ where: { id: rawId(conversation.id) } });
  return row;
}

async function addMessage(conversationId: string, role: string, content: string) {
  const { addMessage: message } = await gql(`mutation($input: AddMessageInput!) { addMessage(input: $input) { id } }`, {
    input: { conversationId: `conv_${conversationId}`, role, content },
  });
  return rawId(message.id);
}

describe("deliveryIdFor", () => {
  test("the same endpoint, event and name give the same valid uuid; any other gives another", async () => {
    const [endpoint, event] = [randomUUID(), randomUUID()];
    const id = deliveryIdFor(endpoint, event, "lead.created");
    expect(id).toMatch(UUID_V8);
    expect(deliveryIdFor(endpoint, event, "lead.created")).toBe(id);
    const others = [deliveryIdFor(randomUUID(), event, "lead.created"), deliveryIdFor(endpoint, randomUUID(), "lead.created"), deliveryIdFor(endpoint, event, "lead.updated")];
    for (const other of others) {
      expect(other).toMatch(UUID_V8);
      expect(other).not.toBe(id);
    }
    // A PostgreSQL uuid column takes it as it is.
    const [row] = await server.db.prisma.$queryRawUnsafe<{ id: string }[]>(`SELECT $1::uuid::text AS id`, id);
    expect(row!.id).toBe(id);
  });

  test("a fan-out that runs again renders the same deliveries", async () => {
    const contact = await createContact();
    const to = target("VELERIA");
    const event = contactEvent("UPDATED", { id: contact.id, tenantId: tenant.id });
    const first = await render(to, event);
    expect(await render(to, event)).toStrictEqual(first);
    expect(await createRenderer(server.db.prisma).render(to, event, OCCURRED_AT)).toStrictEqual(first);
  });
});

describe("contacts (Veleria)", () => {
  test("contact.created and contact.updated carry GET /api/v1/contacts/:id's contact", async () => {
    const contact = await createContact();
    const { data } = await get("VELERIA", `/api/v1/contacts/${contact.globalId}`);
    for (const type of ["CREATED", "UPDATED"] as const) {
      const event = contactEvent(type, { id: contact.id, tenantId: tenant.id });
      const to = target("VELERIA");
      const deliveries = await render(to, event);
      expect(names(deliveries)).toEqual([type === "CREATED" ? "contact.created" : "contact.updated"]);
      expectEnvelope("VELERIA", to, event, deliveries[0]!, data);
      // Convo and Vorel have no contact events.
      expect(await render(target("CONVO"), event)).toEqual([]);
      expect(await render(target("VOREL"), event)).toEqual([]);
      expect(await render(target("VELENTS_AGENT"), event)).toEqual([]);
    }
  });

  test("only the events the endpoint subscribed to", async () => {
    const contact = await createContact();
    const created = contactEvent("CREATED", { id: contact.id, tenantId: tenant.id });
    expect(await render(target("VELERIA", ["contact.updated", "booking.created"]), created)).toEqual([]);
    expect(names(await render(target("VELERIA", ["contact.created"]), created))).toEqual(["contact.created"]);
    expect(await render(target("VELERIA", []), created)).toEqual([]);
  });

  test("a contact deleted before fan-out is { id } in Veleria's id format", async () => {
    const contact = await createContact();
    const deleted = await restRequest(origin, "DELETE", `/api/v1/contacts/${contact.globalId}`, tokens.VELERIA);
    expect(deleted.status).toBe(200);
    const event = contactEvent("UPDATED", { id: contact.id, tenantId: tenant.id });
    const to = target("VELERIA");
    const deliveries = await render(to, event);
    expect(names(deliveries)).toEqual(["contact.updated"]);
    expectEnvelope("VELERIA", to, event, deliveries[0]!, { id: contact.globalId });
  });
});

describe("bookings (Veleria, Vorel)", () => {
  async function createBooking() {
    const contact = await createContact();
    const { createBooking: booking } = await gql(
      `mutation($input: CreateBookingInput!) { createBooking(input: $input) { id status } }`,
      {
        input: {
          contactId: contact.globalId,
          service: "Consultation",
          startsAt: "2031-03-04T09:00:00Z",
          endsAt: "2031-03-04T10:00:00Z",
          customerName: "Sarah Lee",
          customerPhone: "+61400000000",
          notes: "first visit",
          status: "CONFIRMED",
        },
      },
    );
    return { globalId: booking.id as string, id: rawId(booking.id), status: booking.status as string };
  }

  /** Veleria has no GET of one booking: its list shows it. */
  async function veleriaBooking(globalId: string) {
    const { data } = await get("VELERIA", `/api/v1/bookings?per_page=100&from=2031-03-04T00:00:00Z&to=2031-03-05T00:00:00Z`);
    const found = data.find((row: { id: string }) => row.id === globalId);
    expect(found).toBeDefined();
    return found;
  }

  test("each type's names per dialect", async () => {
    const booking = await createBooking();
    const expected: Record<string, [string[], string[]]> = {
      CREATED: [["booking.created"], ["booking.created"]],
      CANCELLED: [["booking.cancelled"], ["booking.cancelled"]],
      RESCHEDULED: [[], ["booking.rescheduled"]],
      COMPLETED: [[], ["booking.completed"]],
      UPDATED: [[], []],
    };
    for (const [type, [veleria, vorel]] of Object.entries(expected)) {
      const event = bookingEvent(type as never, { id: booking.id, tenantId: tenant.id, status: booking.status as never });
      expect(names(await render(target("VELERIA"), event)), type).toEqual(veleria);
      expect(names(await render(target("VOREL"), event)), type).toEqual(vorel);
      expect(await render(target("CONVO"), event), type).toEqual([]);
    }
  });

  test("data: Veleria's booking as its list shows it, Vorel's appointment as GET /appointments/:id answers it", async () => {
    const booking = await createBooking();
    const event = bookingEvent("CREATED", { id: booking.id, tenantId: tenant.id, status: "CONFIRMED" });
    const veleria = target("VELERIA");
    const [velDelivery] = await render(veleria, event);
    expectEnvelope("VELERIA", veleria, event, velDelivery!, await veleriaBooking(booking.globalId));
    const vorel = target("VOREL");
    const [vorDelivery] = await render(vorel, event);
    expectEnvelope("VOREL", vorel, event, vorDelivery!, await get("VOREL", `/api/v1/appointments/${booking.id}`));
    expect(bodyOf(vorDelivery).data.id).toBe(booking.id);
    expect(bodyOf(velDelivery).data.id).toBe(booking.globalId);
  });

  test("a booking that no longer exists is { id } in each dialect's format", async () => {
    const id = randomUUID();
    const event = bookingEvent("CANCELLED", { id, tenantId: tenant.id, status: "CANCELLED" });
    expect(bodyOf((await render(target("VELERIA"), event))[0]).data).toStrictEqual({ id: `bkg_${id}` });
    expect(bodyOf((await render(target("VOREL"), event))[0]).data).toStrictEqual({ id });
  });
});

describe("leads (Convo, Vorel)", () => {
  async function createLead(status = "NEW") {
    const conversation = await createConversation();
    const { createLead: lead } = await gql(`mutation($input: CreateLeadInput!) { createLead(input: $input) { id } }`, {
      input: { conversationId: `conv_${conversation.id}`, status, score: 40, source: "web", fields: { name: "Sarah", budget: 300 }, crmExternalId: "crm-1" },
    });
    return rawId(lead.id);
  }

  test("lead.created: Convo's lead as its list shows it, Vorel's as GET /leads/:id answers it", async () => {
    const id = await createLead();
    const event = leadEvent("CREATED", { id, tenantId: tenant.id, status: "NEW" });
    const convo = target("CONVO");
    const convoDeliveries = await render(convo, event);
    expect(names(convoDeliveries)).toEqual(["lead.created"]);
    const listed = (await get("CONVO", "/api/v1/leads?limit=100")).find((row: { id: string }) => row.id === id);
    expect(listed).toBeDefined();
    expectEnvelope("CONVO", convo, event, convoDeliveries[0]!, listed);
    const vorel = target("VOREL");
    const vorelDeliveries = await render(vorel, event);
    expect(names(vorelDeliveries)).toEqual(["lead.created"]);
    expectEnvelope("VOREL", vorel, event, vorelDeliveries[0]!, await get("VOREL", `/api/v1/leads/${id}`));
    expect(await render(target("VELERIA"), event)).toEqual([]);
  });

  test("lead.qualified only when the lead leaves NEW", async () => {
    const id = await createLead("QUALIFIED");
    const facts = { id, tenantId: tenant.id, status: "QUALIFIED" as const };
    const vorel = target("VOREL");
    const leaving = leadEvent("UPDATED", facts, "NEW");
    const deliveries = await render(vorel, leaving);
    expect(names(deliveries)).toEqual(["lead.updated", "lead.qualified"]);
    const data = await get("VOREL", `/api/v1/leads/${id}`);
    for (const delivery of deliveries) expectEnvelope("VOREL", vorel, leaving, delivery, data);
    expect(new Set(deliveries.map((delivery) => delivery.id)).size).toBe(2);
    expect(names(await render(target("VOREL"), leadEvent("UPDATED", facts, "QUALIFIED")))).toEqual(["lead.updated"]);
    expect(names(await render(target("VOREL"), leadEvent("UPDATED", facts)))).toEqual(["lead.updated"]);
    expect(names(await render(target("VOREL"), leadEvent("UPDATED", { ...facts, status: "NEW" }, "NEW")))).toEqual(["lead.updated"]);
    // Convo has no lead.qualified.
    expect(names(await render(target("CONVO"), leaving))).toEqual(["lead.updated"]);
    // Subscribed to lead.qualified alone.
    expect(names(await render(target("VOREL", ["lead.qualified"]), leaving))).toEqual(["lead.qualified"]);
  });
});

describe("conversations (Convo, Vorel)", () => {
  test("each type's names per dialect, with GET /conversations/:id's conversation", async () => {
    const conversation = await createConversation();
    await addMessage(conversation.id, "USER", "Hi, is Tuesday free?");
    const convoData = await get("CONVO", `/api/v1/conversations/${conversation.id}`);
    const vorelData = await get("VOREL", `/api/v1/conversations/${conversation.id}`);
    expect(convoData.messages).toHaveLength(1);
    const expected: Record<string, [string[], string[]]> = {
      CREATED: [["conversation.created"], ["conversation.created"]],
      UPDATED: [["conversation.updated"], []],
      CLOSED: [["conversation.closed"], ["conversation.closed"]],
      HANDOFF_REQUESTED: [["conversation.handed_off"], ["conversation.handoff_requested"]],
    };
    for (const [type, [convoNames, vorelNames]] of Object.entries(expected)) {
      const event = conversationEvent(type as never, conversation);
      const convo = target("CONVO");
      const convoDeliveries = await render(convo, event);
      expect(names(convoDeliveries), type).toEqual(convoNames);
      for (const delivery of convoDeliveries) expectEnvelope("CONVO", convo, event, delivery, convoData);
      const vorel = target("VOREL");
      const vorelDeliveries = await render(vorel, event);
      expect(names(vorelDeliveries), type).toEqual(vorelNames);
      for (const delivery of vorelDeliveries) expectEnvelope("VOREL", vorel, event, delivery, vorelData);
      expect(await render(target("VELERIA"), event), type).toEqual([]);
    }
    const updated = conversationEvent("MESSAGE_UPDATED", conversation, { messageId: randomUUID() });
    for (const dialect of ["VELERIA", "CONVO", "VOREL", "VELENTS_AGENT"] as const) expect(await render(target(dialect), updated)).toEqual([]);
  });

  test("a conversation that no longer exists is { id }", async () => {
    const conversation = await createConversation();
    const event = conversationEvent("CLOSED", conversation);
    await server.db.prisma.conversation.delete({ where: { id: conversation.id } });
    expect(bodyOf((await render(target("CONVO"), event))[0]).data).toStrictEqual({ id: conversation.id });
    expect(bodyOf((await render(target("VOREL"), event))[0]).data).toStrictEqual({ id: conversation.id });
  });
});

describe("messages (Convo, Veleria)", () => {
  test("a customer's message: Convo message.created as its transcript lists it, Veleria message.received", async () => {
    const contact = await createContact();
    const conversation = await createConversation({ contactId: contact.globalId });
    const messageId = await addMessage(conversation.id, "USER", "Do you have anything on Friday?");
    const event = conversationEvent("MESSAGE_ADDED", conversation, { messageId });
    const convo = target("CONVO");
    const convoDeliveries = await render(convo, event);
    expect(names(convoDeliveries)).toEqual(["message.created"]);
    const { messages } = await get("CONVO", `/api/v1/conversations/${conversation.id}`);
    expectEnvelope("CONVO", convo, event, convoDeliveries[0]!, messages.find((message: { id: string }) => message.id === messageId));

    const veleria = target("VELERIA");
    const veleriaDeliveries = await render(veleria, event);
    expect(names(veleriaDeliveries)).toEqual(["message.received"]);
    const row = await server.db.prisma.message.findUniqueOrThrow({ where: { id: messageId } });
    expectEnvelope("VELERIA", veleria, event, veleriaDeliveries[0]!, {
      id: `msg_${messageId}`,
      conversation_id: `conv_${conversation.id}`,
      contact_id: contact.globalId,
      channel: "whatsapp",
      role: "user",
      content: "Do you have anything on Friday?",
      sequence: row.sequence,
      status: null,
      created_at: row.createdAt.toISOString(),
    });
    // Subscribed to message.sent only: nothing for a received message.
    expect(await render(target("VELERIA", ["message.sent"]), event)).toEqual([]);
    expect(await render(target("VOREL"), event)).toEqual([]);
  });

  test("a message sent through Veleria: message.sent carries what POST /messages/send answered", async () => {
    const contact = await createContact();
    const sent = await restRequest(origin, "POST", "/api/v1/messages/send", tokens.VELERIA, { contact_id: contact.globalId, channel: "whatsapp", content: "See you on Friday!" });
    expect(sent.status, JSON.stringify(sent.body)).toBe(201);
    const conversation = await server.db.prisma.conversation.findUniqueOrThrow({ where: { id: rawId(sent.body.data.conversation_id) } });
    const event = conversationEvent("MESSAGE_ADDED", conversation, { messageId: rawId(sent.body.data.id) });
    const veleria = target("VELERIA");
    const deliveries = await render(veleria, event);
    expect(names(deliveries)).toEqual(["message.sent"]);
    expectEnvelope("VELERIA", veleria, event, deliveries[0]!, sent.body.data);
    expect(names(await render(target("VELERIA", ["message.received"]), event))).toEqual([]);
  });

  test("operator and system messages", async () => {
    const conversation = await createConversation();
    const operator = conversationEvent("MESSAGE_ADDED", conversation, { messageId: await addMessage(conversation.id, "OPERATOR", "Olga here") });
    expect(names(await render(target("VELERIA"), operator))).toEqual(["message.sent"]);
    expect(bodyOf((await render(target("CONVO"), operator))[0]).data.role).toBe("ASSISTANT");
    const system = conversationEvent("MESSAGE_ADDED", conversation, { messageId: await addMessage(conversation.id, "SYSTEM", "Assigned to Olga") });
    expect(await render(target("VELERIA"), system)).toEqual([]);
    expect(names(await render(target("CONVO"), system))).toEqual(["message.created"]);
  });

  test("a message that no longer exists: { id } for Convo, nothing for Veleria (its name depends on the role)", async () => {
    const conversation = await createConversation();
    const messageId = randomUUID();
    const event = conversationEvent("MESSAGE_ADDED", conversation, { messageId });
    expect(bodyOf((await render(target("CONVO"), event))[0]).data).toStrictEqual({ id: messageId });
    expect(await render(target("VELERIA"), event)).toEqual([]);
  });
});

describe("Agent.sa", () => {
  const EXTRA = { call_id: "c-1", event: "spoofed", result: "spoofed", campaign: { name: "spring" } };

  async function dispatched() {
    const { createAgent: agent } = await gql(`mutation { createAgent(input: { name: "Booking bot", status: PUBLISHED }) { id number publicId } }`);
    const conversation = await createConversation({ agentId: agent.id, inputValues: { company_name: "acme", order_id: "1212" } });
    const agentToken = (await issueToken(server.db.prisma, { tenantId: tenant.id, name: "agent.sa", format: "VELENTS_AGENT", scopes: ["agents:read"], agentId: rawId(agent.id) })).secret;
    const reply = await restRequest(origin, "GET", "/Integration/Agent", agentToken);
    expect(reply.status).toBe(200);
    return { conversation, agent: { id: reply.body.data.id as number, public: reply.body.data.public as string } };
  }

  const agentTarget = () => target("VELENTS_AGENT", [], EXTRA);
  const iso = (date: Date) => date.toISOString().replace(/\.\d{3}Z$/, "Z");
  const messageRow = (id: string) => server.db.prisma.message.findUniqueOrThrow({ where: { id } });

  test("onStarted: the documented shape, integer ids, the agent's public name, extraction [], the extra body merged under the documented keys", async () => {
    const { conversation, agent } = await dispatched();
    expect(Number.isInteger(agent.id)).toBe(true);
    const to = agentTarget();
    const event = conversationEvent("CREATED", conversation, { started: true });
    const deliveries = await render(to, event);
    expect(names(deliveries)).toEqual(["onStarted"]);
    expect(deliveries[0]!.id).toBe(deliveryIdFor(to.id, event.id, "onStarted"));
    expect(bodyOf(deliveries[0])).toStrictEqual({
      event: { type: "onStarted", about: "conversation" },
      agent,
      conversation: {
        id: conversation.number,
        phone: conversation.customerIdentifier,
        values: { company_name: "acme", order_id: "1212" },
        created_at: conversation.createdAt.toISOString().slice(0, 19).replace("T", " "),
      },
      result: { extraction: [] },
      call_id: "c-1",
      campaign: { name: "spring" },
    });
    expect(bodyOf(deliveries[0]).conversation.created_at).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    // Not started by a dispatch: nothing.
    expect(await render(agentTarget(), conversationEvent("CREATED", conversation))).toEqual([]);
    // The registered dialects send it as their own conversation.created.
    expect(names(await render(target("CONVO"), event))).toEqual(["conversation.created"]);
  });

  test("onMessage: the agent's reply with the customer's message before it", async () => {
    const { conversation, agent } = await dispatched();
    const first = await addMessage(conversation.id, "ASSISTANT", "مرحبا! أنا مساعد acme");
    const opening = await render(agentTarget(), conversationEvent("MESSAGE_ADDED", conversation, { messageId: first }));
    expect(bodyOf(opening[0]).result.message).toStrictEqual({ customer: null, agent: "مرحبا! أنا مساعد acme", timestamp: iso((await messageRow(first)).createdAt) });

    const customer = await addMessage(conversation.id, "USER", "the date is today nightly 10 clock");
    expect(await render(agentTarget(), conversationEvent("MESSAGE_ADDED", conversation, { messageId: customer }))).toEqual([]);
    await addMessage(conversation.id, "OPERATOR", "(operator note)");
    const reply = await addMessage(conversation.id, "ASSISTANT", "ممتاز! تبي تحجز اليوم الساعة 10 بالليل");
    const deliveries = await render(agentTarget(), conversationEvent("MESSAGE_ADDED", conversation, { messageId: reply }));
    expect(names(deliveries)).toEqual(["onMessage"]);
    const timestamp = iso((await messageRow(reply)).createdAt);
    expect(timestamp).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    expect(bodyOf(deliveries[0])).toStrictEqual({
      event: { type: "onMessage", about: "conversation" },
      agent,
      conversation: { id: conversation.number, phone: conversation.customerIdentifier, values: { company_name: "acme", order_id: "1212" } },
      result: { extraction: [], message: { customer: "the date is today nightly 10 clock", agent: "ممتاز! تبي تحجز اليوم الساعة 10 بالليل", timestamp } },
      call_id: "c-1",
      campaign: { name: "spring" },
    });
  });

  test("onUpdate when the extraction changed: the extraction object, the latest exchange and the history; onEnded when closed", async () => {
    const { conversation, agent } = await dispatched();
    const ids = [
      await addMessage(conversation.id, "ASSISTANT", "مرحبا! أنا مساعد acme"),
      await addMessage(conversation.id, "USER", "my name is shady"),
      await addMessage(conversation.id, "SYSTEM", "extracted customer_name"),
      await addMessage(conversation.id, "ASSISTANT", "حياك يا Shady!"),
      await addMessage(conversation.id, "USER", "and my order?"),
    ];
    const rows = await Promise.all(ids.map(messageRow));
    const history = rows
      .filter((row) => row.role !== "SYSTEM")
      .map((row) => ({ role: row.role === "USER" ? "customer" : "agent", message: row.content, timestamp: iso(row.createdAt) }));

    // Before anything is extracted, the extraction is [].
    const early = await render(agentTarget(), conversationEvent("CLOSED", conversation));
    expect(bodyOf(early[0]).result.extraction).toEqual([]);

    await gql(`mutation($id: ID!) { updateConversation(id: $id, input: { extractedValues: { customer_name: "shady" } }) { id } }`, { id: `conv_${conversation.id}` });
    const update = conversationEvent("UPDATED", conversation, { changed: ["extractedValues"] });
    const deliveries = await render(agentTarget(), update);
    expect(names(deliveries)).toEqual(["onUpdate"]);
    const conversationPart = { id: conversation.number, phone: conversation.customerIdentifier, values: { company_name: "acme", order_id: "1212" } };
    expect(bodyOf(deliveries[0])).toStrictEqual({
      event: { type: "onUpdate", about: "conversation" },
      agent,
      conversation: conversationPart,
      result: {
        extraction: { customer_name: "shady" },
        message: { customer: "my name is shady", agent: "حياك يا Shady!", timestamp: iso(rows[3]!.createdAt) },
        history,
      },
      call_id: "c-1",
      campaign: { name: "spring" },
    });
    // Other updates, and the UPDATED of a reopen (its extraction emptied), send no onUpdate.
    expect(await render(agentTarget(), conversationEvent("UPDATED", conversation, { changed: ["customerName"] }))).toEqual([]);
    expect(await render(agentTarget(), conversationEvent("UPDATED", conversation))).toEqual([]);
    expect(names(await render(agentTarget(), conversationEvent("UPDATED", conversation, { started: true, changed: ["extractedValues"] })))).toEqual(["onStarted"]);

    const ended = await render(agentTarget(), conversationEvent("CLOSED", conversation));
    expect(names(ended)).toEqual(["onEnded"]);
    expect(bodyOf(ended[0])).toStrictEqual({
      event: { type: "onEnded", about: "conversation" },
      agent,
      conversation: conversationPart,
      result: { extraction: { customer_name: "shady" }, history },
      call_id: "c-1",
      campaign: { name: "spring" },
    });
  });

  test("the history holds the last 100 messages, oldest first", async () => {
    const { conversation } = await dispatched();
    await server.db.prisma.message.createMany({
      data: Array.from({ length: 105 }, (_, index) => ({
        tenantId: tenant.id,
        conversationId: conversation.id,
        role: index % 2 === 0 ? ("USER" as const) : ("ASSISTANT" as const),
        content: `message ${index}`,
        createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, index)),
      })),
    });
    const [delivery] = await render(agentTarget(), conversationEvent("CLOSED", conversation));
    const { history } = bodyOf(delivery).result;
    expect(history).toHaveLength(100);
    expect(history[0]).toStrictEqual({ role: "agent", message: "message 5", timestamp: "2026-01-01T00:00:05Z" });
    expect(history[99].message).toBe("message 104");
  });

  test("an extra body that is not an object is left out; other events and a gone conversation send nothing", async () => {
    const { conversation } = await dispatched();
    const [delivery] = await render(target("VELENTS_AGENT", [], ["not", "an", "object"]), conversationEvent("CLOSED", conversation));
    expect(Object.keys(bodyOf(delivery))).toEqual(["event", "agent", "conversation", "result"]);
    expect(await render(agentTarget(), conversationEvent("HANDOFF_REQUESTED", conversation))).toEqual([]);
    expect(await render(agentTarget(), leadEvent("CREATED", { id: randomUUID(), tenantId: tenant.id, status: "NEW" }))).toEqual([]);
    await server.db.prisma.conversation.delete({ where: { id: conversation.id } });
    expect(await render(agentTarget(), conversationEvent("CLOSED", conversation))).toEqual([]);
  });
});

describe("cost", () => {
  test("a render reads the tenant and its resource with one query each; the next endpoint of the dialect reuses them", async () => {
    // The server's own statement counter also sees its background fan-out (the writes below
    // record events): a renderer of its own on a counting client sees only the renderer's.
    let queries = 0;
    const counting = server.db.prisma.$extends({
      query: {
        $allOperations: ({ args, query }) => {
          queries += 1;
          return query(args);
        },
      },
    });
    // The extended client is the same client with a hook on every operation.
    const counted = createRenderer(counting as unknown as PrismaClient);
    const contact = await createContact();
    const conversation = await createConversation({ contactId: contact.globalId });
    const messageId = await addMessage(conversation.id, "ASSISTANT", "Booked for Friday");
    const cost = async (to: RenderTarget, event: DomainEvent) => {
      const before = queries;
      expect(await counted.render(to, event, OCCURRED_AT)).toHaveLength(1);
      return queries - before;
    };
    const message = conversationEvent("MESSAGE_ADDED", conversation, { messageId });
    const closed = conversationEvent("CLOSED", conversation);
    expect(await cost(target("VELERIA"), message)).toBe(2);
    expect(await cost(target("VELERIA"), message)).toBe(0);
    expect(await cost(target("CONVO"), message)).toBe(2);
    expect(await cost(target("CONVO"), closed)).toBe(2);
    expect(await cost(target("VOREL"), closed)).toBe(2);
    expect(await cost(target("VELERIA"), contactEvent("UPDATED", { id: contact.id, tenantId: tenant.id }))).toBe(2);
    // Agent.sa: one query, and one more for onMessage's customer message.
    expect(await cost(target("VELENTS_AGENT"), closed)).toBe(1);
    expect(await cost(target("VELENTS_AGENT"), conversationEvent("CREATED", conversation, { started: true }))).toBe(1);
    expect(await cost(target("VELENTS_AGENT"), message)).toBe(2);
  });
});
