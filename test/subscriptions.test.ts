// Subscriptions end to end: the real server, the real graphql-ws client, the real graphql-sse
// client (and raw WebSocket / fetch clients where the wire itself is under test), on a real
// database. Every subscription is known to be open on the server (the instance's live stats)
// before the change that should reach it is made, so no test depends on timing to see an event.
import { randomBytes } from "node:crypto";
import { createClient as createSseClient, NetworkError } from "graphql-sse";
import { createClient as createWsClient, type Client as WsClient } from "graphql-ws";
import WebSocket from "ws";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../src/http/server.js";
import { seedTenant, type Seed } from "./fixtures.js";
import { expectError, startTestServer, waitUntil, type TestServer } from "./harness.js";

// Event payloads are asserted by value (toEqual / toMatchObject), so their shape stays open.
type Data = Record<string, any>;
interface GqlError {
  message: string;
  path?: readonly (string | number)[];
  extensions?: Record<string, unknown>;
}
interface Result {
  data?: Data | null;
  errors?: readonly GqlError[];
}
interface Close {
  code: number;
  reason: string;
}

const WAIT_MS = 5_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let server: TestServer;
/** Instances whose live registry must be empty again after every test. */
const checkedApps: App[] = [];
/** Closes what a test opened; run after each test, whether it passed or not. */
let cleanups: (() => unknown)[] = [];

beforeAll(async () => {
  // A short re-check interval: revocation by another process and expiry end streams quickly.
  server = await startTestServer({ env: { TOKEN_RECHECK_MS: "200" } });
  checkedApps.push(server.app);
});
afterAll(() => server?.close());
afterEach(async () => {
  const pending = cleanups;
  cleanups = [];
  for (const cleanup of pending.reverse()) await cleanup();
  // Closing every client frees every slot: nothing leaks from one test into the next.
  for (const app of checkedApps) {
    await waitUntil(
      () => app.live.stats().connections === 0 && app.live.stats().streams === 0,
      () => `an empty live registry, have ${JSON.stringify(app.live.stats())}`,
    );
  }
});

/** Resolves once `count` streams are open on the instance: subscribed, so changes now reach them. */
function streamsOpen(count: number, app: App = server.app) {
  return waitUntil(
    () => app.live.stats().streams === count,
    () => `${count} open streams, have ${JSON.stringify(app.live.stats())}`,
  );
}

/** What one subscription received, in order, and how it ended. */
class Results {
  readonly items: Result[] = [];
  completed = false;
  failed = false;
  /** What the client reported as the error: GraphQL errors, a CloseEvent, a NetworkError. */
  failure: unknown;
  dispose: () => void = () => {};
  readonly sink = {
    next: (value: object) => void this.items.push(value as Result),
    error: (error: unknown) => {
      this.failed = true;
      this.failure = error;
    },
    complete: () => {
      this.completed = true;
    },
  };

  get ended() {
    return this.completed || this.failed;
  }

  /** The nth result (1-based), once it has arrived. */
  async nth(n: number, timeoutMs = WAIT_MS): Promise<Result> {
    await waitUntil(() => this.items.length >= n, () => `result #${n}; have ${JSON.stringify(this.items)}`, timeoutMs);
    return this.items[n - 1]!;
  }

  async end(timeoutMs = WAIT_MS): Promise<void> {
    await waitUntil(() => this.ended, () => `the end of the subscription; have ${JSON.stringify(this.items)}`, timeoutMs);
  }
}

const wsUrl = (url: string) => url.replace(/^http/, "ws");

interface WsConnection {
  client: WsClient;
  /** Close events of the client's socket, in order. */
  closes: Close[];
  readonly acknowledged: boolean;
  subscribe(query: string, variables?: Record<string, unknown>): Results;
}

/** A graphql-ws client that connects at once, never retries and records how its socket closed. */
function connectWs(token: string | null, url = server.url): WsConnection {
  const closes: Close[] = [];
  let acknowledged = false;
  const client = createWsClient({
    url: wsUrl(url),
    webSocketImpl: WebSocket,
    connectionParams: token === null ? {} : { authorization: `Bearer ${token}` },
    lazy: false,
    retryAttempts: 0,
    // A refused connection is asserted through `closes`.
    onNonLazyError: () => {},
    on: {
      connected: () => {
        acknowledged = true;
      },
      closed: (event) => {
        const { code, reason } = event as Close;
        closes.push({ code, reason: String(reason) });
      },
    },
  });
  cleanups.push(() => client.dispose());
  return {
    client,
    closes,
    get acknowledged() {
      return acknowledged;
    },
    subscribe(query, variables) {
      const results = new Results();
      results.dispose = client.subscribe({ query, variables }, results.sink);
      return results;
    },
  };
}

async function acknowledged(connection: WsConnection) {
  await waitUntil(() => connection.acknowledged, () => `connection_ack; closes: ${JSON.stringify(connection.closes)}`);
}

async function closedWith(connection: { closes: Close[] }, code: number, timeoutMs = WAIT_MS): Promise<Close> {
  await waitUntil(() => connection.closes.length > 0, () => `the socket to close with ${code}`, timeoutMs);
  expect(connection.closes[0]!.code, JSON.stringify(connection.closes)).toBe(code);
  return connection.closes[0]!;
}

/** A graphql-sse client in distinct-connections mode (what yoga serves), never retrying. */
function sseClient(token: string | null, url = server.url) {
  const client = createSseClient({
    url,
    headers: token === null ? {} : { authorization: `Bearer ${token}` },
    singleConnection: false,
    retryAttempts: 0,
  });
  cleanups.push(() => client.dispose());
  return {
    subscribe(query: string, variables?: Record<string, unknown>): Results {
      const results = new Results();
      results.dispose = client.subscribe({ query, variables }, results.sink);
      return results;
    },
  };
}

/** A graphql-transport-ws client written by hand, for what graphql-ws' client cannot do. */
class RawSocket {
  readonly socket: WebSocket;
  readonly messages: Data[] = [];
  readonly closes: Close[] = [];
  private readonly opened: Promise<void>;

  constructor(url: string, headers: Record<string, string> = {}) {
    this.socket = new WebSocket(wsUrl(url), "graphql-transport-ws", { headers });
    this.socket.on("message", (data) => this.messages.push(JSON.parse(String(data)) as Data));
    this.socket.on("close", (code, reason) => this.closes.push({ code, reason: String(reason) }));
    this.opened = new Promise((resolve, reject) => {
      this.socket.once("open", () => resolve());
      this.socket.once("error", reject);
    });
    cleanups.push(() => this.socket.terminate());
  }

  async send(message: Record<string, unknown>) {
    await this.opened;
    this.socket.send(JSON.stringify(message));
  }

  /** The first message (from index `from` on) that matches. */
  async message(matches: (message: Data) => boolean, from = 0, timeoutMs = WAIT_MS): Promise<Data> {
    const found = () => this.messages.slice(from).find(matches);
    await waitUntil(() => found() !== undefined, () => `a message; have ${JSON.stringify(this.messages).slice(0, 2_000)}`, timeoutMs);
    return found()!;
  }
}

// ---- HTTP side: the changes that publish events -------------------------------------------

async function post(url: string, token: string | null, query: string, variables: Record<string, unknown> = {}) {
  const headers: Record<string, string> = { "content-type": "application/json", accept: "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(url, { method: "POST", headers, body: JSON.stringify({ query, variables }) });
  return { status: response.status, ...((await response.json()) as Result) };
}

/** A request that must succeed; `url` picks the instance (events stay on the instance without Redis). */
async function ok(token: string, query: string, variables: Record<string, unknown> = {}, url = server.url): Promise<Data> {
  const result = await post(url, token, query, variables);
  expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
  expect(result.status).toBe(200);
  return result.data!;
}

const sendOperatorMessage = async (token: string, conversationId: string, content: string, url?: string): Promise<string> =>
  (
    await ok(
      token,
      `mutation($id: ID!, $content: String!) { sendOperatorMessage(conversationId: $id, content: $content) { id } }`,
      { id: conversationId, content },
      url,
    )
  ).sendOperatorMessage.id;

const UPDATE_CONVERSATION = `mutation($id: ID!, $input: UpdateConversationInput!) { updateConversation(id: $id, input: $input) { id } }`;
const updateConversation = (token: string, id: string, input: Record<string, unknown>, url?: string) =>
  ok(token, UPDATE_CONVERSATION, { id, input }, url);

const CREATE_CONVERSATION = `mutation($input: CreateConversationInput!) { createConversation(input: $input) { id } }`;
const createConversation = async (token: string, input: Record<string, unknown>): Promise<string> =>
  (await ok(token, CREATE_CONVERSATION, { input })).createConversation.id;

const BULK = `mutation($input: BulkUpdateConversationsInput!) { bulkUpdateConversations(input: $input) { updated skipped } }`;

const tokenIdOf = async (token: string, url?: string): Promise<string> => (await ok(token, `{ viewer { token { id } } }`, {}, url)).viewer.token.id;
const rawId = (globalId: string) => globalId.slice(globalId.indexOf("_") + 1);
const unknownConversationId = "conv_00000000-0000-4000-8000-000000000000";
const longText = (chars: number) => randomBytes(Math.ceil(chars / 2)).toString("hex").slice(0, chars);

// ---- Subscriptions used throughout --------------------------------------------------------

const CONVERSATION = `subscription($id: ID!) {
  conversation(id: $id) {
    eventId type occurredAt
    conversation { id status contact { firstName } tags { name } lastMessages(count: 2) { content } }
    message { id content }
  }
}`;

const CONVERSATION_EVENTS = `subscription($channelType: ChannelType, $channelId: ID, $agentId: ID, $status: ConversationStatus, $types: [ConversationEventType!]) {
  conversationEvents(channelType: $channelType, channelId: $channelId, agentId: $agentId, status: $status, types: $types) {
    type conversation { id status } message { content }
  }
}`;

const LEAD_EVENTS = `subscription($status: LeadStatus) { leadEvents(status: $status) { type lead { id status source } } }`;
const BOOKING_EVENTS = `subscription { bookingEvents { type booking { id status notes } } }`;

/** The `conversationEvents` payload of a result, for the common (type, conversation id) check. */
const conversationEvent = (result: Result) => {
  expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
  const event = result.data!.conversationEvents;
  return { type: event.type as string, id: event.conversation.id as string };
};

// ---------------------------------------------------------------------------------------------

describe("conversation(id) over WebSocket", () => {
  it("delivers MESSAGE_ADDED (with the message and the conversation's nested fields) and then CLOSED, in order", async () => {
    const seed = await seedTenant(server, "WS conversation");
    const token = seed.tenant.token;
    const subscription = connectWs(token).subscribe(CONVERSATION, { id: seed.id.conversation });
    await streamsOpen(1);

    const messageId = await sendOperatorMessage(token, seed.id.conversation, "On my way");
    await updateConversation(token, seed.id.conversation, { status: "CLOSED" });

    const added = await subscription.nth(1);
    const closed = await subscription.nth(2);
    expect(added).toEqual({
      data: {
        conversation: {
          eventId: expect.any(String),
          type: "MESSAGE_ADDED",
          occurredAt: expect.any(String),
          conversation: {
            id: seed.id.conversation,
            // Read when the event is delivered, which may be after the close below committed.
            status: expect.stringMatching(/^(OPEN|CLOSED)$/),
            contact: { firstName: "Ada" },
            tags: [{ name: "vip" }],
            lastMessages: [{ content: "Hello there" }, { content: "On my way" }],
          },
          message: { id: messageId, content: "On my way" },
        },
      },
    });
    expect(closed).toEqual({
      data: {
        conversation: {
          eventId: expect.any(String),
          type: "CLOSED",
          occurredAt: expect.any(String),
          conversation: {
            id: seed.id.conversation,
            status: "CLOSED",
            contact: { firstName: "Ada" },
            tags: [{ name: "vip" }],
            lastMessages: [{ content: "Hello there" }, { content: "On my way" }],
          },
          message: null,
        },
      },
    });
    expect(closed.data!.conversation.eventId).not.toBe(added.data!.conversation.eventId);
    expect(Date.parse(closed.data!.conversation.occurredAt)).toBeGreaterThanOrEqual(Date.parse(added.data!.conversation.occurredAt));
    expect(subscription.ended).toBe(false);
  });

  it("does not deliver changes to the tenant's other conversations", async () => {
    const seed = await seedTenant(server, "WS one conversation", { closed: true });
    const token = seed.tenant.token;
    const subscription = connectWs(token).subscribe(CONVERSATION, { id: seed.id.conversation });
    await streamsOpen(1);

    await sendOperatorMessage(token, seed.id.closed!, "Not for this subscriber");
    await updateConversation(token, seed.id.closed!, { assignedOperator: "piotr" });
    await sendOperatorMessage(token, seed.id.conversation, "For this subscriber");

    expect((await subscription.nth(1)).data!.conversation).toMatchObject({ type: "MESSAGE_ADDED", message: { content: "For this subscriber" } });
  });
});

describe("conversationEvents filters", () => {
  interface FilterCase {
    name: string;
    args: (seed: Seed) => Record<string, unknown>;
    /** Changes that must not reach the subscriber. */
    miss: (seed: Seed, token: string) => Promise<unknown>;
    /** The change that must, and the event it publishes. */
    hit: (seed: Seed, token: string) => Promise<unknown>;
    expected: (seed: Seed) => { type: string; id: string };
  }
  // The seed has conversation 901 (WHATSAPP, its channel and agent, OPEN) and 902 (EMAIL, no
  // channel, no agent, CLOSED).
  const cases: FilterCase[] = [
    {
      name: "channelType",
      args: () => ({ channelType: "EMAIL" }),
      miss: (seed, token) => sendOperatorMessage(token, seed.id.conversation, "whatsapp"),
      hit: (seed, token) => sendOperatorMessage(token, seed.id.closed!, "email"),
      expected: (seed) => ({ type: "MESSAGE_ADDED", id: seed.id.closed! }),
    },
    {
      name: "channelId",
      args: (seed) => ({ channelId: seed.id.channel }),
      miss: (seed, token) => sendOperatorMessage(token, seed.id.closed!, "no channel"),
      hit: (seed, token) => sendOperatorMessage(token, seed.id.conversation, "on the channel"),
      expected: (seed) => ({ type: "MESSAGE_ADDED", id: seed.id.conversation }),
    },
    {
      name: "agentId",
      args: (seed) => ({ agentId: seed.id.agent }),
      miss: async (seed, token) => {
        await sendOperatorMessage(token, seed.id.closed!, "no agent");
        // Unassigning the agent: after this change the conversation no longer matches.
        await updateConversation(token, seed.id.conversation, { agentId: null });
      },
      // Assigning the agent: after this change the conversation matches.
      hit: (seed, token) => updateConversation(token, seed.id.closed!, { agentId: seed.id.agent }),
      expected: (seed) => ({ type: "UPDATED", id: seed.id.closed! }),
    },
    {
      name: "status",
      args: () => ({ status: "CLOSED" }),
      miss: (seed, token) => sendOperatorMessage(token, seed.id.conversation, "still open"),
      // Matched on the status after the change: the conversation was OPEN before it.
      hit: (seed, token) => updateConversation(token, seed.id.conversation, { status: "CLOSED" }),
      expected: (seed) => ({ type: "CLOSED", id: seed.id.conversation }),
    },
    {
      name: "types",
      args: () => ({ types: ["CLOSED", "CREATED"] }),
      miss: async (seed, token) => {
        await sendOperatorMessage(token, seed.id.conversation, "a message");
        await updateConversation(token, seed.id.conversation, { assignedOperator: "piotr" });
      },
      hit: (seed, token) => updateConversation(token, seed.id.conversation, { status: "CLOSED" }),
      expected: (seed) => ({ type: "CLOSED", id: seed.id.conversation }),
    },
  ];

  it.each(cases)("$name: a change that does not match is not delivered; the next matching one is", async ({ args, miss, hit, expected }) => {
    const seed = await seedTenant(server, "Filters", { closed: true });
    const token = seed.tenant.token;
    const subscription = connectWs(token).subscribe(CONVERSATION_EVENTS, args(seed));
    await streamsOpen(1);

    await miss(seed, token);
    await hit(seed, token);

    // Events arrive in the order of the changes: had a miss been delivered, it would be first.
    expect(conversationEvent(await subscription.nth(1))).toEqual(expected(seed));
  });
});

describe("what each mutation publishes", () => {
  it("createConversation publishes CREATED with the new conversation", async () => {
    const seed = await seedTenant(server, "Created");
    const token = seed.tenant.token;
    const subscription = connectWs(token).subscribe(
      `subscription { conversationEvents { type conversation { id number channelType customerIdentifier status } message { id } } }`,
    );
    await streamsOpen(1);

    const id = await createConversation(token, { channelType: "TELEGRAM", customerIdentifier: "@new-customer" });

    expect(await subscription.nth(1)).toEqual({
      data: {
        conversationEvents: {
          type: "CREATED",
          conversation: { id, number: 1, channelType: "TELEGRAM", customerIdentifier: "@new-customer", status: "OPEN" },
          message: null,
        },
      },
    });
  });

  it("bulkUpdateConversations publishes one event per changed conversation (CLOSED for CLOSE, UPDATED for TAG and ASSIGN) and none for skipped ids", async () => {
    const seed = await seedTenant(server, "Bulk", { closed: true });
    const token = seed.tenant.token;
    const third = await createConversation(token, { channelType: "SMS", customerIdentifier: "+15550001111" });
    const subscription = connectWs(token).subscribe(CONVERSATION_EVENTS);
    await streamsOpen(1);

    const bulk = async (input: Record<string, unknown>) => (await ok(token, BULK, { input })).bulkUpdateConversations;
    // 902 is already closed, the last id does not exist: both skipped.
    expect(await bulk({ action: "CLOSE", ids: [seed.id.conversation, seed.id.closed, third, unknownConversationId] })).toEqual({
      updated: 2,
      skipped: 2,
    });
    // 901 already carries the tag, and is already assigned to olga.
    expect(await bulk({ action: "TAG", ids: [seed.id.conversation, third], tagIds: [seed.id.tag] })).toEqual({ updated: 1, skipped: 1 });
    expect(await bulk({ action: "ASSIGN", ids: [seed.id.conversation, third], operator: "olga" })).toEqual({ updated: 1, skipped: 1 });
    // A marker: had a skipped id published anything, it would arrive before this.
    await sendOperatorMessage(token, seed.id.closed!, "marker");

    await subscription.nth(5);
    const events = subscription.items.map(conversationEvent);
    // The order within one bulk call is not specified.
    expect(events.slice(0, 2)).toEqual(
      expect.arrayContaining([
        { type: "CLOSED", id: seed.id.conversation },
        { type: "CLOSED", id: third },
      ]),
    );
    expect(events.slice(2)).toEqual([
      { type: "UPDATED", id: third },
      { type: "UPDATED", id: third },
      { type: "MESSAGE_ADDED", id: seed.id.closed },
    ]);
    expect(subscription.items.slice(0, 2).map((r) => r.data!.conversationEvents.conversation.status)).toEqual(["CLOSED", "CLOSED"]);
  });

  it("leadEvents: createLead publishes CREATED, updateLeadStatus UPDATED; `status` keeps only leads that now have it", async () => {
    const seed = await seedTenant(server, "Leads");
    const token = seed.tenant.token;
    const connection = connectWs(token);
    const all = connection.subscribe(LEAD_EVENTS);
    const qualified = connection.subscribe(LEAD_EVENTS, { status: "QUALIFIED" });
    await streamsOpen(2);

    const CREATE = `mutation($input: CreateLeadInput!) { createLead(input: $input) { id } }`;
    const UPDATE = `mutation($id: ID!, $status: LeadStatus!) { updateLeadStatus(id: $id, status: $status) { id } }`;
    // Each event is awaited before the next change: its fields are read when it is delivered.
    const first = (await ok(token, CREATE, { input: { source: "web" } })).createLead.id;
    expect((await all.nth(1)).data!.leadEvents).toEqual({ type: "CREATED", lead: { id: first, status: "NEW", source: "web" } });
    await ok(token, UPDATE, { id: first, status: "QUALIFIED" });
    expect((await all.nth(2)).data!.leadEvents).toEqual({ type: "UPDATED", lead: { id: first, status: "QUALIFIED", source: "web" } });
    await ok(token, UPDATE, { id: first, status: "WON" });
    expect((await all.nth(3)).data!.leadEvents).toEqual({ type: "UPDATED", lead: { id: first, status: "WON", source: "web" } });
    const second = (await ok(token, CREATE, { input: { source: "phone", status: "QUALIFIED" } })).createLead.id;
    expect((await all.nth(4)).data!.leadEvents).toEqual({ type: "CREATED", lead: { id: second, status: "QUALIFIED", source: "phone" } });

    await qualified.nth(2);
    // NEW and WON were filtered out: the second lead's creation comes right after QUALIFIED.
    expect(qualified.items.map((r) => [r.data!.leadEvents.type, r.data!.leadEvents.lead.id])).toEqual([
      ["UPDATED", first],
      ["CREATED", second],
    ]);
  });

  it("bookingEvents: createBooking, updateBooking and cancelBooking publish CREATED, UPDATED and CANCELLED", async () => {
    const seed = await seedTenant(server, "Bookings");
    const token = seed.tenant.token;
    const subscription = connectWs(token).subscribe(BOOKING_EVENTS);
    await streamsOpen(1);

    const created = (
      await ok(token, `mutation($input: CreateBookingInput!) { createBooking(input: $input) { id } }`, {
        input: { contactId: seed.id.contact, service: "Massage", startsAt: "2030-03-01T10:00:00Z", endsAt: "2030-03-01T11:00:00Z" },
      })
    ).createBooking.id;
    expect((await subscription.nth(1)).data!.bookingEvents).toEqual({ type: "CREATED", booking: { id: created, status: "PENDING", notes: null } });
    await ok(token, `mutation($id: ID!) { updateBooking(id: $id, input: { status: CONFIRMED, notes: "bring a towel" }) { id } }`, { id: created });
    expect((await subscription.nth(2)).data!.bookingEvents).toEqual({
      type: "UPDATED",
      booking: { id: created, status: "CONFIRMED", notes: "bring a towel" },
    });
    await ok(token, `mutation($id: ID!) { cancelBooking(id: $id) { id } }`, { id: created });
    expect((await subscription.nth(3)).data!.bookingEvents).toEqual({
      type: "CANCELLED",
      booking: { id: created, status: "CANCELLED", notes: "bring a towel" },
    });
  });
});

describe("Server-Sent Events", () => {
  it("graphql-sse client: conversation(id) receives MESSAGE_ADDED then CLOSED", async () => {
    const seed = await seedTenant(server, "SSE client");
    const token = seed.tenant.token;
    const subscription = sseClient(token).subscribe(CONVERSATION, { id: seed.id.conversation });
    await streamsOpen(1);

    const messageId = await sendOperatorMessage(token, seed.id.conversation, "Over SSE");
    expect((await subscription.nth(1)).data!.conversation).toMatchObject({
      type: "MESSAGE_ADDED",
      conversation: { id: seed.id.conversation, contact: { firstName: "Ada" }, lastMessages: [{ content: "Hello there" }, { content: "Over SSE" }] },
      message: { id: messageId, content: "Over SSE" },
    });
    await updateConversation(token, seed.id.conversation, { status: "CLOSED" });
    expect((await subscription.nth(2)).data!.conversation).toMatchObject({
      type: "CLOSED",
      conversation: { id: seed.id.conversation, status: "CLOSED" },
      message: null,
    });

    // Dropping the subscription closes the stream on the server.
    subscription.dispose();
    await streamsOpen(0);
    expect(subscription.items).toHaveLength(2);
  });

  /** Reads a text/event-stream body into events; comment lines (keep-alives) are skipped. */
  function eventReader(body: ReadableStream<Uint8Array>) {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    const events: { event: string; data: string }[] = [];
    let buffer = "";
    let done = false;
    void (async () => {
      try {
        for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
          buffer += decoder.decode(chunk.value, { stream: true });
          let end: number;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const lines = block.split("\n").filter((line) => !line.startsWith(":"));
            if (lines.length === 0) continue;
            const field = (name: string) =>
              lines
                .filter((line) => line.startsWith(`${name}:`))
                .map((line) => line.slice(name.length + 1).replace(/^ /, ""))
                .join("\n");
            events.push({ event: field("event"), data: field("data") });
          }
        }
      } catch {
        // Aborted by the test.
      } finally {
        done = true;
      }
    })();
    return {
      events,
      get done() {
        return done;
      },
      cancel: () => reader.cancel().catch(() => {}),
    };
  }

  function sseRequest(token: string | null, query: string, variables: Record<string, unknown> = {}) {
    const abort = new AbortController();
    cleanups.push(() => abort.abort());
    const headers: Record<string, string> = { "content-type": "application/json", accept: "text/event-stream" };
    if (token) headers.authorization = `Bearer ${token}`;
    return fetch(server.url, { method: "POST", headers, body: JSON.stringify({ query, variables }), signal: abort.signal });
  }

  it("raw fetch: the stream is text/event-stream with `event: next` / `data: <result JSON>` per event", async () => {
    const seed = await seedTenant(server, "SSE wire");
    const token = seed.tenant.token;
    const response = await sseRequest(token, BOOKING_EVENTS);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const stream = eventReader(response.body!);
    await streamsOpen(1);

    await ok(token, `mutation($id: ID!) { cancelBooking(id: $id) { id } }`, { id: seed.id.booking });

    await waitUntil(() => stream.events.length >= 1, () => `an SSE event; have ${JSON.stringify(stream.events)}`);
    expect(stream.events[0]!.event).toBe("next");
    expect(JSON.parse(stream.events[0]!.data)).toEqual({
      data: { bookingEvents: { type: "CANCELLED", booking: { id: seed.id.booking, status: "CANCELLED", notes: null } } },
    });
    await stream.cancel();
    await streamsOpen(0);
  });

  it("raw fetch: an operation refused before streaming sends one `next` with the error, then `event: complete`", async () => {
    const seed = await seedTenant(server, "SSE complete");
    const response = await sseRequest(seed.tenant.token, CONVERSATION, { id: unknownConversationId });
    expect(response.status).toBe(200);
    const stream = eventReader(response.body!);

    await waitUntil(() => stream.done, () => `the end of the response; have ${JSON.stringify(stream.events)}`);
    expect(stream.events.map((e) => e.event)).toEqual(["next", "complete"]);
    expect(JSON.parse(stream.events[0]!.data).errors).toMatchObject([{ path: ["conversation"], extensions: { code: "NOT_FOUND" } }]);
  });

  it("without a token: HTTP 401 and UNAUTHENTICATED, for raw requests and the graphql-sse client alike", async () => {
    const response = await sseRequest(null, BOOKING_EVENTS);
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toBe("Bearer");
    // GraphQL over SSE (graphql-sse PROTOCOL.md) answers in the format the client accepts,
    // text/event-stream: the error as a `next` event, then `complete`.
    expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const stream = eventReader(response.body!);
    await waitUntil(() => stream.done, () => `the end of the response; have ${JSON.stringify(stream.events)}`);
    expect(stream.events.map((e) => e.event)).toEqual(["next", "complete"]);
    expect(JSON.parse(stream.events[0]!.data)).toEqual({
      errors: [{ message: expect.stringMatching(/token/), extensions: { code: "UNAUTHENTICATED" } }],
    });

    const subscription = sseClient(null).subscribe(BOOKING_EVENTS);
    await subscription.end();
    expect(subscription.failure).toBeInstanceOf(NetworkError);
    expect((subscription.failure as NetworkError).response?.status).toBe(401);
    expect(subscription.items).toEqual([]);
    expect(server.app.live.stats()).toEqual({ connections: 0, streams: 0 });
  });
});

describe("WebSocket authentication", () => {
  const cases: { name: string; token: (seed: Seed) => Promise<string | null> }[] = [
    { name: "no token", token: async () => null },
    { name: "a malformed token", token: async () => "not-a-token" },
    { name: "an unknown token", token: async () => `convo_${randomBytes(16).toString("hex")}` },
    {
      name: "a revoked token",
      token: async (seed) => {
        const token = await seed.tenant.tokenWith(["conversations:read"]);
        await ok(seed.tenant.token, `mutation($id: ID!) { revokeApiToken(id: $id) { id } }`, { id: await tokenIdOf(token) });
        return token;
      },
    },
    {
      name: "an expired token",
      token: async (seed) => {
        const token = await seed.tenant.tokenWith(["conversations:read"]);
        await server.db.prisma.apiToken.update({ where: { id: rawId(await tokenIdOf(token)) }, data: { expiresAt: new Date(Date.now() - 1_000) } });
        return token;
      },
    },
  ];

  it.each(cases)("$name: the socket is closed with 4401 before any subscription runs", async ({ token }) => {
    const seed = await seedTenant(server, "WS auth");
    const connection = connectWs(await token(seed));
    const subscription = connection.subscribe(BOOKING_EVENTS);

    const close = await closedWith(connection, 4401);
    expect(close.reason).toMatch(/token/i);
    await subscription.end();
    expect(subscription.items).toEqual([]);
    expect((subscription.failure as Close).code).toBe(4401);
    expect(connection.acknowledged).toBe(false);
    expect(server.app.live.stats()).toEqual({ connections: 0, streams: 0 });
  });

  it("a valid token without any subscribable read scope (only contacts:read): closed with 4403", async () => {
    const seed = await seedTenant(server, "WS forbidden");
    const connection = connectWs(await seed.tenant.tokenWith(["contacts:read"]));
    const subscription = connection.subscribe(BOOKING_EVENTS);

    const close = await closedWith(connection, 4403);
    expect(close.reason).toMatch(/conversations:read/);
    await subscription.end();
    expect(subscription.items).toEqual([]);
    expect(connection.acknowledged).toBe(false);
  });

  it("the token may come in the upgrade request's Authorization header instead of connection_init", async () => {
    const seed = await seedTenant(server, "WS header");
    const token = seed.tenant.token;
    const socket = new RawSocket(server.url, { authorization: `Bearer ${token}` });

    await socket.send({ type: "connection_init" });
    expect(await socket.message(() => true)).toEqual({ type: "connection_ack" });
    await socket.send({ id: "1", type: "subscribe", payload: { query: BOOKING_EVENTS } });
    await streamsOpen(1);
    await ok(token, `mutation($id: ID!) { cancelBooking(id: $id) { id } }`, { id: seed.id.booking });

    expect(await socket.message((m) => m.type === "next")).toEqual({
      id: "1",
      type: "next",
      payload: { data: { bookingEvents: { type: "CANCELLED", booking: { id: seed.id.booking, status: "CANCELLED", notes: null } } } },
    });
    expect(socket.closes).toEqual([]);
  });
});

describe("scopes", () => {
  it("a token with only leads:read subscribing to conversationEvents gets FORBIDDEN naming conversations:read, at once", async () => {
    const seed = await seedTenant(server, "Scope subscribe");
    const connection = connectWs(await seed.tenant.tokenWith(["leads:read"]));
    const subscription = connection.subscribe(`subscription { conversationEvents { type } }`);

    // Refused when subscribing: no conversation changes, yet the error arrives and the operation ends.
    await subscription.end(2_000);
    expect(subscription.completed).toBe(true);
    expect(subscription.items).toHaveLength(1);
    expect(subscription.items[0]!.errors).toMatchObject([
      { path: ["conversationEvents"], extensions: { code: "FORBIDDEN", scope: "conversations:read" } },
    ]);
    // Nothing stays open for it on the server; the connection itself is fine.
    expect(server.app.live.stats()).toEqual({ connections: 1, streams: 0 });
    expect(connection.closes).toEqual([]);
  });

  it("a token with conversations:read but not contacts:read gets FORBIDDEN for the contact inside each event, the rest of the event intact", async () => {
    const seed = await seedTenant(server, "Scope nested");
    const token = await seed.tenant.tokenWith(["conversations:read"]);
    const subscription = connectWs(token).subscribe(
      `subscription($id: ID!) { conversation(id: $id) { type conversation { status contact { firstName } } message { content } } }`,
      { id: seed.id.conversation },
    );
    await streamsOpen(1);

    await sendOperatorMessage(seed.tenant.token, seed.id.conversation, "Scoped");

    const result = await subscription.nth(1);
    const event = result.data!.conversation;
    expect(event).toMatchObject({ type: "MESSAGE_ADDED", conversation: { status: "OPEN" }, message: { content: "Scoped" } });
    // As in queries (scopes.test.ts): the contact's fields are withheld, with an error under `contact`.
    expect(event.conversation.contact?.firstName ?? null).toBeNull();
    expect(JSON.stringify(result.data)).not.toContain("Ada");
    expect(result.errors?.length, JSON.stringify(result)).toBeGreaterThan(0);
    for (const error of result.errors!) {
      expect(error).toMatchObject({ extensions: { code: "FORBIDDEN", scope: "contacts:read" } });
      expect(error.path!.slice(0, 3)).toEqual(["conversation", "conversation", "contact"]);
    }
    // A per-event field error does not end the subscription.
    expect(subscription.ended).toBe(false);
  });
});

describe("tenancy", () => {
  it("a subscriber never receives another tenant's events", async () => {
    const a = await seedTenant(server, "Tenant A");
    const b = await seedTenant(server, "Tenant B");
    const connection = connectWs(b.tenant.token);
    const conversations = connection.subscribe(CONVERSATION_EVENTS);
    const bookings = connection.subscribe(BOOKING_EVENTS);
    const leads = connection.subscribe(LEAD_EVENTS);
    await streamsOpen(3);

    const cancel = `mutation($id: ID!) { cancelBooking(id: $id) { id } }`;
    const qualify = `mutation($id: ID!) { updateLeadStatus(id: $id, status: QUALIFIED) { id } }`;
    await sendOperatorMessage(a.tenant.token, a.id.conversation, "A's message");
    await ok(a.tenant.token, cancel, { id: a.id.booking });
    await ok(a.tenant.token, qualify, { id: a.id.lead });
    await sendOperatorMessage(b.tenant.token, b.id.conversation, "B's message");
    await ok(b.tenant.token, cancel, { id: b.id.booking });
    await ok(b.tenant.token, qualify, { id: b.id.lead });

    expect((await conversations.nth(1)).data!.conversationEvents).toEqual({
      type: "MESSAGE_ADDED",
      conversation: { id: b.id.conversation, status: "OPEN" },
      message: { content: "B's message" },
    });
    expect((await bookings.nth(1)).data!.bookingEvents.booking.id).toBe(b.id.booking);
    expect((await leads.nth(1)).data!.leadEvents.lead.id).toBe(b.id.lead);
  });

  it("conversation(id) with another tenant's id answers NOT_FOUND, exactly as an unknown id", async () => {
    const a = await seedTenant(server, "Owner");
    const b = await seedTenant(server, "Other");
    const connection = connectWs(b.tenant.token);
    const foreign = connection.subscribe(CONVERSATION, { id: a.id.conversation });
    const unknown = connection.subscribe(CONVERSATION, { id: unknownConversationId });

    await foreign.end();
    await unknown.end();
    expect(foreign.items).toMatchObject([{ errors: [{ path: ["conversation"], extensions: { code: "NOT_FOUND", field: "id" } }] }]);
    expect(foreign.items).toEqual(unknown.items);
    expect([foreign.completed, unknown.completed]).toEqual([true, true]);
    expect(server.app.live.stats().streams).toBe(0);
  });
});

describe("revocation", () => {
  it("revokeApiToken ends the token's open WebSocket subscription within 1 s: UNAUTHENTICATED, completion, then close 4401", async () => {
    // Re-checks once a minute: only the revocation event itself can end the stream this fast.
    const instance = await server.startInstance({ TOKEN_RECHECK_MS: "60000" });
    checkedApps.push(instance.app);
    const seed = await seedTenant(server, "Revoke");
    const token = await seed.tenant.tokenWith(["conversations:read"]);
    const tokenId = await tokenIdOf(token, instance.url);
    const connection = connectWs(token, instance.url);
    const subscription = connection.subscribe(CONVERSATION_EVENTS);
    await streamsOpen(1, instance.app);

    const revokedAt = Date.now();
    await ok(seed.tenant.token, `mutation($id: ID!) { revokeApiToken(id: $id) { revokedAt } }`, { id: tokenId }, instance.url);

    await closedWith(connection, 4401, 1_000);
    expect(Date.now() - revokedAt).toBeLessThan(1_000);
    expect(subscription.items).toHaveLength(1);
    expect(subscription.items[0]!.errors).toMatchObject([{ extensions: { code: "UNAUTHENTICATED" } }]);
    // The error is the last result; graphql-ws then completes the operation before the socket closes.
    expect(subscription.completed, `ended by ${subscription.failed ? `a close event ${(subscription.failure as Close).code}` : "nothing"}`).toBe(true);
  });

  const outOfBand: { name: string; data: () => { revokedAt?: Date; expiresAt?: Date } }[] = [
    { name: "revoked in the database (as the CLI does)", data: () => ({ revokedAt: new Date() }) },
    { name: "expired", data: () => ({ expiresAt: new Date(Date.now() - 1) }) },
  ];

  it.each(outOfBand)("a token $name: its WebSocket and SSE subscriptions end within 2 s", async ({ data }) => {
    const seed = await seedTenant(server, "Out of band");
    const token = await seed.tenant.tokenWith(["conversations:read"]);
    const tokenId = rawId(await tokenIdOf(token));
    const connection = connectWs(token);
    const overWs = connection.subscribe(CONVERSATION_EVENTS);
    const overSse = sseClient(token).subscribe(CONVERSATION_EVENTS);
    await streamsOpen(2);

    const changedAt = Date.now();
    await server.db.prisma.apiToken.update({ where: { id: tokenId }, data: data() });

    await overWs.end(2_000);
    await overSse.end(2_000);
    expect(Date.now() - changedAt).toBeLessThan(2_000);
    for (const subscription of [overWs, overSse]) {
      expect(subscription.items).toHaveLength(1);
      expect(subscription.items[0]!.errors).toMatchObject([{ extensions: { code: "UNAUTHENTICATED" } }]);
    }
    expect(overSse.completed).toBe(true);
    await closedWith(connection, 4401);

    // Nothing more reaches either of them.
    await sendOperatorMessage(seed.tenant.token, seed.id.conversation, "after the end");
    await sleep(100);
    expect(overWs.items).toHaveLength(1);
    expect(overSse.items).toHaveLength(1);
  });
});

describe("failed writes publish nothing; each change publishes exactly once", () => {
  it("CONFLICT, NOT_FOUND and BAD_USER_INPUT mutations publish nothing: the next event is the next successful change", async () => {
    const seed = await seedTenant(server, "Failures", { closed: true });
    const token = seed.tenant.token;
    const subscription = connectWs(token).subscribe(CONVERSATION_EVENTS);
    await streamsOpen(1);

    const failures: { name: string; run: () => Promise<void> }[] = [
      {
        name: "createConversation CONFLICT",
        run: async () =>
          expectError(
            await server.gql(CREATE_CONVERSATION, { input: { channelType: "WHATSAPP", customerIdentifier: "+48111222333" } }, token),
            "CONFLICT",
          ),
      },
      {
        name: "updateConversation of an unknown id",
        run: async () => expectError(await server.gql(UPDATE_CONVERSATION, { id: unknownConversationId, input: { status: "CLOSED" } }, token), "NOT_FOUND"),
      },
      {
        name: "bulkUpdateConversations with an unknown tag id",
        run: async () =>
          expectError(
            await server.gql(BULK, { input: { action: "TAG", ids: [seed.id.conversation], tagIds: ["tag_00000000-0000-4000-8000-000000000000"] } }, token),
            "NOT_FOUND",
          ),
      },
      {
        name: "addMessage with content too long",
        run: async () =>
          expectError(
            await server.gql(
              `mutation($input: AddMessageInput!) { addMessage(input: $input) { id } }`,
              { input: { conversationId: seed.id.conversation, role: "USER", content: "x".repeat(10_001) } },
              token,
            ),
            "BAD_USER_INPUT",
          ),
      },
    ];

    for (const [index, failure] of failures.entries()) {
      await failure.run();
      await sendOperatorMessage(token, seed.id.closed!, `after ${failure.name}`);
      const event = (await subscription.nth(index + 1)).data!.conversationEvents;
      expect(event, failure.name).toEqual({
        type: "MESSAGE_ADDED",
        conversation: { id: seed.id.closed, status: "CLOSED" },
        message: { content: `after ${failure.name}` },
      });
    }
    expect(subscription.items).toHaveLength(failures.length);
  });

  it("one change reaches each subscription exactly once", async () => {
    const seed = await seedTenant(server, "Exactly once");
    const token = seed.tenant.token;
    const connection = connectWs(token);
    // Two subscriptions with the same selection share the event's load; each still gets it once.
    const first = connection.subscribe(CONVERSATION_EVENTS);
    const second = connection.subscribe(CONVERSATION_EVENTS);
    const one = connection.subscribe(CONVERSATION, { id: seed.id.conversation });
    await streamsOpen(3);

    await updateConversation(token, seed.id.conversation, { assignedOperator: "piotr" });

    for (const subscription of [first, second]) {
      expect(conversationEvent(await subscription.nth(1))).toEqual({ type: "UPDATED", id: seed.id.conversation });
    }
    expect((await one.nth(1)).data!.conversation.type).toBe("UPDATED");
    await sleep(300);
    expect([first.items.length, second.items.length, one.items.length]).toEqual([1, 1, 1]);
  });
});

describe("limits", () => {
  let limited: { url: string; app: App };
  beforeAll(async () => {
    limited = await server.startInstance({ MAX_SUBSCRIPTIONS_PER_CONNECTION: "2", MAX_CONNECTIONS_PER_TOKEN: "2" });
    checkedApps.push(limited.app);
  });

  it("MAX_SUBSCRIPTIONS_PER_CONNECTION=2: the third subscription on a connection gets TOO_MANY_SUBSCRIPTIONS (limit 2); the first two keep working", async () => {
    const seed = await seedTenant(server, "Subscription limit");
    const token = seed.tenant.token;
    const connection = connectWs(token, limited.url);
    const first = connection.subscribe(CONVERSATION_EVENTS);
    const second = connection.subscribe(BOOKING_EVENTS);
    await streamsOpen(2, limited.app);

    const third = connection.subscribe(LEAD_EVENTS);
    await third.end();
    expect(third.completed).toBe(true);
    expect(third.items).toMatchObject([{ errors: [{ extensions: { code: "TOO_MANY_SUBSCRIPTIONS", limit: 2 } }] }]);

    await sendOperatorMessage(token, seed.id.conversation, "still here", limited.url);
    await ok(token, `mutation($id: ID!) { cancelBooking(id: $id) { id } }`, { id: seed.id.booking }, limited.url);
    expect(conversationEvent(await first.nth(1))).toEqual({ type: "MESSAGE_ADDED", id: seed.id.conversation });
    expect((await second.nth(1)).data!.bookingEvents.type).toBe("CANCELLED");

    // Ending one subscription frees its place on the connection.
    first.dispose();
    await streamsOpen(1, limited.app);
    const replacement = connection.subscribe(LEAD_EVENTS);
    await streamsOpen(2, limited.app);
    await ok(token, `mutation($id: ID!) { updateLeadStatus(id: $id, status: WON) { id } }`, { id: seed.id.lead }, limited.url);
    expect((await replacement.nth(1)).data!.leadEvents).toMatchObject({ type: "UPDATED", lead: { id: seed.id.lead, status: "WON" } });
    expect(connection.closes).toEqual([]);
  });

  it("MAX_CONNECTIONS_PER_TOKEN=2: a third WebSocket is closed with 4008, an SSE stream gets TOO_MANY_CONNECTIONS; closing a connection frees its slot", async () => {
    const seed = await seedTenant(server, "Connection limit");
    const token = await seed.tenant.tokenWith(["conversations:read"]);
    const first = connectWs(token, limited.url);
    const second = connectWs(token, limited.url);
    await acknowledged(first);
    await acknowledged(second);

    const third = connectWs(token, limited.url);
    expect((await closedWith(third, 4008)).reason).toMatch(/2 live connections/);
    const refused = sseClient(token, limited.url).subscribe(CONVERSATION_EVENTS);
    await refused.end();
    expect(refused.items).toMatchObject([{ errors: [{ extensions: { code: "TOO_MANY_CONNECTIONS", limit: 2 } }] }]);
    // Another token of the same tenant has slots of its own.
    await acknowledged(connectWs(seed.tenant.token, limited.url));

    // Closing the first WebSocket frees a slot: an SSE stream now opens, and counts as a connection.
    first.client.dispose();
    await waitUntil(() => limited.app.live.stats().connections === 2, () => `2 connections, have ${JSON.stringify(limited.app.live.stats())}`);
    const stream = sseClient(token, limited.url).subscribe(CONVERSATION_EVENTS);
    await streamsOpen(1, limited.app);
    await sendOperatorMessage(seed.tenant.token, seed.id.conversation, "over the freed slot", limited.url);
    expect(conversationEvent(await stream.nth(1))).toEqual({ type: "MESSAGE_ADDED", id: seed.id.conversation });
    await closedWith(connectWs(token, limited.url), 4008);

    // Ending the SSE stream frees its slot too.
    stream.dispose();
    await streamsOpen(0, limited.app);
    await acknowledged(connectWs(token, limited.url));
  });

  it("a socket that closes while its connection_init is being authenticated does not keep a connection slot", async () => {
    // An instance of its own: a leaked slot stays taken for the instance's lifetime.
    const instance = await server.startInstance({ MAX_CONNECTIONS_PER_TOKEN: "1" });
    const tenant = await server.createTenant("Init race");
    const token = await tenant.tokenWith(["conversations:read"]);
    // Hold the tenant's token rows: authenticating this (never used) token records its first
    // use, so onConnect waits on this lock until the client has gone.
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    const holder = server.db.prisma.$transaction(
      async (tx) => {
        await tx.$queryRaw`SELECT "id" FROM "ApiToken" WHERE "tenantId" = ${tenant.id}::uuid FOR UPDATE`;
        locked();
        await released;
      },
      { timeout: 10_000 },
    );
    cleanups.push(async () => {
      release();
      await holder.catch(() => {});
    });
    await isLocked;

    const socket = new RawSocket(instance.url);
    await socket.send({ type: "connection_init", payload: { authorization: `Bearer ${token}` } });
    await sleep(100);
    socket.socket.close();
    await waitUntil(() => socket.closes.length > 0, () => "the client socket to close");
    await sleep(50);
    release();
    await holder;

    // Whatever onConnect decided after the socket was gone, nothing holds the token's only slot.
    await sleep(200);
    expect(socket.messages).toEqual([]);
    expect(instance.app.live.stats().connections).toBe(0);
    await acknowledged(connectWs(token, instance.url));
  });
});

describe("slow consumers", () => {
  it("SUBSCRIPTION_BUFFER=5: a reader stalled on TCP gets SUBSCRIPTION_OVERFLOW once it resumes, while another subscriber receives every event promptly", async () => {
    const instance = await server.startInstance({ SUBSCRIPTION_BUFFER: "5" });
    checkedApps.push(instance.app);
    const seed = await seedTenant(server, "Slow consumer");
    const token = seed.tenant.token;
    // 50 messages of 10,000 characters: every event the slow reader selects is about 500 KB.
    await server.db.prisma.message.createMany({
      data: Array.from({ length: 50 }, () => ({
        tenantId: seed.tenant.id,
        conversationId: rawId(seed.id.conversation),
        role: "USER" as const,
        content: longText(10_000),
      })),
    });

    const fast = connectWs(token, instance.url).subscribe(
      `subscription($id: ID!) { conversation(id: $id) { type message { id } } }`,
      { id: seed.id.conversation },
    );
    const slow = new RawSocket(instance.url);
    await slow.send({ type: "connection_init", payload: { authorization: `Bearer ${token}` } });
    await slow.message((m) => m.type === "connection_ack");
    await slow.send({
      id: "slow",
      type: "subscribe",
      payload: {
        query: `subscription($id: ID!) { conversation(id: $id) { type conversation { lastMessages(count: 50) { content } } } }`,
        variables: { id: seed.id.conversation },
      },
    });
    await streamsOpen(2, instance.app);
    // Stop reading: the kernel's buffers fill, then the server's writes to this socket stall.
    slow.socket.pause();

    // ~30 × 500 KB is several times what loopback TCP buffers before the writer stalls,
    // plus the 5 queued events and the one that overflows.
    const EVENTS = 30;
    const sent: string[] = [];
    for (let i = 1; i <= EVENTS; i += 1) {
      sent.push(await sendOperatorMessage(token, seed.id.conversation, longText(10_000), instance.url));
      // The other subscriber is not held up by the stalled one.
      expect((await fast.nth(i, 2_000)).data!.conversation).toEqual({ type: "MESSAGE_ADDED", message: { id: sent[i - 1] } });
    }

    slow.socket.resume();
    await slow.message((m) => m.id === "slow" && m.type === "complete", 0, 10_000);
    const results = slow.messages.filter((m) => m.id === "slow" && m.type === "next").map((m) => m.payload as Result);
    const delivered = results.filter((r) => r.data);
    expect(delivered.length).toBeGreaterThan(0);
    expect(delivered.length).toBeLessThan(EVENTS);
    for (const result of delivered) expect(result.data!.conversation.conversation.lastMessages).toHaveLength(50);
    expect(results.at(-1)!.errors).toMatchObject([{ extensions: { code: "SUBSCRIPTION_OVERFLOW", buffered: 5 } }]);
    expect(results.filter((r) => r.errors)).toHaveLength(1);
    // The stalled one ended alone: the other subscription is still open and complete.
    expect(fast.items).toHaveLength(EVENTS);
    expect(fast.ended).toBe(false);
    await streamsOpen(1, instance.app);
  });
});

describe("operation errors over WebSocket", () => {
  it("an invalid subscription gets an `error` message for that operation; the socket stays open and serves the next one", async () => {
    const seed = await seedTenant(server, "Invalid");
    const token = seed.tenant.token;
    const connection = connectWs(token);
    const invalid = connection.subscribe(`subscription { nope }`);
    const unparsable = connection.subscribe(`subscription {`);

    await invalid.end();
    await unparsable.end();
    expect(invalid.items).toEqual([]);
    expect(invalid.failure).toMatchObject([{ message: 'Cannot query field "nope" on type "Subscription".' }]);
    expect(unparsable.failure).toMatchObject([{ message: expect.stringMatching(/^Syntax Error/) }]);

    const valid = connection.subscribe(BOOKING_EVENTS);
    await streamsOpen(1);
    await ok(token, `mutation($id: ID!) { cancelBooking(id: $id) { id } }`, { id: seed.id.booking });
    expect((await valid.nth(1)).data!.bookingEvents.type).toBe("CANCELLED");
    expect(connection.closes).toEqual([]);
  });
});
