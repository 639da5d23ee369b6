// Outbound messages: stored QUEUED for the channel's worker, numbered per conversation by the
// database, delivered to a worker's subscription, and reported SENT or FAILED exactly once.
import { createClient } from "graphql-ws";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import WebSocket from "ws";
import { seedTenant, snapshot, type Seed } from "./fixtures.js";
import { expectError, startTestServer, waitUntil, type TestServer } from "./harness.js";

let server: TestServer;
let seed: Seed;
beforeAll(async () => {
  server = await startTestServer();
  seed = await seedTenant(server, "Outbound");
});
afterAll(() => server?.close());

const SEND = `mutation($input: SendMessageInput!) { sendMessage(input: $input) { id sequence role content deliveryStatus deliveryError deliveryReportedAt } }`;
const REPORT = `mutation($input: ReportMessageDeliveryInput!) { reportMessageDelivery(input: $input) { id deliveryStatus deliveryError deliveryReportedAt } }`;
const TO_CONTACT = `mutation($input: SendMessageToContactInput!) {
  sendMessageToContact(input: $input) { id sequence deliveryStatus conversation { id channelType customerIdentifier customerName contact { id } } }
}`;

/** The `conversationEvents` a tenant's token receives over graphql-ws, in order. */
function conversationEvents<T>(token: string, selection: string, args = "") {
  const events: T[] = [];
  const client = createClient({ url: server.url.replace(/^http/, "ws"), webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${token}` }, retryAttempts: 0 });
  client.subscribe<{ conversationEvents: T }>(
    { query: `subscription { conversationEvents${args} ${selection} }` },
    { next: ({ data }) => void (data && events.push(data.conversationEvents)), error: () => {}, complete: () => {} },
  );
  return { events, dispose: () => client.dispose() };
}

const send = (content: string, extra: Record<string, unknown> = {}) =>
  server.ok(seed.tenant, SEND, { input: { conversationId: seed.id.conversation, content, ...extra } });

describe("sendMessage and the channel worker", () => {
  test("a worker subscribed to the conversation gets the QUEUED message, reports SENT, and every subscriber sees MESSAGE_UPDATED", async () => {
    const worker = conversationEvents<{ type: string; message: { id: string; deliveryStatus: string | null } | null }>(
      seed.tenant.token,
      "{ type message { id deliveryStatus } }",
      "(types: [MESSAGE_ADDED, MESSAGE_UPDATED])",
    );
    const { events } = worker;
    try {
      await waitUntil(() => server.app.live.stats().streams === 1, () => "the worker's subscription to start");

      const sent = (await send("Your table for two is booked")).sendMessage;
      expect(sent).toMatchObject({ role: "ASSISTANT", deliveryStatus: "QUEUED", deliveryError: null, deliveryReportedAt: null });
      await waitUntil(() => events.length === 1, () => `MESSAGE_ADDED; have ${JSON.stringify(events)}`);
      expect(events[0]).toEqual({ type: "MESSAGE_ADDED", message: { id: sent.id, deliveryStatus: "QUEUED" } });

      const reported = (await server.ok(seed.tenant, REPORT, { input: { messageId: sent.id, status: "SENT" } })).reportMessageDelivery;
      expect(reported).toMatchObject({ id: sent.id, deliveryStatus: "SENT", deliveryError: null });
      expect(Date.parse(reported.deliveryReportedAt)).not.toBeNaN();
      await waitUntil(() => events.length === 2, () => `MESSAGE_UPDATED; have ${JSON.stringify(events)}`);
      expect(events[1]).toEqual({ type: "MESSAGE_UPDATED", message: { id: sent.id, deliveryStatus: "SENT" } });
    } finally {
      await worker.dispose();
    }
  });

  test("FAILED keeps the worker's reason; a second report is CONFLICT and changes nothing", async () => {
    const { id } = (await send("Reminder")).sendMessage;
    const failed = await server.ok(seed.tenant, REPORT, { input: { messageId: id, status: "FAILED", error: "  number unreachable " } });
    expect(failed.reportMessageDelivery).toMatchObject({ deliveryStatus: "FAILED", deliveryError: "number unreachable" });
    const before = await snapshot(server, seed.tenant.id);
    expectError(await server.gql(REPORT, { input: { messageId: id, status: "SENT" } }, seed.tenant.token), "CONFLICT");
    expect(await snapshot(server, seed.tenant.id)).toEqual(before);
  });

  test.each([
    ["QUEUED is not a report", (id: string) => ({ messageId: id, status: "QUEUED" }), "input.status"],
    ["FAILED without its reason", (id: string) => ({ messageId: id, status: "FAILED" }), "input.error"],
    ["SENT with an error", (id: string) => ({ messageId: id, status: "SENT", error: "odd" }), "input.error"],
  ])("%s: BAD_USER_INPUT naming the field", async (_name, input, field) => {
    const { id } = (await send("Refused report")).sendMessage;
    expectError(await server.gql(REPORT, { input: input(id) }, seed.tenant.token), "BAD_USER_INPUT", { field });
  });

  test("an unknown conversation: NOT_FOUND naming input.conversationId", async () => {
    const unknown = `conv_${"0".repeat(8)}-0000-4000-8000-${"0".repeat(12)}`;
    expectError(await server.gql(SEND, { input: { conversationId: unknown, content: "x" } }, seed.tenant.token), "NOT_FOUND", { field: "input.conversationId" });
  });

  test("an inbound message has no delivery to report", async () => {
    expectError(await server.gql(REPORT, { input: { messageId: seed.id.message, status: "SENT" } }, seed.tenant.token), "BAD_USER_INPUT", {
      field: "input.messageId",
    });
  });

  test("an operator reply is outbound too; role USER or SYSTEM cannot be sent", async () => {
    const reply = await server.ok(seed.tenant, `mutation($c: ID!) { sendOperatorMessage(conversationId: $c, content: "Hi, Olga here") { deliveryStatus } }`, {
      c: seed.id.conversation,
    });
    expect(reply.sendOperatorMessage.deliveryStatus).toBe("QUEUED");
    expect((await send("As an operator", { role: "OPERATOR" })).sendMessage.role).toBe("OPERATOR");
    expectError(await server.gql(SEND, { input: { conversationId: seed.id.conversation, content: "x", role: "USER" } }, seed.tenant.token), "BAD_USER_INPUT", {
      field: "input.role",
    });
  });

  test("messages are numbered 1, 2, 3, ... per conversation, also when sent at once", async () => {
    const other = await seedTenant(server, "Sequences");
    const sent = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        server.ok(other.tenant, SEND, { input: { conversationId: other.id.conversation, content: `Parallel ${i}` } }),
      ),
    );
    // The seed's conversation holds one message already.
    expect(sent.map((each) => each.sendMessage.sequence).sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, i) => i + 2));
    const stored = await server.db.prisma.conversation.findUniqueOrThrow({ where: { id: other.raw.conversation.id } });
    expect(stored.lastMessageSequence).toBe(13);
  });
});

test("lastMessages (one batched SQL statement) shows every message field as messages does", async () => {
  const other = await seedTenant(server, "Last messages");
  const { id } = (await server.ok(other.tenant, SEND, { input: { conversationId: other.id.conversation, content: "Queued one" } })).sendMessage;
  await server.ok(other.tenant, REPORT, { input: { messageId: id, status: "FAILED", error: "no route" } });
  const fields = "id sequence role content deliveryStatus deliveryError deliveryReportedAt createdAt conversationId";
  const data = await server.ok(other.tenant, `query($id: ID!) { node(id: $id) { ... on Conversation { lastMessages(count: 2) { ${fields} } messages(first: 2) { edges { node { ${fields} } } } } } }`, {
    id: other.id.conversation,
  });
  const viaConnection = data.node.messages.edges.map((edge: { node: unknown }) => edge.node);
  expect(data.node.lastMessages).toEqual(viaConnection);
  expect(data.node.lastMessages[1]).toMatchObject({ sequence: 2, deliveryStatus: "FAILED", deliveryError: "no route" });
});

describe("sendMessageToContact", () => {
  test("opens a conversation at the contact's email once, then keeps using it", async () => {
    const other = await seedTenant(server, "To contact");
    const input = { contactId: other.id.contact, channelType: "EMAIL", content: "Your invoice is ready" };
    const first = (await server.ok(other.tenant, TO_CONTACT, { input })).sendMessageToContact;
    expect(first).toMatchObject({
      sequence: 1,
      deliveryStatus: "QUEUED",
      conversation: { channelType: "EMAIL", customerIdentifier: other.raw.contact.email, contact: { id: other.id.contact } },
    });
    const second = (await server.ok(other.tenant, TO_CONTACT, { input: { ...input, content: "Reminder" } })).sendMessageToContact;
    expect(second.conversation.id).toBe(first.conversation.id);
    expect(second.sequence).toBe(2);
  });

  test("uses the contact's latest conversation on the channel, whatever its identifier", async () => {
    const other = await seedTenant(server, "Existing conversation");
    await server.db.prisma.contact.update({ where: { id: other.raw.contact.id }, data: { phone: "+48999000111" } });
    const sent = (await server.ok(other.tenant, TO_CONTACT, { input: { contactId: other.id.contact, channelType: "WHATSAPP", content: "Hi" } })).sendMessageToContact;
    expect(sent.conversation.id).toBe(other.id.conversation);
    expect(sent.sequence).toBe(2);
  });

  test("a phone written with spaces reaches the conversation at the same number, and that conversation becomes the contact's", async () => {
    const other = await seedTenant(server, "Spaced phone");
    const contact = (await server.ok(other.tenant, `mutation { createContact(input: { firstName: "Eve", phone: "+61 400 000 009" }) { id } }`)).createContact.id;
    const existing = (
      await server.ok(other.tenant, `mutation { createConversation(input: { channelType: SMS, customerIdentifier: "+61400000009" }) { id } }`)
    ).createConversation.id;
    const live = conversationEvents<{ type: string }>(other.tenant.token, "{ type }");
    const types = () => live.events.map((event) => event.type);
    try {
      // The subscription is live once it sees a change: send to the seed's other conversation
      // until it does. Those markers are MESSAGE_ADDED; the link below is the only UPDATED.
      for (let attempt = 0; live.events.length === 0; attempt++) {
        await server.ok(other.tenant, SEND, { input: { conversationId: other.id.conversation, content: `Marker ${attempt}` } });
        await waitUntil(() => live.events.length > 0, () => "the marker event", 200).catch(() => {
          if (attempt >= 50) throw new Error("the subscription never started");
        });
      }
      const sent = (await server.ok(other.tenant, TO_CONTACT, { input: { contactId: contact, channelType: "SMS", content: "Hi" } })).sendMessageToContact;
      expect(sent.conversation).toMatchObject({ id: existing, contact: { id: contact } });
      // Live clients learn that the conversation now has a contact, then of the message.
      const linked = () => types().indexOf("UPDATED");
      await waitUntil(() => linked() >= 0 && types().length > linked() + 1, () => `UPDATED, then MESSAGE_ADDED; have ${JSON.stringify(types())}`);
      expect(types().filter((type) => type === "UPDATED")).toHaveLength(1);
      expect(types()[linked() + 1]).toBe("MESSAGE_ADDED");
    } finally {
      await live.dispose();
    }
  });

  test("another contact's conversation at the same address: CONFLICT, nothing written", async () => {
    const other = await seedTenant(server, "Shared phone");
    // The seed's contact holds the WhatsApp conversation at +48111222333.
    const twin = (await server.ok(other.tenant, `mutation { createContact(input: { firstName: "Twin", phone: "+48 111 222 333" }) { id } }`)).createContact.id;
    const before = await snapshot(server, other.tenant.id);
    expectError(await server.gql(TO_CONTACT, { input: { contactId: twin, channelType: "WHATSAPP", content: "Hi" } }, other.tenant.token), "CONFLICT");
    expect(await snapshot(server, other.tenant.id)).toEqual(before);
  });

  test.each([
    ["a phone channel for a contact without a phone", "SMS", /no phone/],
    ["a channel a contact has no address on", "SLACK", /start the conversation there first/],
  ])("%s: BAD_USER_INPUT on input.channelType, nothing written", async (_name, channelType, message) => {
    const other = await seedTenant(server, "No address");
    await server.db.prisma.contact.update({ where: { id: other.raw.contact.id }, data: { phone: null } });
    const before = await snapshot(server, other.tenant.id);
    const result = await server.gql(TO_CONTACT, { input: { contactId: other.id.contact, channelType, content: "Hello" } }, other.tenant.token);
    expectError(result, "BAD_USER_INPUT", { field: "input.channelType" });
    expect(result.errors![0]!.message).toMatch(message);
    expect(await snapshot(server, other.tenant.id)).toEqual(before);
  });
});
