// The tenant matrix: another tenant's id, used with this tenant's token, answers exactly as
// an id that does not exist (same status, errors and data), and changes nothing anywhere.
// Lists only ever show the caller's own rows.
import { randomUUID } from "node:crypto";
import { createClient } from "graphql-ws";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { seedTenant, snapshot, type Seed } from "./fixtures.js";
import { startTestServer, waitUntil, type GraphQLResponse, type TestServer } from "./harness.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());

const PREFIX = {
  tenant: "ten",
  token: "tok",
  contact: "con",
  lead: "lead",
  agent: "agt",
  channel: "chn",
  conversation: "conv",
  message: "msg",
  tag: "tag",
  booking: "bkg",
  ticket: "tkt",
  offering: "off",
  webhookEndpoint: "whe",
  webhookDelivery: "whd",
} as const;
type Kind = keyof typeof PREFIX;

const unknownId = (kind: Kind) => `${PREFIX[kind]}_${randomUUID()}`;

/** What a caller sees of a response. */
const visible = (r: GraphQLResponse) => ({ status: r.status, data: r.data ?? null, errors: r.errors ?? null });

function expectNotFound(r: GraphQLResponse, field?: string) {
  expect(r.status).toBe(200);
  expect(r.data ?? null, JSON.stringify(r)).toBeNull();
  expect(r.errors, JSON.stringify(r)).toHaveLength(1);
  expect(r.errors![0]!.extensions?.code).toBe("NOT_FOUND");
  if (field) expect(r.errors![0]!.extensions?.field).toBe(field);
}

function expectEmptyList(field: string) {
  return (r: GraphQLResponse) => {
    expect(r.errors, JSON.stringify(r)).toBeUndefined();
    expect(r.data?.[field]).toEqual({ totalCount: 0, edges: [] });
  };
}

interface Case {
  name: string;
  /** The schema argument this case exercises, e.g. "createBooking(input.contactId)". */
  covers: string;
  /** The type of the id under test. */
  kind: Kind;
  /** Which of tenant B's ids is used (written first, for rows the seed does not have). */
  foreign: (b: Seed) => string | Promise<string>;
  /** The request, given the caller's own seed and the id under test. */
  request: (own: Seed, id: string) => { query: string; variables?: Record<string, unknown> };
  /** What an unknown id gets: the behaviour the foreign id must share. */
  expectUnknown: (r: GraphQLResponse) => void;
  /** For reads: tenant B's own token does find the row, so the id is a real one. */
  control?: (r: GraphQLResponse) => void;
  /** The request also (legitimately) changes the caller's own rows. */
  writesOwn?: boolean;
}

function nodeCase(kind: Kind, typename: string, fragment: string, control: (data: any) => void, foreign?: Case["foreign"]): Case {
  return {
    name: `node(id) of a ${typename}`,
    covers: "node(id)",
    kind,
    foreign: foreign ?? ((b) => b.id[kind as keyof Seed["id"]]!),
    request: (_own, id) => ({ query: `query($id: ID!) { node(id: $id) { id __typename ${fragment} } }`, variables: { id } }),
    expectUnknown: (r) => {
      expect(r.status).toBe(200);
      expect(r.data?.node ?? null).toBeNull();
      // null, or NOT_FOUND (README: "unknown id, or another tenant's"): never anything else
      for (const error of r.errors ?? []) expect(error.extensions?.code).toBe("NOT_FOUND");
    },
    control: (r) => {
      expect(r.errors).toBeUndefined();
      expect(r.data?.node.__typename).toBe(typename);
      control(r.data?.node);
    },
  };
}

/** A webhook endpoint of B's with one FAILED delivery (the seed has none): their global ids. */
async function webhookOf(b: Seed) {
  const p = server.db.prisma;
  const tenantId = b.tenant.id;
  const endpoint = await p.webhookEndpoint.create({ data: { tenantId, dialect: "CONVO", url: "https://hooks.example.com/b", events: ["lead.created"], secretPrefix: "wh_0000" } });
  const event = await p.event.create({ data: { id: randomUUID(), tenantId, topic: "lead", type: "CREATED", facts: {}, occurredAt: new Date() } });
  const delivery = await p.webhookDelivery.create({
    data: { tenantId, endpointId: endpoint.id, eventId: event.id, eventName: "lead.created", body: "{}", status: "FAILED", attemptCount: 1 },
  });
  return { endpoint: `whe_${endpoint.id}`, delivery: `whd_${delivery.id}` };
}

const CASES: Case[] = [
  // ----- node(id), every type -----
  nodeCase("contact", "Contact", "... on Contact { email }", (n) => expect(n.email).toBe("ada@example.com")),
  nodeCase("lead", "Lead", "... on Lead { source }", (n) => expect(n.source).toBe("whatsapp-lead")),
  nodeCase("agent", "Agent", "... on Agent { name }", (n) => expect(n.name).toBe("Sales agent")),
  nodeCase("channel", "Channel", "... on Channel { name }", (n) => expect(n.name).toBe("Studio WhatsApp")),
  nodeCase("conversation", "Conversation", "... on Conversation { customerIdentifier }", (n) =>
    expect(n.customerIdentifier).toBe("+48111222333"),
  ),
  nodeCase("message", "Message", "... on Message { content }", (n) => expect(n.content).toBe("Hello there")),
  nodeCase("tag", "Tag", "... on Tag { name }", (n) => expect(n.name).toBe("vip")),
  nodeCase("booking", "Booking", "... on Booking { service }", (n) => expect(n.service).toBe("Personal Training")),
  nodeCase("offering", "Offering", "... on Offering { title price }", (n) => expect(n).toMatchObject({ title: "Marina apartment", price: "1250.00" })),
  nodeCase("token", "ApiToken", "... on ApiToken { name }", (n) => expect(n.name).toBe("agent dispatcher")),
  nodeCase("tenant", "Tenant", "... on Tenant { name }", (n) => expect(n.name).toBe("B")),
  nodeCase("webhookEndpoint", "WebhookEndpoint", "... on WebhookEndpoint { url }", (n) => expect(n.url).toBe("https://hooks.example.com/b"), async (b) => (await webhookOf(b)).endpoint),
  nodeCase("webhookDelivery", "WebhookDelivery", "... on WebhookDelivery { status }", (n) => expect(n.status).toBe("FAILED"), async (b) => (await webhookOf(b)).delivery),

  // ----- list filters taking ids -----
  ...(
    [
      ["bookings", "contactId", "contact", "ID", "id service"],
      ["channels", "agentId", "agent", "ID", "id name"],
      ["conversations", "agentId", "agent", "ID", "id"],
      ["conversations", "channelId", "channel", "ID", "id"],
      ["conversations", "contactId", "contact", "ID", "id"],
      ["conversations", "tagIds", "tag", "[ID!]", "id"],
    ] as const
  ).map(
    ([list, arg, kind, type, selection]): Case => ({
      name: `${list}(${arg})`,
      covers: `${list}(${arg})`,
      kind,
      foreign: (b) => b.id[kind],
      request: (_own, id) => ({
        query: `query($v: ${type}) { ${list}(${arg}: $v) { totalCount edges { node { ${selection} } } } }`,
        variables: { v: type === "ID" ? id : [id] },
      }),
      expectUnknown: expectEmptyList(list),
      control: (r) => {
        expect(r.errors).toBeUndefined();
        expect(r.data?.[list].totalCount).toBe(1);
      },
    }),
  ),

  // ----- mutations addressed by id -----
  {
    name: "updateContact(id)",
    covers: "updateContact(id)",
    kind: "contact",
    foreign: (b) => b.id.contact,
    request: (_own, id) => ({
      query: `mutation($id: ID!) { updateContact(id: $id, input: { firstName: "Mallory" }) { id firstName } }`,
      variables: { id },
    }),
    expectUnknown: (r) => expectNotFound(r),
  },
  {
    name: "deleteContact(id)",
    covers: "deleteContact(id)",
    kind: "contact",
    foreign: (b) => b.id.contact,
    request: (_own, id) => ({ query: `mutation($id: ID!) { deleteContact(id: $id) }`, variables: { id } }),
    expectUnknown: (r) => expectNotFound(r),
  },
  {
    name: "updateBooking(id)",
    covers: "updateBooking(id)",
    kind: "booking",
    foreign: (b) => b.id.booking,
    request: (_own, id) => ({
      query: `mutation($id: ID!) { updateBooking(id: $id, input: { notes: "hijacked", status: CONFIRMED }) { id notes } }`,
      variables: { id },
    }),
    expectUnknown: (r) => expectNotFound(r),
  },
  {
    name: "cancelBooking(id)",
    covers: "cancelBooking(id)",
    kind: "booking",
    foreign: (b) => b.id.booking,
    request: (_own, id) => ({ query: `mutation($id: ID!) { cancelBooking(id: $id) { id status } }`, variables: { id } }),
    expectUnknown: (r) => expectNotFound(r),
  },
  {
    name: "updateLeadStatus(id)",
    covers: "updateLeadStatus(id)",
    kind: "lead",
    foreign: (b) => b.id.lead,
    request: (_own, id) => ({ query: `mutation($id: ID!) { updateLeadStatus(id: $id, status: LOST) { id status } }`, variables: { id } }),
    expectUnknown: (r) => expectNotFound(r),
  },
  {
    name: "tickets(ids)",
    covers: "tickets(ids)",
    kind: "ticket",
    foreign: (b) => b.id.ticket,
    request: (_own, id) => ({ query: `query($ids: [ID!]) { tickets(ids: $ids) { totalCount edges { node { id } } } }`, variables: { ids: [id] } }),
    expectUnknown: expectEmptyList("tickets"),
    control: (r) => expect(r.data?.tickets.totalCount).toBe(1),
  },
  {
    name: "updateTicket(id)",
    covers: "updateTicket(id)",
    kind: "ticket",
    foreign: (b) => b.id.ticket,
    request: (_own, id) => ({ query: `mutation($id: ID!) { updateTicket(id: $id, input: { priority: URGENT }) { id } }`, variables: { id } }),
    expectUnknown: (r) => expectNotFound(r),
  },
  {
    name: "createTicket(input.contactId)",
    covers: "createTicket(input.contactId)",
    kind: "contact",
    foreign: (b) => b.id.contact,
    request: (_own, id) => ({ query: `mutation($input: CreateTicketInput!) { createTicket(input: $input) { id } }`, variables: { input: { subject: "x", contactId: id } } }),
    expectUnknown: (r) => expectNotFound(r, "input.contactId"),
  },
  {
    name: "updateLead(id)",
    covers: "updateLead(id)",
    kind: "lead",
    foreign: (b) => b.id.lead,
    request: (_own, id) => ({ query: `mutation($id: ID!) { updateLead(id: $id, input: { fieldsPatch: { name: "x" } }) { id } }`, variables: { id } }),
    expectUnknown: (r) => expectNotFound(r),
  },
  {
    name: "requestLeadHandoff(id)",
    covers: "requestLeadHandoff(id)",
    kind: "lead",
    foreign: (b) => b.id.lead,
    request: (_own, id) => ({ query: `mutation($id: ID!) { requestLeadHandoff(id: $id) { id } }`, variables: { id } }),
    expectUnknown: (r) => expectNotFound(r),
  },
  {
    name: "createBooking(input.conversationId)",
    covers: "createBooking(input.conversationId)",
    kind: "conversation",
    foreign: (b) => b.id.conversation,
    request: (_own, id) => ({
      query: `mutation($input: CreateBookingInput!) { createBooking(input: $input) { id } }`,
      variables: { input: { customerName: "x", conversationId: id, startsAt: "2031-01-01T10:00:00Z", endsAt: "2031-01-01T11:00:00Z" } },
    }),
    expectUnknown: (r) => expectNotFound(r, "input.conversationId"),
  },
  {
    name: "createBooking(input.leadId)",
    covers: "createBooking(input.leadId)",
    kind: "lead",
    foreign: (b) => b.id.lead,
    request: (_own, id) => ({
      query: `mutation($input: CreateBookingInput!) { createBooking(input: $input) { id } }`,
      variables: { input: { customerName: "x", leadId: id, startsAt: "2031-01-01T10:00:00Z", endsAt: "2031-01-01T11:00:00Z" } },
    }),
    expectUnknown: (r) => expectNotFound(r, "input.leadId"),
  },
  {
    name: "createBooking(input.offeringId)",
    covers: "createBooking(input.offeringId)",
    kind: "offering",
    foreign: (b) => b.id.offering,
    request: (_own, id) => ({
      query: `mutation($input: CreateBookingInput!) { createBooking(input: $input) { id } }`,
      variables: { input: { customerName: "x", offeringId: id, startsAt: "2031-01-01T10:00:00Z", endsAt: "2031-01-01T11:00:00Z" } },
    }),
    expectUnknown: (r) => expectNotFound(r, "input.offeringId"),
  },
  {
    name: "updateOffering(id)",
    covers: "updateOffering(id)",
    kind: "offering",
    foreign: (b) => b.id.offering,
    request: (_own, id) => ({
      query: `mutation($id: ID!) { updateOffering(id: $id, input: { title: "Hijacked", price: "1", attributesPatch: { owner: "me" } }) { id title } }`,
      variables: { id },
    }),
    expectUnknown: (r) => expectNotFound(r),
  },
  {
    name: "deleteOffering(id)",
    covers: "deleteOffering(id)",
    kind: "offering",
    foreign: (b) => b.id.offering,
    request: (_own, id) => ({ query: `mutation($id: ID!) { deleteOffering(id: $id) }`, variables: { id } }),
    expectUnknown: (r) => expectNotFound(r),
  },
  {
    name: "updateConversation(id)",
    covers: "updateConversation(id)",
    kind: "conversation",
    foreign: (b) => b.id.conversation,
    request: (_own, id) => ({
      query: `mutation($id: ID!) { updateConversation(id: $id, input: { status: CLOSED, customerName: "x" }) { id status } }`,
      variables: { id },
    }),
    expectUnknown: (r) => expectNotFound(r),
  },
  {
    name: "addMessage(input.conversationId)",
    covers: "addMessage(input.conversationId)",
    kind: "conversation",
    foreign: (b) => b.id.conversation,
    request: (_own, id) => ({
      query: `mutation($input: AddMessageInput!) { addMessage(input: $input) { id content } }`,
      variables: { input: { conversationId: id, role: "USER", content: "injected" } },
    }),
    expectUnknown: (r) => expectNotFound(r),
  },
  {
    name: "sendOperatorMessage(conversationId)",
    covers: "sendOperatorMessage(conversationId)",
    kind: "conversation",
    foreign: (b) => b.id.conversation,
    request: (_own, id) => ({
      query: `mutation($id: ID!) { sendOperatorMessage(conversationId: $id, content: "injected") { id } }`,
      variables: { id },
    }),
    expectUnknown: (r) => expectNotFound(r),
  },
  {
    name: "sendMessage(input.conversationId)",
    covers: "sendMessage(input.conversationId)",
    kind: "conversation",
    foreign: (b) => b.id.conversation,
    request: (_own, id) => ({
      query: `mutation($input: SendMessageInput!) { sendMessage(input: $input) { id } }`,
      variables: { input: { conversationId: id, content: "injected" } },
    }),
    expectUnknown: (r) => expectNotFound(r),
  },
  {
    name: "sendMessageToContact(input.contactId)",
    covers: "sendMessageToContact(input.contactId)",
    kind: "contact",
    foreign: (b) => b.id.contact,
    request: (_own, id) => ({
      query: `mutation($input: SendMessageToContactInput!) { sendMessageToContact(input: $input) { id } }`,
      variables: { input: { contactId: id, channelType: "EMAIL", content: "injected" } },
    }),
    expectUnknown: (r) => expectNotFound(r),
  },
  {
    name: "reportMessageDelivery(input.messageId)",
    covers: "reportMessageDelivery(input.messageId)",
    kind: "message",
    foreign: (b) => b.id.message,
    request: (_own, id) => ({
      query: `mutation($input: ReportMessageDeliveryInput!) { reportMessageDelivery(input: $input) { id } }`,
      variables: { input: { messageId: id, status: "SENT" } },
    }),
    expectUnknown: (r) => expectNotFound(r),
  },
  {
    name: "revokeApiToken(id)",
    covers: "revokeApiToken(id)",
    kind: "token",
    foreign: (b) => b.id.token,
    request: (_own, id) => ({ query: `mutation($id: ID!) { revokeApiToken(id: $id) { id revokedAt } }`, variables: { id } }),
    expectUnknown: (r) => expectNotFound(r),
  },

  // ----- ids inside inputs -----
  {
    name: "createBooking(input.contactId)",
    covers: "createBooking(input.contactId)",
    kind: "contact",
    foreign: (b) => b.id.contact,
    request: (_own, id) => ({
      query: `mutation($input: CreateBookingInput!) { createBooking(input: $input) { id } }`,
      variables: { input: { contactId: id, service: "Sneaky", startsAt: "2030-03-01T10:00:00Z", endsAt: "2030-03-01T11:00:00Z" } },
    }),
    expectUnknown: (r) => expectNotFound(r, "input.contactId"),
  },
  {
    name: "createLead(input.contactId)",
    covers: "createLead(input.contactId)",
    kind: "contact",
    foreign: (b) => b.id.contact,
    request: (_own, id) => ({
      query: `mutation($input: CreateLeadInput!) { createLead(input: $input) { id } }`,
      variables: { input: { contactId: id, source: "sneaky" } },
    }),
    expectUnknown: (r) => expectNotFound(r, "input.contactId"),
  },
  {
    name: "createLead(input.conversationId)",
    covers: "createLead(input.conversationId)",
    kind: "conversation",
    foreign: (b) => b.id.conversation,
    request: (_own, id) => ({
      query: `mutation($input: CreateLeadInput!) { createLead(input: $input) { id } }`,
      variables: { input: { conversationId: id, source: "sneaky" } },
    }),
    expectUnknown: (r) => expectNotFound(r, "input.conversationId"),
  },
  {
    name: "createChannel(input.agentId)",
    covers: "createChannel(input.agentId)",
    kind: "agent",
    foreign: (b) => b.id.agent,
    request: (_own, id) => ({
      query: `mutation($input: CreateChannelInput!) { createChannel(input: $input) { id } }`,
      variables: { input: { type: "WHATSAPP", name: "Sneaky", agentId: id } },
    }),
    expectUnknown: (r) => expectNotFound(r, "input.agentId"),
  },
  ...(
    [
      ["agentId", "agent"],
      ["channelId", "channel"],
      ["contactId", "contact"],
    ] as const
  ).map(
    ([field, kind]): Case => ({
      name: `createConversation(input.${field})`,
      covers: `createConversation(input.${field})`,
      kind,
      foreign: (b) => b.id[kind],
      request: (_own, id) => ({
        query: `mutation($input: CreateConversationInput!) { createConversation(input: $input) { id } }`,
        variables: { input: { channelType: "WHATSAPP", customerIdentifier: "+4999", [field]: id } },
      }),
      expectUnknown: (r) => expectNotFound(r, `input.${field}`),
    }),
  ),
  ...(
    [
      ["agentId", "agent"],
      ["contactId", "contact"],
    ] as const
  ).map(
    ([field, kind]): Case => ({
      name: `updateConversation(own id, input.${field})`,
      covers: `updateConversation(input.${field})`,
      kind,
      foreign: (b) => b.id[kind],
      request: (own, id) => ({
        query: `mutation($id: ID!, $input: UpdateConversationInput!) { updateConversation(id: $id, input: $input) { id } }`,
        variables: { id: own.id.conversation, input: { [field]: id } },
      }),
      expectUnknown: (r) => expectNotFound(r, `input.${field}`),
    }),
  ),
  {
    name: "createApiToken(input.agentId)",
    covers: "createApiToken(input.agentId)",
    kind: "agent",
    foreign: (b) => b.id.agent,
    request: (_own, id) => ({
      query: `mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { secret } }`,
      variables: { input: { name: "sneaky", format: "VELENTS_AGENT", scopes: ["CONVERSATIONS_READ"], agentId: id } },
    }),
    expectUnknown: (r) => expectNotFound(r, "input.agentId"),
  },
  {
    name: "dispatchConversation(input.agentId)",
    covers: "dispatchConversation(input.agentId)",
    kind: "agent",
    foreign: (b) => b.id.agent,
    request: (_own, id) => ({
      query: `mutation($input: DispatchConversationInput!) { dispatchConversation(input: $input) { id } }`,
      variables: { input: { agentId: id, channelType: "VOICE", phone: "+48600000001" } },
    }),
    expectUnknown: (r) => expectNotFound(r, "input.agentId"),
  },
  {
    name: "dispatchBatch(input.agentId)",
    covers: "dispatchBatch(input.agentId)",
    kind: "agent",
    foreign: (b) => b.id.agent,
    request: (_own, id) => ({
      query: `mutation($input: DispatchBatchInput!) { dispatchBatch(input: $input) { batch { id } } }`,
      variables: { input: { agentId: id, channelType: "VOICE", name: "sneaky", rows: [{ phone: "+48600000001" }] } },
    }),
    expectUnknown: (r) => expectNotFound(r, "input.agentId"),
  },

  // ----- webhooks -----
  ...(
    [
      ["updateWebhookEndpoint", `mutation($id: ID!) { updateWebhookEndpoint(id: $id, input: { url: "https://evil.example/hook", enabled: false }) { id } }`],
      ["rotateWebhookSecret", `mutation($id: ID!) { rotateWebhookSecret(id: $id) { signingSecret } }`],
      ["deleteWebhookEndpoint", `mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }`],
    ] as const
  ).map(
    ([field, query]): Case => ({
      name: `${field}(id)`,
      covers: `${field}(id)`,
      kind: "webhookEndpoint",
      foreign: async (b) => (await webhookOf(b)).endpoint,
      request: (_own, id) => ({ query, variables: { id } }),
      expectUnknown: (r) => expectNotFound(r, "id"),
    }),
  ),
  {
    name: "redeliverWebhook(id)",
    covers: "redeliverWebhook(id)",
    kind: "webhookDelivery",
    foreign: async (b) => (await webhookOf(b)).delivery,
    request: (_own, id) => ({ query: `mutation($id: ID!) { redeliverWebhook(id: $id) { id status } }`, variables: { id } }),
    expectUnknown: (r) => expectNotFound(r, "id"),
  },
  {
    name: "redeliverFailedWebhooks(endpointId)",
    covers: "redeliverFailedWebhooks(endpointId)",
    kind: "webhookEndpoint",
    foreign: async (b) => (await webhookOf(b)).endpoint,
    request: (_own, id) => ({
      query: `mutation($id: ID!, $since: DateTime!) { redeliverFailedWebhooks(endpointId: $id, since: $since) }`,
      variables: { id, since: new Date(0).toISOString() },
    }),
    expectUnknown: (r) => expectNotFound(r, "endpointId"),
  },

  // ----- bulk -----
  ...(
    [
      ["CLOSE", (b: Seed) => b.id.conversation, {}],
      ["REOPEN", (b: Seed) => b.id.closed!, {}],
      ["ASSIGN", (b: Seed) => b.id.conversation, { operator: "mallory" }],
      ["ASSIGN", (b: Seed) => b.id.conversation, { operator: null }],
    ] as const
  ).map(
    ([action, foreign, extra]): Case => ({
      name: `bulkUpdateConversations(ids) ${action}${"operator" in extra ? ` ${extra.operator}` : ""}`,
      covers: "bulkUpdateConversations(input.ids)",
      kind: "conversation",
      foreign,
      request: (_own, id) => ({
        query: `mutation($input: BulkUpdateConversationsInput!) { bulkUpdateConversations(input: $input) { updated skipped } }`,
        variables: { input: { ids: [id], action, ...extra } },
      }),
      expectUnknown: (r) => {
        expect(r.errors).toBeUndefined();
        expect(r.data?.bulkUpdateConversations).toEqual({ updated: 0, skipped: 1 });
      },
    }),
  ),
  ...(["TAG", "UNTAG"] as const).map(
    (action): Case => ({
      name: `bulkUpdateConversations(ids) ${action} with an own tag`,
      covers: "bulkUpdateConversations(input.ids)",
      kind: "conversation",
      foreign: (b) => b.id.conversation,
      request: (own, id) => ({
        query: `mutation($input: BulkUpdateConversationsInput!) { bulkUpdateConversations(input: $input) { updated skipped } }`,
        variables: { input: { ids: [id], action, tagIds: [own.id.tag] } },
      }),
      expectUnknown: (r) => {
        expect(r.errors).toBeUndefined();
        expect(r.data?.bulkUpdateConversations).toEqual({ updated: 0, skipped: 1 });
      },
    }),
  ),
  ...(["TAG", "UNTAG"] as const).map(
    (action): Case => ({
      name: `bulkUpdateConversations(tagIds) ${action} on an own conversation`,
      covers: "bulkUpdateConversations(input.tagIds)",
      kind: "tag",
      foreign: (b) => b.id.tag,
      request: (own, id) => ({
        query: `mutation($input: BulkUpdateConversationsInput!) { bulkUpdateConversations(input: $input) { updated skipped } }`,
        variables: { input: { ids: [own.id.conversation], action, tagIds: [own.id.tag, id] } },
      }),
      expectUnknown: (r) => expectNotFound(r, "input.tagIds"),
    }),
  ),
  {
    name: "bulkUpdateConversations(ids) CLOSE, own and foreign together",
    covers: "bulkUpdateConversations(input.ids)",
    kind: "conversation",
    foreign: (b) => b.id.conversation,
    request: (own, id) => ({
      query: `mutation($input: BulkUpdateConversationsInput!) { bulkUpdateConversations(input: $input) { updated skipped } }`,
      variables: { input: { ids: [own.id.conversation, id], action: "CLOSE" } },
    }),
    expectUnknown: (r) => {
      expect(r.errors).toBeUndefined();
      expect(r.data?.bulkUpdateConversations).toEqual({ updated: 1, skipped: 1 });
    },
    writesOwn: true,
  },
];

/** One subscription per topic, and the change of tenant B's own that must be its first event. */
const LIVE_TOPICS = [
  {
    subscription: `subscription { conversationEvents { type conversation { id } } }`,
    change: (b: Seed) => ({ query: `mutation($id: ID!) { sendOperatorMessage(conversationId: $id, content: "marker") { id } }`, variables: { id: b.id.conversation } }),
    expected: (b: Seed) => ({ conversationEvents: { type: "MESSAGE_ADDED", conversation: { id: b.id.conversation } } }),
  },
  {
    subscription: `subscription { leadEvents { type lead { id } } }`,
    change: (b: Seed) => ({ query: `mutation($id: ID!) { updateLeadStatus(id: $id, status: CONTACTED) { id } }`, variables: { id: b.id.lead } }),
    expected: (b: Seed) => ({ leadEvents: { type: "UPDATED", lead: { id: b.id.lead } } }),
  },
  {
    subscription: `subscription { bookingEvents { type booking { id } } }`,
    change: (b: Seed) => ({ query: `mutation($id: ID!) { cancelBooking(id: $id) { id } }`, variables: { id: b.id.booking } }),
    expected: (b: Seed) => ({ bookingEvents: { type: "CANCELLED", booking: { id: b.id.booking } } }),
  },
];

/**
 * Tenant B's live streams, open while a case runs, on one WebSocket of the token that the
 * revokeApiToken case targets. `expectUntouched` then makes one change of B's own per topic:
 * each stream's first event must be exactly that change and the socket still open, so nothing
 * the case did (an event, a revocation) reached B's live clients.
 */
async function watchLive(b: Seed) {
  const received: unknown[][] = LIVE_TOPICS.map(() => []);
  const endings: unknown[] = [];
  const client = createClient({
    url: server.url.replace(/^http/, "ws"),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: false,
    connectionParams: { authorization: `Bearer ${b.agentToken}` },
    on: { closed: (event) => void endings.push({ closed: (event as { code?: number }).code }) },
  });
  const disposers = LIVE_TOPICS.map(({ subscription }, i) =>
    client.subscribe(
      { query: subscription },
      {
        next: (value) => void received[i]!.push(value.errors ? { errors: value.errors } : value.data),
        error: (error) => void endings.push({ error }),
        complete: () => void endings.push("complete"),
      },
    ),
  );
  const streams = () => server.app.live.stats().streams;
  await waitUntil(() => streams() === LIVE_TOPICS.length, () => `B's ${LIVE_TOPICS.length} streams, have ${streams()}`);
  return {
    async expectUntouched() {
      for (const topic of LIVE_TOPICS) {
        const change = topic.change(b);
        await server.ok(b.tenant.token, change.query, change.variables);
      }
      await waitUntil(
        () => received.every((events) => events.length > 0) || endings.length > 0,
        () => `one event per topic; have ${JSON.stringify({ received, endings })}`,
      );
      expect({ received: received.map((events) => events[0]), endings }).toEqual({ received: LIVE_TOPICS.map((topic) => topic.expected(b)), endings: [] });
    },
    async close() {
      disposers.forEach((dispose) => dispose());
      await client.dispose();
      await waitUntil(() => streams() === 0, () => `no open streams, have ${streams()}`);
    },
  };
}

describe.each(CASES.map((c) => ({ ...c })))("$name", (c) => {
  test("a foreign id answers exactly as an unknown id, and nothing changes", async () => {
    // Two identical callers: one sends tenant B's id, the other an id that exists nowhere.
    const [withForeign, withUnknown, b] = [
      await seedTenant(server, "A", { closed: true }),
      await seedTenant(server, "A", { closed: true }),
      await seedTenant(server, "B", { closed: true }),
    ];
    const foreignId = await c.foreign(b);
    const live = await watchLive(b);
    const before = {
      b: await snapshot(server, b.tenant.id),
      foreign: await snapshot(server, withForeign.tenant.id),
      unknown: await snapshot(server, withUnknown.tenant.id),
    };

    const foreignRequest = c.request(withForeign, foreignId);
    const unknownRequest = c.request(withUnknown, unknownId(c.kind));
    const foreign = await server.gql(foreignRequest.query, foreignRequest.variables, withForeign.tenant.token);
    const unknown = await server.gql(unknownRequest.query, unknownRequest.variables, withUnknown.tenant.token);

    c.expectUnknown(unknown);
    expect(visible(foreign)).toEqual(visible(unknown));

    expect(await snapshot(server, b.tenant.id)).toEqual(before.b);
    if (!c.writesOwn) {
      expect(await snapshot(server, withForeign.tenant.id)).toEqual(before.foreign);
      expect(await snapshot(server, withUnknown.tenant.id)).toEqual(before.unknown);
    }

    try {
      await live.expectUntouched();
    } finally {
      await live.close();
    }

    if (c.control) {
      // The id was a real one: its own tenant finds it with the same request.
      const own = c.request(b, foreignId);
      c.control(await server.gql(own.query, own.variables, b.tenant.token));
    }
  });
});

test("the cases cover every id-taking argument of the schema", async () => {
  const { schema } = await import("../src/graphql/schema.js");
  const { getNamedType, isInputObjectType } = await import("graphql");
  const idArgs: string[] = [];
  for (const type of [schema.getQueryType()!, schema.getMutationType()!]) {
    for (const field of Object.values(type.getFields())) {
      for (const arg of field.args) {
        const named = getNamedType(arg.type);
        if (named.name === "ID") idArgs.push(`${field.name}(${arg.name})`);
        if (isInputObjectType(named)) {
          for (const inner of Object.values(named.getFields())) {
            if (getNamedType(inner.type).name === "ID") idArgs.push(`${field.name}(${arg.name}.${inner.name})`);
          }
        }
      }
    }
  }
  const covered = new Set(CASES.map((c) => c.covers));
  const missing = idArgs.filter((arg) => !covered.has(arg));
  expect(missing).toEqual([]);
});

test("unique keys are per tenant: what another tenant already has can be created here, without CONFLICT", async () => {
  const a = await seedTenant(server, "A", { closed: true });
  await seedTenant(server, "B", { closed: true });
  // B has a tag "vip" and a WHATSAPP conversation with +48111222333; so has A: a second
  // tenant's copies must neither conflict with B's nor be refused for them.
  const c = await seedTenant(server, "C", { closed: true });
  await server.db.prisma.tag.deleteMany({ where: { tenantId: c.tenant.id } });
  await server.db.prisma.conversation.deleteMany({ where: { tenantId: c.tenant.id } });
  const tag = await server.gql(`mutation { createTag(name: "vip") { name } }`, {}, c.tenant.token);
  expect(tag.errors).toBeUndefined();
  const conversation = await server.gql(
    `mutation { createConversation(input: { channelType: WHATSAPP, customerIdentifier: "+48111222333" }) { customerIdentifier } }`,
    {},
    c.tenant.token,
  );
  expect(conversation.errors).toBeUndefined();
  // ...while within a tenant they do conflict.
  const again = await server.gql(`mutation { createTag(name: "vip") { name } }`, {}, a.tenant.token);
  expect(again.errors?.[0]?.extensions?.code).toBe("CONFLICT");
});

describe("lists", () => {
  test("never show another tenant's rows, at the top level or nested", async () => {
    const a = await seedTenant(server, "A", { closed: true, extra: 1 });
    const b = await seedTenant(server, "B", { closed: true, extra: 3 });
    const p = server.db.prisma;
    const where = { tenantId: a.tenant.id };
    const ids = async (rows: Promise<{ id: string }[]>, prefix: string) => (await rows).map((r) => `${prefix}_${r.id}`).sort();
    const expected = {
      agents: await ids(p.agent.findMany({ where }), "agt"),
      apiTokens: await ids(p.apiToken.findMany({ where }), "tok"),
      bookings: await ids(p.booking.findMany({ where }), "bkg"),
      channels: await ids(p.channel.findMany({ where }), "chn"),
      contacts: await ids(p.contact.findMany({ where }), "con"),
      conversations: await ids(p.conversation.findMany({ where }), "conv"),
      leads: await ids(p.lead.findMany({ where }), "lead"),
      offerings: await ids(p.offering.findMany({ where }), "off"),
      tags: await ids(p.tag.findMany({ where }), "tag"),
    };
    const lists = Object.keys(expected) as (keyof typeof expected)[];
    const query = `{ ${lists.map((list) => `${list}(first: 100) { totalCount edges { node { id } } }`).join(" ")} }`;
    const result = await server.gql(query, {}, a.tenant.token);
    expect(result.errors).toBeUndefined();
    for (const list of lists) {
      const got = result.data![list];
      expect(got.edges.map((e: any) => e.node.id).sort(), list).toEqual(expected[list]);
      expect(got.totalCount, list).toBe(expected[list].length);
    }
    // B has more of everything: counts would differ if they were mixed in.
    expect(await p.contact.count({ where: { tenantId: b.tenant.id } })).toBeGreaterThan(expected.contacts.length);

    const nested = await server.gql(
      `{
        contacts(first: 100) { edges { node { id
          leads { totalCount edges { node { id } } }
          conversations { totalCount edges { node { id } } }
          bookings { totalCount edges { node { id offering { id } } } } } } }
        conversations(first: 100) { edges { node { id
          contact { id } agent { id channels { id } } channel { id agent { id } }
          tags { id } leads { id } lastMessages(count: 50) { id }
          messages(first: 100) { totalCount edges { node { id conversation { id } } } } } } }
        viewer { tenant { id } token { id } }
      }`,
      {},
      a.tenant.token,
    );
    expect(nested.errors).toBeUndefined();
    const text = JSON.stringify(nested.data);
    const bIds = await foreignIds(b.tenant.id);
    expect(bIds.length).toBeGreaterThan(20);
    for (const id of bIds) expect(text).not.toContain(id);
    // ...while A's own related rows are there.
    expect(text).toContain(a.id.message.slice(4));
    expect(text).toContain(a.id.lead.slice(5));
    expect(text).toContain(a.id.booking.slice(4));
    expect(text).toContain(a.id.offering.slice(4));
  });
});

/** Every raw uuid of a tenant's rows. */
async function foreignIds(tenantId: string): Promise<string[]> {
  const p = server.db.prisma;
  const where = { tenantId };
  const select = { id: true } as const;
  const all = await Promise.all([
    p.contact.findMany({ where, select }),
    p.lead.findMany({ where, select }),
    p.agent.findMany({ where, select }),
    p.channel.findMany({ where, select }),
    p.conversation.findMany({ where, select }),
    p.message.findMany({ where, select }),
    p.tag.findMany({ where, select }),
    p.booking.findMany({ where, select }),
    p.offering.findMany({ where, select }),
    p.apiToken.findMany({ where, select }),
  ]);
  return [tenantId, ...all.flat().map((row) => row.id)];
}
