// The scope matrix: every query and mutation of the schema, the canonical scope it needs,
// refused (FORBIDDEN naming that scope, nothing written) without it and served with it.
// Then nested fields: a type's read scope applies wherever the type appears.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { DATA_SCOPES, type Scope } from "../src/auth/scopes.js";
import { issueToken } from "../src/auth/viewer.js";
import { schema } from "../src/graphql/schema.js";
import { seedTenant, snapshot, type Seed } from "./fixtures.js";
import { startTestServer, type GraphQLResponse, type TestServer } from "./harness.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());

// ---------------------------------------------------------------------------------------
// The matrix.
// ---------------------------------------------------------------------------------------

interface Request {
  query: string;
  variables?: Record<string, unknown>;
}

interface Row {
  /** The root field: the coverage check below compares these with the schema. */
  field: string;
  kind: "query" | "mutation";
  /** Distinguishes several rows of one field (node of each type). */
  label?: string;
  /** The canonical scope the operation needs; null: none. */
  scope: Scope | null;
  /** What the selected fields need on top (mutations return types that carry read scopes). */
  selection?: Scope[];
  /** May write what the operation needs first (a QUEUED message to report on, say). */
  request(seed: Seed): Request | Promise<Request>;
  /** Checks a successful answer, and for mutations that the write happened. */
  verify(data: any, seed: Seed): void | Promise<void>;
}

const prisma = () => server.db.prisma;

function nodeRow(label: string, scope: Scope | null, idOf: (s: Seed) => string, fragment: string, expected: (s: Seed) => object): Row {
  return {
    field: "node",
    kind: "query",
    label,
    scope,
    request: (s) => ({ query: `query($id: ID!) { node(id: $id) { id ${fragment} } }`, variables: { id: idOf(s) } }),
    verify: (data, s) => expect(data.node).toEqual({ id: idOf(s), ...expected(s) }),
  };
}

/** A webhook endpoint of the seed's tenant with one FAILED delivery, written directly (as registration and fan-out would). */
async function webhookOf(s: Seed) {
  const tenantId = s.tenant.id;
  // Port 9 refuses at once: a redelivery's attempt fails fast and sends nothing anywhere.
  const endpoint = await prisma().webhookEndpoint.create({
    data: { tenantId, dialect: "CONVO", url: "http://127.0.0.1:9/matrix", events: ["lead.created"], secretPrefix: "wh_0000" },
  });
  const event = await prisma().event.create({ data: { id: randomUUID(), tenantId, topic: "lead", type: "CREATED", facts: {}, occurredAt: new Date() } });
  const delivery = await prisma().webhookDelivery.create({
    data: { tenantId, endpointId: endpoint.id, eventId: event.id, eventName: "lead.created", body: '{"event":"lead.created"}', status: "FAILED", attemptCount: 1 },
  });
  return { endpoint, delivery, endpointId: `whe_${endpoint.id}`, deliveryId: `whd_${delivery.id}` };
}

const ROWS: Row[] = [
  // ----- queries -----
  {
    field: "agents",
    kind: "query",
    scope: "agents:read",
    request: () => ({ query: `{ agents { totalCount edges { node { id name } } } }` }),
    verify: (data, s) => expect(data.agents).toEqual({ totalCount: 1, edges: [{ node: { id: s.id.agent, name: "Sales agent" } }] }),
  },
  {
    field: "apiTokens",
    kind: "query",
    scope: "admin",
    request: () => ({ query: `{ apiTokens { totalCount edges { node { id name } } } }` }),
    verify: async (data, s) => {
      const count = await prisma().apiToken.count({ where: { tenantId: s.tenant.id } });
      expect(data.apiTokens.totalCount).toBe(count);
      expect(data.apiTokens.edges.map((e: any) => e.node.id)).toContain(s.id.token);
    },
  },
  {
    field: "bookings",
    kind: "query",
    scope: "bookings:read",
    request: (s) => ({
      query: `query($c: ID) { bookings(contactId: $c) { totalCount edges { node { id service } } } }`,
      variables: { c: s.id.contact },
    }),
    verify: (data, s) =>
      expect(data.bookings).toEqual({ totalCount: 1, edges: [{ node: { id: s.id.booking, service: "Personal Training" } }] }),
  },
  {
    field: "channels",
    kind: "query",
    scope: "channels:read",
    request: (s) => ({
      query: `query($a: ID) { channels(agentId: $a) { totalCount edges { node { id name } } } }`,
      variables: { a: s.id.agent },
    }),
    verify: (data, s) =>
      expect(data.channels).toEqual({ totalCount: 1, edges: [{ node: { id: s.id.channel, name: "Studio WhatsApp" } }] }),
  },
  {
    field: "contacts",
    kind: "query",
    scope: "contacts:read",
    request: () => ({ query: `{ contacts(search: "ada") { totalCount edges { node { id email } } } }` }),
    verify: (data, s) =>
      expect(data.contacts).toEqual({ totalCount: 1, edges: [{ node: { id: s.id.contact, email: "ada@example.com" } }] }),
  },
  {
    field: "conversations",
    kind: "query",
    scope: "conversations:read",
    request: (s) => ({
      query: `query($t: [ID!]) { conversations(tagIds: $t) { totalCount edges { node { id customerIdentifier } } } }`,
      variables: { t: [s.id.tag] },
    }),
    verify: (data, s) =>
      expect(data.conversations).toEqual({
        totalCount: 1,
        edges: [{ node: { id: s.id.conversation, customerIdentifier: "+48111222333" } }],
      }),
  },
  {
    field: "leads",
    kind: "query",
    scope: "leads:read",
    request: () => ({ query: `{ leads(sort: SCORE) { totalCount edges { node { id source } } } }` }),
    verify: (data, s) => expect(data.leads).toEqual({ totalCount: 1, edges: [{ node: { id: s.id.lead, source: "whatsapp-lead" } }] }),
  },
  {
    field: "tags",
    kind: "query",
    scope: "conversations:read",
    request: () => ({ query: `{ tags { totalCount edges { node { id name } } } }` }),
    verify: (data, s) => expect(data.tags).toEqual({ totalCount: 1, edges: [{ node: { id: s.id.tag, name: "vip" } }] }),
  },
  {
    field: "viewer",
    kind: "query",
    scope: null,
    request: () => ({ query: `{ viewer { scopes tenant { id } token { name } } }` }),
    verify: (data, s) => expect(data.viewer).toEqual({ scopes: [], tenant: { id: s.id.tenant }, token: { name: "matrix" } }),
  },
  nodeRow("Contact", "contacts:read", (s) => s.id.contact, "... on Contact { email }", () => ({ email: "ada@example.com" })),
  nodeRow("Lead", "leads:read", (s) => s.id.lead, "... on Lead { source }", () => ({ source: "whatsapp-lead" })),
  nodeRow("Agent", "agents:read", (s) => s.id.agent, "... on Agent { name }", () => ({ name: "Sales agent" })),
  nodeRow("Channel", "channels:read", (s) => s.id.channel, "... on Channel { name }", () => ({ name: "Studio WhatsApp" })),
  nodeRow("Conversation", "conversations:read", (s) => s.id.conversation, "... on Conversation { customerName }", () => ({
    customerName: "Ada",
  })),
  nodeRow("Message", "conversations:read", (s) => s.id.message, "... on Message { content }", () => ({ content: "Hello there" })),
  nodeRow("Tag", "conversations:read", (s) => s.id.tag, "... on Tag { name }", () => ({ name: "vip" })),
  nodeRow("Booking", "bookings:read", (s) => s.id.booking, "... on Booking { service }", () => ({ service: "Personal Training" })),
  nodeRow("Ticket", "tickets:read", (s) => s.id.ticket, "... on Ticket { subject }", () => ({ subject: "Order question" })),
  nodeRow("Offering", "offerings:read", (s) => s.id.offering, "... on Offering { title price }", () => ({ title: "Marina apartment", price: "1250.00" })),
  // ----- offerings -----
  {
    field: "offerings",
    kind: "query",
    scope: "offerings:read",
    request: () => ({ query: `{ offerings { totalCount edges { node { id title } } } }` }),
    verify: (data, s) => expect(data.offerings).toEqual({ totalCount: 1, edges: [{ node: { id: s.id.offering, title: "Marina apartment" } }] }),
  },
  {
    field: "createOffering",
    kind: "mutation",
    scope: "offerings:write",
    // The offering it returns is readable through the "written" grant.
    request: () => ({ query: `mutation { createOffering(input: { title: "Matrix villa", price: "2500000.00" }) { title price priceCurrency } }` }),
    verify: async (data, s) => {
      expect(data.createOffering).toEqual({ title: "Matrix villa", price: "2500000.00", priceCurrency: "AED" });
      expect(await prisma().offering.count({ where: { tenantId: s.tenant.id, title: "Matrix villa" } })).toBe(1);
    },
  },
  {
    field: "updateOffering",
    kind: "mutation",
    scope: "offerings:write",
    request: (s) => ({
      query: `mutation($id: ID!) { updateOffering(id: $id, input: { price: "1300", attributesPatch: { bedrooms: 3 } }) { price attributes } }`,
      variables: { id: s.id.offering },
    }),
    verify: async (data, s) => {
      expect(data.updateOffering).toEqual({ price: "1300.00", attributes: { bedrooms: 3 } });
      expect((await prisma().offering.findUniqueOrThrow({ where: { id: s.raw.offering.id } })).price.toFixed(2)).toBe("1300.00");
    },
  },
  {
    field: "deleteOffering",
    kind: "mutation",
    scope: "offerings:write",
    request: (s) => ({ query: `mutation($id: ID!) { deleteOffering(id: $id) }`, variables: { id: s.id.offering } }),
    verify: async (data, s) => {
      expect(data.deleteOffering).toBe(s.id.offering);
      expect((await prisma().offering.findUniqueOrThrow({ where: { id: s.raw.offering.id } })).deletedAt).not.toBeNull();
    },
  },
  // ----- support tickets -----
  {
    field: "tickets",
    kind: "query",
    scope: "tickets:read",
    request: () => ({ query: `{ tickets { totalCount edges { node { id subject } } } }` }),
    verify: (data, s) => expect(data.tickets).toEqual({ totalCount: 1, edges: [{ node: { id: s.id.ticket, subject: "Order question" } }] }),
  },
  {
    field: "createTicket",
    kind: "mutation",
    scope: "tickets:write",
    // The ticket it returns is readable through the "written" grant; its conversation is not.
    request: () => ({ query: `mutation { createTicket(input: { subject: "Matrix case", message: "Help" }) { subject status } }` }),
    verify: async (data, s) => {
      expect(data.createTicket).toEqual({ subject: "Matrix case", status: "OPEN" });
      const ticket = await prisma().ticket.findFirstOrThrow({ where: { tenantId: s.tenant.id, subject: "Matrix case" }, include: { conversation: true } });
      expect(ticket.conversation.channelType).toBe("SUPPORT");
      expect(await prisma().message.count({ where: { conversationId: ticket.conversationId } })).toBe(1);
    },
  },
  {
    field: "updateTicket",
    kind: "mutation",
    scope: "tickets:write",
    request: (s) => ({ query: `mutation($id: ID!) { updateTicket(id: $id, input: { status: PENDING, assignee: "olga" }) { status assignee } }`, variables: { id: s.id.ticket } }),
    verify: async (data, s) => {
      expect(data.updateTicket).toEqual({ status: "PENDING", assignee: "olga" });
      expect((await prisma().ticket.findUniqueOrThrow({ where: { id: s.raw.ticket.id } })).status).toBe("PENDING");
    },
  },
  // ----- webhooks -----
  {
    field: "webhookEndpoints",
    kind: "query",
    scope: "webhooks:read",
    request: async (s) => {
      await webhookOf(s);
      return { query: `{ webhookEndpoints { totalCount edges { node { url events } } } }` };
    },
    verify: (data) => expect(data.webhookEndpoints).toEqual({ totalCount: 1, edges: [{ node: { url: "http://127.0.0.1:9/matrix", events: ["lead.created"] } }] }),
  },
  {
    field: "node",
    kind: "query",
    label: "WebhookEndpoint",
    scope: "webhooks:read",
    request: async (s) => ({ query: `query($id: ID!) { node(id: $id) { ... on WebhookEndpoint { url secretPrefix } } }`, variables: { id: (await webhookOf(s)).endpointId } }),
    verify: (data) => expect(data.node).toEqual({ url: "http://127.0.0.1:9/matrix", secretPrefix: "wh_0000" }),
  },
  {
    field: "node",
    kind: "query",
    label: "WebhookDelivery",
    scope: "webhooks:read",
    request: async (s) => ({ query: `query($id: ID!) { node(id: $id) { ... on WebhookDelivery { eventName payload } } }`, variables: { id: (await webhookOf(s)).deliveryId } }),
    verify: (data) => expect(data.node).toEqual({ eventName: "lead.created", payload: { event: "lead.created" } }),
  },
  {
    field: "createWebhookEndpoint",
    kind: "mutation",
    scope: "webhooks:write",
    // The endpoint it returns is readable through the "written" grant.
    request: () => ({
      query: `mutation { createWebhookEndpoint(input: { dialect: CONVO, url: "https://hooks.example.com/matrix", events: ["lead.created"] }) { signingSecret endpoint { url } } }`,
    }),
    verify: async (data, s) => {
      expect(data.createWebhookEndpoint).toEqual({ signingSecret: expect.stringMatching(/^wh_[0-9a-f]{64}$/), endpoint: { url: "https://hooks.example.com/matrix" } });
      expect(await prisma().webhookEndpoint.count({ where: { tenantId: s.tenant.id, url: "https://hooks.example.com/matrix" } })).toBe(1);
    },
  },
  {
    field: "updateWebhookEndpoint",
    kind: "mutation",
    scope: "webhooks:write",
    request: async (s) => ({
      query: `mutation($id: ID!) { updateWebhookEndpoint(id: $id, input: { enabled: false }) { status disabledReason } }`,
      variables: { id: (await webhookOf(s)).endpointId },
    }),
    verify: async (data, s) => {
      expect(data.updateWebhookEndpoint).toEqual({ status: "DISABLED", disabledReason: "disabled by its owner" });
      expect(await prisma().webhookEndpoint.count({ where: { tenantId: s.tenant.id, status: "DISABLED" } })).toBe(1);
    },
  },
  {
    field: "rotateWebhookSecret",
    kind: "mutation",
    scope: "webhooks:write",
    request: async (s) => ({
      query: `mutation($id: ID!) { rotateWebhookSecret(id: $id) { signingSecret endpoint { secretPrefix } } }`,
      variables: { id: (await webhookOf(s)).endpointId },
    }),
    verify: async (data, s) => {
      const { signingSecret, endpoint } = data.rotateWebhookSecret;
      expect(signingSecret).toMatch(/^wh_[0-9a-f]{64}$/);
      expect(signingSecret.startsWith(endpoint.secretPrefix)).toBe(true);
      const row = await prisma().webhookEndpoint.findFirstOrThrow({ where: { tenantId: s.tenant.id } });
      expect(row.secretPrefix).toBe(endpoint.secretPrefix);
      expect(row.secretCiphertext).not.toBeNull();
    },
  },
  {
    field: "deleteWebhookEndpoint",
    kind: "mutation",
    scope: "webhooks:write",
    request: async (s) => ({ query: `mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }`, variables: { id: (await webhookOf(s)).endpointId } }),
    verify: async (data, s) => {
      expect(data.deleteWebhookEndpoint).toMatch(/^whe_/);
      expect(await prisma().webhookEndpoint.count({ where: { tenantId: s.tenant.id } })).toBe(0);
    },
  },
  {
    field: "redeliverWebhook",
    kind: "mutation",
    scope: "webhooks:write",
    selection: ["webhooks:read"],
    request: async (s) => ({ query: `mutation($id: ID!) { redeliverWebhook(id: $id) { status eventName } }`, variables: { id: (await webhookOf(s)).deliveryId } }),
    verify: async (data, s) => {
      expect(data.redeliverWebhook).toEqual({ status: "PENDING", eventName: "lead.created" });
      // Queued again (its next attempt may already have failed and been scheduled: still PENDING).
      expect((await prisma().webhookDelivery.findFirstOrThrow({ where: { tenantId: s.tenant.id } })).status).toBe("PENDING");
    },
  },
  {
    field: "redeliverFailedWebhooks",
    kind: "mutation",
    scope: "webhooks:write",
    request: async (s) => ({
      query: `mutation($id: ID!, $since: DateTime!) { redeliverFailedWebhooks(endpointId: $id, since: $since) }`,
      variables: { id: (await webhookOf(s)).endpointId, since: new Date(0).toISOString() },
    }),
    verify: async (data, s) => {
      expect(data.redeliverFailedWebhooks).toBe(1);
      expect((await prisma().webhookDelivery.findFirstOrThrow({ where: { tenantId: s.tenant.id } })).status).toBe("PENDING");
    },
  },
  nodeRow("ApiToken (another)", "admin", (s) => s.id.token, "... on ApiToken { name }", () => ({ name: "agent dispatcher" })),
  nodeRow("Tenant", null, (s) => s.id.tenant, "... on Tenant { name }", () => ({ name: "Scopes" })),

  // ----- mutations -----
  {
    field: "addMessage",
    kind: "mutation",
    scope: "conversations:write",
    selection: ["conversations:read"],
    request: (s) => ({
      query: `mutation($input: AddMessageInput!) { addMessage(input: $input) { role content } }`,
      variables: { input: { conversationId: s.id.conversation, role: "ASSISTANT", content: "Matrix reply" } },
    }),
    verify: async (data, s) => {
      expect(data.addMessage).toEqual({ role: "ASSISTANT", content: "Matrix reply" });
      expect(await prisma().message.count({ where: { conversationId: s.raw.conversation.id } })).toBe(2);
    },
  },
  {
    field: "bulkUpdateConversations",
    kind: "mutation",
    scope: "conversations:write",
    request: (s) => ({
      query: `mutation($input: BulkUpdateConversationsInput!) { bulkUpdateConversations(input: $input) { updated skipped } }`,
      variables: { input: { ids: [s.id.conversation], action: "CLOSE" } },
    }),
    verify: async (data, s) => {
      expect(data.bulkUpdateConversations).toEqual({ updated: 1, skipped: 0 });
      expect((await prisma().conversation.findUniqueOrThrow({ where: { id: s.raw.conversation.id } })).status).toBe("CLOSED");
    },
  },
  {
    field: "cancelBooking",
    kind: "mutation",
    scope: "bookings:write",
    selection: ["bookings:read"],
    request: (s) => ({ query: `mutation($id: ID!) { cancelBooking(id: $id) { id status } }`, variables: { id: s.id.booking } }),
    verify: async (data, s) => {
      expect(data.cancelBooking).toEqual({ id: s.id.booking, status: "CANCELLED" });
      expect((await prisma().booking.findUniqueOrThrow({ where: { id: s.raw.booking.id } })).status).toBe("CANCELLED");
    },
  },
  {
    field: "createAgent",
    kind: "mutation",
    scope: "agents:write",
    selection: ["agents:read"],
    request: () => ({ query: `mutation { createAgent(input: { name: "Matrix agent" }) { name } }` }),
    verify: async (data, s) => {
      expect(data.createAgent).toEqual({ name: "Matrix agent" });
      expect(await prisma().agent.count({ where: { tenantId: s.tenant.id, name: "Matrix agent" } })).toBe(1);
    },
  },
  {
    field: "createApiToken",
    kind: "mutation",
    scope: "admin",
    // The caller can only grant what it holds: it holds contacts:read to grant it.
    selection: ["contacts:read"],
    request: () => ({
      query: `mutation { createApiToken(input: { name: "matrix grant", format: CONVO, scopes: [CONTACTS_READ] }) { secret token { name scopes } } }`,
    }),
    verify: async (data, s) => {
      expect(data.createApiToken.token).toEqual({ name: "matrix grant", scopes: ["CONTACTS_READ"] });
      expect(data.createApiToken.secret).toMatch(/^convo_[0-9a-f]{32}$/);
      expect(await prisma().apiToken.count({ where: { tenantId: s.tenant.id, name: "matrix grant" } })).toBe(1);
    },
  },
  {
    field: "createBooking",
    kind: "mutation",
    scope: "bookings:write",
    selection: ["bookings:read"],
    request: (s) => ({
      query: `mutation($input: CreateBookingInput!) { createBooking(input: $input) { service } }`,
      variables: {
        input: { contactId: s.id.contact, service: "Matrix session", startsAt: "2030-02-01T10:00:00Z", endsAt: "2030-02-01T11:00:00Z" },
      },
    }),
    verify: async (data, s) => {
      expect(data.createBooking).toEqual({ service: "Matrix session" });
      expect(await prisma().booking.count({ where: { tenantId: s.tenant.id, service: "Matrix session" } })).toBe(1);
    },
  },
  {
    field: "createChannel",
    kind: "mutation",
    scope: "channels:write",
    selection: ["channels:read"],
    request: (s) => ({
      query: `mutation($input: CreateChannelInput!) { createChannel(input: $input) { name type } }`,
      variables: { input: { type: "TELEGRAM", name: "Matrix channel", agentId: s.id.agent } },
    }),
    verify: async (data, s) => {
      expect(data.createChannel).toEqual({ name: "Matrix channel", type: "TELEGRAM" });
      expect(await prisma().channel.count({ where: { tenantId: s.tenant.id, name: "Matrix channel" } })).toBe(1);
    },
  },
  {
    field: "createContact",
    kind: "mutation",
    scope: "contacts:write",
    selection: ["contacts:read"],
    request: () => ({ query: `mutation { createContact(input: { firstName: "Matrix", email: "matrix@example.com" }) { email } }` }),
    verify: async (data, s) => {
      expect(data.createContact).toEqual({ email: "matrix@example.com" });
      expect(await prisma().contact.count({ where: { tenantId: s.tenant.id, email: "matrix@example.com" } })).toBe(1);
    },
  },
  {
    field: "createConversation",
    kind: "mutation",
    scope: "conversations:write",
    selection: ["conversations:read"],
    request: (s) => ({
      query: `mutation($input: CreateConversationInput!) { createConversation(input: $input) { customerIdentifier status } }`,
      variables: {
        input: { channelType: "WHATSAPP", channelId: s.id.channel, agentId: s.id.agent, contactId: s.id.contact, customerIdentifier: "+4900" },
      },
    }),
    verify: async (data, s) => {
      expect(data.createConversation).toEqual({ customerIdentifier: "+4900", status: "OPEN" });
      expect(await prisma().conversation.count({ where: { tenantId: s.tenant.id, customerIdentifier: "+4900" } })).toBe(1);
    },
  },
  {
    field: "createLead",
    kind: "mutation",
    scope: "leads:write",
    selection: ["leads:read"],
    request: (s) => ({
      query: `mutation($input: CreateLeadInput!) { createLead(input: $input) { source status } }`,
      variables: { input: { source: "matrix", contactId: s.id.contact, conversationId: s.id.conversation } },
    }),
    verify: async (data, s) => {
      expect(data.createLead).toEqual({ source: "matrix", status: "NEW" });
      expect(await prisma().lead.count({ where: { tenantId: s.tenant.id, source: "matrix" } })).toBe(1);
    },
  },
  {
    field: "createTag",
    kind: "mutation",
    scope: "conversations:write",
    selection: ["conversations:read"],
    request: () => ({ query: `mutation { createTag(name: "matrix", color: "#112233") { name color } }` }),
    verify: async (data, s) => {
      expect(data.createTag).toEqual({ name: "matrix", color: "#112233" });
      expect(await prisma().tag.count({ where: { tenantId: s.tenant.id, name: "matrix" } })).toBe(1);
    },
  },
  {
    field: "deleteContact",
    kind: "mutation",
    scope: "contacts:write",
    request: (s) => ({ query: `mutation($id: ID!) { deleteContact(id: $id) }`, variables: { id: s.id.contact } }),
    verify: async (data, s) => {
      expect(data.deleteContact).toBe(s.id.contact);
      expect(await prisma().contact.count({ where: { id: s.raw.contact.id } })).toBe(0);
    },
  },
  {
    field: "revokeApiToken",
    kind: "mutation",
    scope: "admin",
    request: (s) => ({ query: `mutation($id: ID!) { revokeApiToken(id: $id) { id } }`, variables: { id: s.id.token } }),
    verify: async (data, s) => {
      expect(data.revokeApiToken).toEqual({ id: s.id.token });
      expect((await prisma().apiToken.findUniqueOrThrow({ where: { id: s.raw.other.id } })).revokedAt).not.toBeNull();
    },
  },
  {
    field: "sendOperatorMessage",
    kind: "mutation",
    scope: "conversations:write",
    selection: ["conversations:read"],
    request: (s) => ({
      query: `mutation($c: ID!) { sendOperatorMessage(conversationId: $c, content: "Operator here") { role content } }`,
      variables: { c: s.id.conversation },
    }),
    verify: async (data, s) => {
      expect(data.sendOperatorMessage).toEqual({ role: "OPERATOR", content: "Operator here" });
      expect(await prisma().message.count({ where: { conversationId: s.raw.conversation.id, role: "OPERATOR" } })).toBe(1);
    },
  },
  {
    field: "sendMessage",
    kind: "mutation",
    scope: "conversations:write",
    selection: ["conversations:read"],
    request: (s) => ({
      query: `mutation($input: SendMessageInput!) { sendMessage(input: $input) { role content sequence deliveryStatus } }`,
      variables: { input: { conversationId: s.id.conversation, content: "Your table is booked" } },
    }),
    verify: async (data, s) => {
      expect(data.sendMessage).toEqual({ role: "ASSISTANT", content: "Your table is booked", sequence: 2, deliveryStatus: "QUEUED" });
      expect(await prisma().message.count({ where: { conversationId: s.raw.conversation.id, deliveryStatus: "QUEUED" } })).toBe(1);
    },
  },
  {
    field: "sendMessageToContact",
    kind: "mutation",
    scope: "conversations:write",
    selection: ["conversations:read"],
    request: (s) => ({
      query: `mutation($input: SendMessageToContactInput!) { sendMessageToContact(input: $input) { role content deliveryStatus conversation { channelType customerIdentifier } } }`,
      variables: { input: { contactId: s.id.contact, channelType: "EMAIL", content: "Your invoice" } },
    }),
    verify: async (data, s) => {
      expect(data.sendMessageToContact).toEqual({
        role: "ASSISTANT",
        content: "Your invoice",
        deliveryStatus: "QUEUED",
        conversation: { channelType: "EMAIL", customerIdentifier: s.raw.contact.email },
      });
      expect(await prisma().conversation.count({ where: { contactId: s.raw.contact.id, channelType: "EMAIL" } })).toBe(1);
    },
  },
  {
    field: "reportMessageDelivery",
    kind: "mutation",
    scope: "conversations:write",
    selection: ["conversations:read"],
    request: async (s) => {
      const queued = await prisma().message.create({
        data: { tenantId: s.raw.conversation.tenantId, conversationId: s.raw.conversation.id, role: "ASSISTANT", content: "Queued", deliveryStatus: "QUEUED" },
      });
      return {
        query: `mutation($input: ReportMessageDeliveryInput!) { reportMessageDelivery(input: $input) { deliveryStatus deliveryError } }`,
        variables: { input: { messageId: `msg_${queued.id}`, status: "FAILED", error: "number unreachable" } },
      };
    },
    verify: async (data, s) => {
      expect(data.reportMessageDelivery).toEqual({ deliveryStatus: "FAILED", deliveryError: "number unreachable" });
      expect(await prisma().message.count({ where: { conversationId: s.raw.conversation.id, deliveryStatus: "FAILED" } })).toBe(1);
    },
  },
  {
    field: "updateBooking",
    kind: "mutation",
    scope: "bookings:write",
    selection: ["bookings:read"],
    request: (s) => ({
      query: `mutation($id: ID!) { updateBooking(id: $id, input: { notes: "matrix notes", status: CONFIRMED }) { notes status } }`,
      variables: { id: s.id.booking },
    }),
    verify: async (data, s) => {
      expect(data.updateBooking).toEqual({ notes: "matrix notes", status: "CONFIRMED" });
      expect((await prisma().booking.findUniqueOrThrow({ where: { id: s.raw.booking.id } })).notes).toBe("matrix notes");
    },
  },
  {
    field: "updateContact",
    kind: "mutation",
    scope: "contacts:write",
    selection: ["contacts:read"],
    request: (s) => ({
      query: `mutation($id: ID!) { updateContact(id: $id, input: { lastName: "Lovelace" }) { firstName lastName } }`,
      variables: { id: s.id.contact },
    }),
    verify: async (data, s) => {
      expect(data.updateContact).toEqual({ firstName: "Ada", lastName: "Lovelace" });
      expect((await prisma().contact.findUniqueOrThrow({ where: { id: s.raw.contact.id } })).lastName).toBe("Lovelace");
    },
  },
  {
    field: "updateConversation",
    kind: "mutation",
    scope: "conversations:write",
    selection: ["conversations:read"],
    request: (s) => ({
      query: `mutation($id: ID!) { updateConversation(id: $id, input: { status: HANDED_OFF, assignedOperator: "olga" }) { status assignedOperator } }`,
      variables: { id: s.id.conversation },
    }),
    verify: async (data, s) => {
      expect(data.updateConversation).toEqual({ status: "HANDED_OFF", assignedOperator: "olga" });
      expect((await prisma().conversation.findUniqueOrThrow({ where: { id: s.raw.conversation.id } })).status).toBe("HANDED_OFF");
    },
  },
  {
    field: "updateLeadStatus",
    kind: "mutation",
    scope: "leads:write",
    selection: ["leads:read"],
    request: (s) => ({ query: `mutation($id: ID!) { updateLeadStatus(id: $id, status: WON) { status } }`, variables: { id: s.id.lead } }),
    verify: async (data, s) => {
      expect(data.updateLeadStatus).toEqual({ status: "WON" });
      expect((await prisma().lead.findUniqueOrThrow({ where: { id: s.raw.lead.id } })).status).toBe("WON");
    },
  },
  {
    field: "updateLead",
    kind: "mutation",
    scope: "leads:write",
    selection: ["leads:read"],
    request: (s) => ({
      query: `mutation($id: ID!) { updateLead(id: $id, input: { score: 91, fieldsPatch: { budget: "5k" } }) { score fields } }`,
      variables: { id: s.id.lead },
    }),
    verify: async (data, s) => {
      expect(data.updateLead).toEqual({ score: 91, fields: { budget: "5k" } });
      expect((await prisma().lead.findUniqueOrThrow({ where: { id: s.raw.lead.id } })).score).toBe(91);
    },
  },
  {
    field: "requestLeadHandoff",
    kind: "mutation",
    scope: "leads:write",
    // The handoff it returns is readable through the "written" grant.
    request: (s) => ({ query: `mutation($id: ID!) { requestLeadHandoff(id: $id, reason: "matrix") { reason } }`, variables: { id: s.id.lead } }),
    verify: async (data, s) => {
      expect(data.requestLeadHandoff).toEqual({ reason: "matrix" });
      expect((await prisma().conversation.findUniqueOrThrow({ where: { id: s.raw.conversation.id } })).status).toBe("HANDED_OFF");
    },
  },
  {
    field: "dispatchConversation",
    kind: "mutation",
    scope: "conversations:write",
    // The conversation it returns is readable through the "written" grant.
    request: (s) => ({
      query: `mutation($input: DispatchConversationInput!) { dispatchConversation(input: $input) { status customerIdentifier inputValues } }`,
      variables: { input: { agentId: s.id.agent, channelType: "VOICE", phone: "+48 600 000 001", values: { order_id: "7" } } },
    }),
    verify: async (data, s) => {
      expect(data.dispatchConversation).toEqual({ status: "OPEN", customerIdentifier: "+48600000001", inputValues: { order_id: "7" } });
      expect(await prisma().conversation.count({ where: { tenantId: s.tenant.id, channelType: "VOICE", agentId: s.raw.agent.id } })).toBe(1);
    },
  },
  {
    field: "dispatchBatch",
    kind: "mutation",
    scope: "conversations:write",
    request: (s) => ({
      query: `mutation($input: DispatchBatchInput!) { dispatchBatch(input: $input) { batch { name } conversations { customerIdentifier } skipped { row } } }`,
      variables: { input: { agentId: s.id.agent, channelType: "VOICE", name: "matrix", rows: [{ phone: "+48600000001" }, { phone: "+48600000002" }] } },
    }),
    verify: async (data, s) => {
      expect(data.dispatchBatch).toEqual({ batch: { name: "matrix" }, conversations: [{ customerIdentifier: "+48600000001" }, { customerIdentifier: "+48600000002" }], skipped: [] });
      expect(await prisma().dispatchBatch.count({ where: { tenantId: s.tenant.id } })).toBe(1);
    },
  },
];

const rowName = (row: Row) => `${row.kind} ${row.field}${row.label ? ` (${row.label})` : ""}`;

test("the matrix covers every query and mutation of the schema, and nothing else", () => {
  const inSchema = [
    ...Object.keys(schema.getQueryType()!.getFields()).map((f) => `query ${f}`),
    ...Object.keys(schema.getMutationType()!.getFields()).map((f) => `mutation ${f}`),
  ].sort();
  const inTable = [...new Set(ROWS.map((row) => `${row.kind} ${row.field}`))].sort();
  expect(inTable).toEqual(inSchema);
});

describe.each(ROWS.map((row) => ({ name: rowName(row), row })))("$name", ({ row }) => {
  const scope = row.scope;
  if (scope !== null) {
    test(`is FORBIDDEN without ${scope} and writes nothing`, async () => {
      const seed = await seedTenant(server, "Scopes");
      const token = await seed.tenant.tokenWith(DATA_SCOPES.filter((held) => held !== scope));
      await server.gql(`{ viewer { scopes } }`, {}, token); // first use writes lastUsedAt: not part of the check
      const { query, variables } = await row.request(seed);
      const before = await snapshot(server, seed.tenant.id);
      const result = await server.gql(query, variables, token);
      expect(result.status).toBe(200);
      expect(result.errors, JSON.stringify(result)).toHaveLength(1);
      const [error] = result.errors!;
      expect(error!.extensions?.code).toBe("FORBIDDEN");
      expect(error!.extensions?.scope).toBe(scope);
      expect(error!.message).toContain(scope);
      expect(error!.path?.[0]).toBe(row.field);
      expect(result.data?.[row.field] ?? null).toBeNull();
      expect(await snapshot(server, seed.tenant.id)).toEqual(before);
    });
  }

  const needed = [...(scope ? [scope] : []), ...(row.selection ?? [])];
  test(`succeeds with just ${needed.length ? needed.join(" + ") : "a token holding no scope at all"}`, async () => {
    const seed = await seedTenant(server, "Scopes");
    const token = (await issueToken(server.db.prisma, { tenantId: seed.tenant.id, name: "matrix", format: "CONVO", scopes: needed }))
      .secret;
    const { query, variables } = await row.request(seed);
    const result = await server.gql(query, variables, token);
    expect(result.status).toBe(200);
    expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
    await row.verify(result.data, seed);
  });
});

// ---------------------------------------------------------------------------------------
// Nested fields carry their type's read scope wherever they appear.
// ---------------------------------------------------------------------------------------

interface NestedRow {
  name: string;
  /** Scopes the outer selection needs. */
  outer: Scope[];
  /** The scope the nested field needs, which the first token lacks. */
  inner: Scope;
  /** The nested field's name: the error's path goes through it. */
  field: string;
  query: string;
  /** Text that must not be in the answer without `inner`, and must be with it. */
  secret: (seed: Seed) => string;
}

const NESTED: NestedRow[] = [
  {
    name: "conversation { contact { email } }",
    outer: ["conversations:read"],
    inner: "contacts:read",
    field: "contact",
    query: `{ conversations { edges { node { id contact { email } } } } }`,
    secret: () => "ada@example.com",
  },
  {
    name: "conversation { agent { name } }",
    outer: ["conversations:read"],
    inner: "agents:read",
    field: "agent",
    query: `{ conversations { edges { node { id agent { name } } } } }`,
    secret: () => "Sales agent",
  },
  {
    name: "conversation { channel { name } }",
    outer: ["conversations:read"],
    inner: "channels:read",
    field: "channel",
    query: `{ conversations { edges { node { id channel { name } } } } }`,
    secret: () => "Studio WhatsApp",
  },
  {
    name: "conversation { leads { source } }",
    outer: ["conversations:read"],
    inner: "leads:read",
    field: "leads",
    query: `{ conversations { edges { node { id leads { source } } } } }`,
    secret: () => "whatsapp-lead",
  },
  {
    name: "lead { contact { email } }",
    outer: ["leads:read"],
    inner: "contacts:read",
    field: "contact",
    query: `{ leads { edges { node { id contact { email } } } } }`,
    secret: () => "ada@example.com",
  },
  {
    name: "lead { conversation { customerIdentifier } }",
    outer: ["leads:read"],
    inner: "conversations:read",
    field: "conversation",
    query: `{ leads { edges { node { id conversation { customerIdentifier } } } } }`,
    secret: () => "+48111222333",
  },
  {
    name: "booking { contact { email } }",
    outer: ["bookings:read"],
    inner: "contacts:read",
    field: "contact",
    query: `{ bookings { edges { node { id contact { email } } } } }`,
    secret: () => "ada@example.com",
  },
  {
    name: "booking { offering { title } }",
    outer: ["bookings:read"],
    inner: "offerings:read",
    field: "offering",
    query: `{ bookings { edges { node { id offeringId offering { title } } } } }`,
    secret: () => "Marina apartment",
  },
  {
    name: "agent { channels { name } }",
    outer: ["agents:read"],
    inner: "channels:read",
    field: "channels",
    query: `{ agents { edges { node { id channels { name } } } } }`,
    secret: () => "Studio WhatsApp",
  },
  {
    name: "channel { agent { name } }",
    outer: ["channels:read"],
    inner: "agents:read",
    field: "agent",
    query: `{ channels { edges { node { id agent { name } } } } }`,
    secret: () => "Sales agent",
  },
  {
    name: "apiToken { agent { name } }",
    outer: ["admin"],
    inner: "agents:read",
    field: "agent",
    query: `{ apiTokens { edges { node { id agent { name } } } } }`,
    secret: () => "Sales agent",
  },
  {
    name: "contact { leads { edges { node { source } } } }",
    outer: ["contacts:read"],
    inner: "leads:read",
    field: "leads",
    query: `{ contacts { edges { node { id leads { edges { node { source } } } } } } }`,
    secret: () => "whatsapp-lead",
  },
  // A related connection's count and cursors describe rows of the inner type as well.
  {
    name: "contact { leads { totalCount edges { cursor } } }",
    outer: ["contacts:read"],
    inner: "leads:read",
    field: "leads",
    query: `{ contacts { edges { node { id leads { totalCount edges { cursor } } } } } }`,
    secret: () => `"totalCount"`,
  },
  {
    name: "contact { conversations { totalCount } }",
    outer: ["contacts:read"],
    inner: "conversations:read",
    field: "conversations",
    query: `{ contacts { edges { node { id conversations { totalCount } } } } }`,
    secret: () => `"totalCount"`,
  },
  {
    name: "contact { bookings { totalCount pageInfo { startCursor } } }",
    outer: ["contacts:read"],
    inner: "bookings:read",
    field: "bookings",
    query: `{ contacts { edges { node { id bookings { totalCount pageInfo { startCursor } } } } } }`,
    secret: () => `"totalCount"`,
  },
];

describe.each(NESTED.map((row) => ({ ...row })))("nested $name", (row) => {
  test(`with ${row.outer.join(" + ")} but not ${row.inner}: FORBIDDEN on ${row.field}, naming ${row.inner}`, async () => {
    const seed = await seedTenant(server, "Scopes");
    const token = await seed.tenant.tokenWith(row.outer);
    const result = await server.gql(row.query, {}, token);
    expect(result.status).toBe(200);
    const forbidden = result.errors?.find((e) => e.extensions?.code === "FORBIDDEN");
    expect(forbidden, JSON.stringify(result)).toBeDefined();
    expect(forbidden!.extensions?.scope).toBe(row.inner);
    expect(forbidden!.path).toContain(row.field);
    expect(result.errors!.every((e) => e.extensions?.code === "FORBIDDEN" && e.extensions?.scope === row.inner)).toBe(true);
    expect(JSON.stringify(result.data ?? null)).not.toContain(row.secret(seed));
  });

  test(`with ${[...row.outer, row.inner].join(" + ")}: served`, async () => {
    const seed = await seedTenant(server, "Scopes");
    const token = await seed.tenant.tokenWith([...row.outer, row.inner]);
    const result = await server.gql(row.query, {}, token);
    expect(result.errors).toBeUndefined();
    expect(JSON.stringify(result.data)).toContain(row.secret(seed));
  });
});

test("the conversation itself is still served when only its contact is forbidden", async () => {
  const seed = await seedTenant(server, "Scopes");
  const token = await seed.tenant.tokenWith(["conversations:read"]);
  const result: GraphQLResponse = await server.gql(`{ conversations { edges { node { id customerName contact { email } } } } }`, {}, token);
  const node = result.data?.conversations.edges[0].node;
  expect(node.id).toBe(seed.id.conversation);
  expect(node.customerName).toBe("Ada");
  expect(node.contact?.email ?? null).toBeNull();
});
