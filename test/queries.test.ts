// Every query, its filters and its sorts, end to end over HTTP on a real database. All data is
// created through the GraphQL mutations, in a fresh tenant per test; a second tenant holding
// look-alike data checks that no list ever shows another tenant's rows.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { expectError, startTestServer, type TestServer, type TestTenant } from "./harness.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());

/** The node ids of a connection, in order. */
const ids = (connection: { edges: { node: { id: string } }[] }) => connection.edges.map((edge) => edge.node.id);

async function createContact(tenant: TestTenant, input: Record<string, unknown>): Promise<string> {
  const data = await server.ok(tenant, `mutation($input: ContactInput!) { createContact(input: $input) { id } }`, { input });
  return data.createContact.id;
}

async function createAgent(tenant: TestTenant, input: Record<string, unknown>): Promise<string> {
  const data = await server.ok(tenant, `mutation($input: CreateAgentInput!) { createAgent(input: $input) { id } }`, { input });
  return data.createAgent.id;
}

async function createChannel(tenant: TestTenant, input: Record<string, unknown>): Promise<string> {
  const data = await server.ok(tenant, `mutation($input: CreateChannelInput!) { createChannel(input: $input) { id } }`, { input });
  return data.createChannel.id;
}

async function createConversation(tenant: TestTenant, input: Record<string, unknown>): Promise<string> {
  const data = await server.ok(tenant, `mutation($input: CreateConversationInput!) { createConversation(input: $input) { id } }`, {
    input,
  });
  return data.createConversation.id;
}

async function createTag(tenant: TestTenant, name: string, color?: string): Promise<string> {
  const data = await server.ok(tenant, `mutation($name: String!, $color: String) { createTag(name: $name, color: $color) { id } }`, {
    name,
    color,
  });
  return data.createTag.id;
}

async function createLead(tenant: TestTenant, input: Record<string, unknown>): Promise<string> {
  const data = await server.ok(tenant, `mutation($input: CreateLeadInput!) { createLead(input: $input) { id } }`, { input });
  return data.createLead.id;
}

async function createBooking(tenant: TestTenant, input: Record<string, unknown>): Promise<string> {
  const data = await server.ok(tenant, `mutation($input: CreateBookingInput!) { createBooking(input: $input) { id } }`, { input });
  return data.createBooking.id;
}

async function addMessage(tenant: TestTenant, conversationId: string, role: string, content: string): Promise<string> {
  const data = await server.ok(tenant, `mutation($input: AddMessageInput!) { addMessage(input: $input) { id } }`, {
    input: { conversationId, role, content },
  });
  return data.addMessage.id;
}

async function bulk(tenant: TestTenant, input: Record<string, unknown>) {
  const data = await server.ok(
    tenant,
    `mutation($input: BulkUpdateConversationsInput!) { bulkUpdateConversations(input: $input) { updated skipped } }`,
    { input },
  );
  return data.bulkUpdateConversations as { updated: number; skipped: number };
}

describe("contacts", () => {
  const SEARCH = `query($search: String) { contacts(search: $search) { totalCount edges { node { id } } } }`;

  test("search matches every word against first name, last name, email and phone", async () => {
    const tenant = await server.createTenant("Contacts");
    const other = await server.createTenant("Other");
    const anna = await createContact(tenant, { firstName: "Anna", lastName: "Nowak", email: "anna.nowak@example.com", phone: "+48 111 222 333" });
    const jan = await createContact(tenant, { firstName: "Jan", lastName: "Kowalski", email: "jan@kowal.pl", phone: "+48 600 700 800" });
    const annabel = await createContact(tenant, { firstName: "Annabel", lastName: "Smith", email: "bel@smith.example" });
    const piotr = await createContact(tenant, { firstName: "Piotr", lastName: "Annanowicz" });
    // Another tenant's Anna Nowak must never show up.
    await createContact(other, { firstName: "Anna", lastName: "Nowak", email: "anna.nowak@example.com", phone: "+48 111 222 333" });

    const search = async (text: string | null) => {
      const { contacts } = await server.ok(tenant, SEARCH, { search: text });
      expect(contacts.totalCount).toBe(contacts.edges.length);
      return new Set(ids(contacts));
    };

    expect(await search(null)).toEqual(new Set([anna, jan, annabel, piotr]));
    expect(await search("")).toEqual(new Set([anna, jan, annabel, piotr]));
    // First name (case-insensitive, substring).
    expect(await search("anna")).toEqual(new Set([anna, annabel, piotr]));
    expect(await search("Jan")).toEqual(new Set([jan]));
    // Last name.
    expect(await search("nowak")).toEqual(new Set([anna]));
    expect(await search("KOWALSKI")).toEqual(new Set([jan]));
    // Full name: every word must match, in any order.
    expect(await search("Anna Nowak")).toEqual(new Set([anna]));
    expect(await search("  nowak   anna ")).toEqual(new Set([anna]));
    expect(await search("Anna Kowalski")).toEqual(new Set());
    // Email.
    expect(await search("jan@kowal.pl")).toEqual(new Set([jan]));
    expect(await search("SMITH.EXAMPLE")).toEqual(new Set([annabel]));
    // Phone, also as several words.
    expect(await search("+48 111 222 333")).toEqual(new Set([anna]));
    expect(await search("700")).toEqual(new Set([jan]));
    expect(await search("+48")).toEqual(new Set([anna, jan]));
    // Nothing.
    expect(await search("zzz")).toEqual(new Set());
  });

  test("search treats %, _ and \\ as plain characters, not LIKE wildcards", async () => {
    const tenant = await server.createTenant("Wildcards");
    const percent = await createContact(tenant, { firstName: "Ania", lastName: "100%" });
    const underscore = await createContact(tenant, { firstName: "Jan", email: "jan_kowalski@example.com" });
    const backslash = await createContact(tenant, { firstName: "Back\\slash" });
    await createContact(tenant, { firstName: "Plain", lastName: "Contact", email: "plain@example.com" });
    const search = async (text: string) => {
      const { contacts } = await server.ok(tenant, SEARCH, { search: text });
      expect(contacts.totalCount, text).toBe(contacts.edges.length);
      return new Set(ids(contacts));
    };
    expect(await search("%")).toEqual(new Set([percent]));
    expect(await search("100%")).toEqual(new Set([percent]));
    expect(await search("_")).toEqual(new Set([underscore]));
    expect(await search("jan_")).toEqual(new Set([underscore]));
    expect(await search("\\")).toEqual(new Set([backslash]));
    expect(await search("p%n")).toEqual(new Set());
  });

  test("newest first, paginated with first/after, totalCount over all pages", async () => {
    const tenant = await server.createTenant("Pages");
    const other = await server.createTenant("Other");
    await createContact(other, { firstName: "Elsewhere" });
    const created: string[] = [];
    for (let i = 0; i < 5; i += 1) created.push(await createContact(tenant, { firstName: `Page${i}`, email: `page${i}@example.com` }));
    const newestFirst = [...created].reverse();

    const PAGE = `query($first: Int, $after: String, $search: String) {
      contacts(first: $first, after: $after, search: $search) {
        totalCount
        pageInfo { hasNextPage endCursor }
        edges { cursor node { id firstName } }
      }
    }`;
    const seen: string[] = [];
    let after: string | null = null;
    const pageSizes: number[] = [];
    for (let page = 0; page < 5; page += 1) {
      const { contacts } = await server.ok(tenant, PAGE, { first: 2, after });
      expect(contacts.totalCount).toBe(5);
      pageSizes.push(contacts.edges.length);
      seen.push(...ids(contacts));
      if (contacts.edges.length > 0) expect(contacts.pageInfo.endCursor).toBe(contacts.edges.at(-1).cursor);
      if (!contacts.pageInfo.hasNextPage) break;
      after = contacts.pageInfo.endCursor;
    }
    expect(pageSizes).toEqual([2, 2, 1]);
    expect(seen).toEqual(newestFirst);

    // totalCount honours the search and pagination works within it too.
    const filtered = await server.ok(tenant, PAGE, { first: 1, search: "page3@" });
    expect(filtered.contacts.totalCount).toBe(1);
    expect(ids(filtered.contacts)).toEqual([created[3]]);
    expect(filtered.contacts.pageInfo.hasNextPage).toBe(false);

    const all = await server.ok(tenant, `{ contacts { totalCount edges { node { id } } } }`);
    expect(ids(all.contacts)).toEqual(newestFirst);
  });
});

describe("leads", () => {
  test("status filter, NEWEST (the default) and SCORE with unscored leads last", async () => {
    const tenant = await server.createTenant("Leads");
    const other = await server.createTenant("Other");
    await createLead(other, { score: 100, status: "QUALIFIED" });

    const l10 = await createLead(tenant, { score: 10, status: "NEW" });
    const lNull1 = await createLead(tenant, { status: "QUALIFIED" });
    const l90 = await createLead(tenant, { score: 90, status: "QUALIFIED" });
    const l50 = await createLead(tenant, { score: 50, status: "WON" });
    const lNull2 = await createLead(tenant, { status: "NEW" });
    const l0 = await createLead(tenant, { score: 0, status: "QUALIFIED" });
    const creation = [l10, lNull1, l90, l50, lNull2, l0];

    const LEADS = `query($status: LeadStatus, $sort: LeadSort) {
      leads(status: $status, sort: $sort) { totalCount edges { node { id score status } } }
    }`;

    const byDefault = await server.ok(tenant, LEADS);
    expect(ids(byDefault.leads)).toEqual([...creation].reverse());
    expect(byDefault.leads.totalCount).toBe(6);
    const newest = await server.ok(tenant, LEADS, { sort: "NEWEST" });
    expect(ids(newest.leads)).toEqual([...creation].reverse());

    const byScore = await server.ok(tenant, LEADS, { sort: "SCORE" });
    expect(byScore.leads.edges.map((edge: any) => edge.node.score)).toEqual([90, 50, 10, 0, null, null]);
    expect(ids(byScore.leads).slice(0, 4)).toEqual([l90, l50, l10, l0]);
    expect(new Set(ids(byScore.leads).slice(4))).toEqual(new Set([lNull1, lNull2]));
    expect(byScore.leads.totalCount).toBe(6);

    const qualified = await server.ok(tenant, LEADS, { status: "QUALIFIED" });
    expect(ids(qualified.leads)).toEqual([l0, l90, lNull1]);
    expect(qualified.leads.totalCount).toBe(3);
    expect(qualified.leads.edges.every((edge: any) => edge.node.status === "QUALIFIED")).toBe(true);

    const qualifiedByScore = await server.ok(tenant, LEADS, { status: "QUALIFIED", sort: "SCORE" });
    expect(ids(qualifiedByScore.leads)).toEqual([l90, l0, lNull1]);

    const lost = await server.ok(tenant, LEADS, { status: "LOST" });
    expect(lost.leads).toEqual({ totalCount: 0, edges: [] });

    const firstTwoByScore = await server.ok(tenant, `{ leads(sort: SCORE, first: 2) { totalCount pageInfo { hasNextPage } edges { node { id } } } }`);
    expect(ids(firstTwoByScore.leads)).toEqual([l90, l50]);
    expect(firstTwoByScore.leads.totalCount).toBe(6);
    expect(firstTwoByScore.leads.pageInfo.hasNextPage).toBe(true);
  });
});

describe("conversations", () => {
  test("filters by agent, channel, channel type, status, contact and any of several tags; totalCount honours them", async () => {
    const tenant = await server.createTenant("Inbox");
    const other = await server.createTenant("Other");
    const otherAgent = await createAgent(other, { name: "Other bot" });
    await createConversation(other, { channelType: "WHATSAPP", customerIdentifier: "+48111", agentId: otherAgent });

    const a1 = await createAgent(tenant, { name: "Sales" });
    const a2 = await createAgent(tenant, { name: "Support" });
    const chWa = await createChannel(tenant, { type: "WHATSAPP", name: "WA main", agentId: a1 });
    const chSms = await createChannel(tenant, { type: "SMS", name: "SMS", agentId: a2 });
    const k1 = await createContact(tenant, { firstName: "Kasia" });
    const k2 = await createContact(tenant, { firstName: "Kuba" });
    const t1 = await createTag(tenant, "vip");
    const t2 = await createTag(tenant, "urgent");
    const t3 = await createTag(tenant, "spam");
    const t4 = await createTag(tenant, "unused");

    const c1 = await createConversation(tenant, { channelType: "WHATSAPP", channelId: chWa, agentId: a1, contactId: k1, customerIdentifier: "+48111" });
    const c2 = await createConversation(tenant, { channelType: "WHATSAPP", channelId: chWa, agentId: a1, contactId: k2, customerIdentifier: "+48222" });
    const c3 = await createConversation(tenant, { channelType: "SMS", channelId: chSms, agentId: a2, contactId: k1, customerIdentifier: "+48111" });
    const c4 = await createConversation(tenant, { channelType: "EMAIL", customerIdentifier: "someone@example.com" });
    const c5 = await createConversation(tenant, { channelType: "WEBSITE", customerIdentifier: "visitor-5" });

    await server.ok(tenant, `mutation($id: ID!) { updateConversation(id: $id, input: { status: CLOSED }) { id } }`, { id: c2 });
    await server.ok(tenant, `mutation($id: ID!) { updateConversation(id: $id, input: { status: HANDED_OFF }) { id } }`, { id: c3 });
    await bulk(tenant, { action: "TAG", ids: [c1, c3], tagIds: [t1] });
    await bulk(tenant, { action: "TAG", ids: [c2, c3], tagIds: [t2] });
    await bulk(tenant, { action: "TAG", ids: [c4], tagIds: [t3] });

    const FILTERED = `query($agentId: ID, $channelId: ID, $channelType: ChannelType, $status: ConversationStatus, $contactId: ID, $tagIds: [ID!], $first: Int) {
      conversations(agentId: $agentId, channelId: $channelId, channelType: $channelType, status: $status, contactId: $contactId, tagIds: $tagIds, first: $first) {
        totalCount
        edges { node { id } }
      }
    }`;
    const list = async (filter: Record<string, unknown>) => {
      const { conversations } = await server.ok(tenant, FILTERED, filter);
      expect(conversations.totalCount, JSON.stringify(filter)).toBe(conversations.edges.length);
      return ids(conversations);
    };

    // Newest first, this tenant only.
    expect(await list({})).toEqual([c5, c4, c3, c2, c1]);
    expect(await list({ agentId: a1 })).toEqual([c2, c1]);
    expect(await list({ agentId: a2 })).toEqual([c3]);
    expect(await list({ channelId: chWa })).toEqual([c2, c1]);
    expect(await list({ channelId: chSms })).toEqual([c3]);
    expect(await list({ channelType: "WHATSAPP" })).toEqual([c2, c1]);
    expect(await list({ channelType: "EMAIL" })).toEqual([c4]);
    expect(await list({ channelType: "VOICE" })).toEqual([]);
    expect(await list({ status: "OPEN" })).toEqual([c5, c4, c1]);
    expect(await list({ status: "CLOSED" })).toEqual([c2]);
    expect(await list({ status: "HANDED_OFF" })).toEqual([c3]);
    expect(await list({ contactId: k1 })).toEqual([c3, c1]);
    expect(await list({ contactId: k2 })).toEqual([c2]);
    // Tags: any of them; a conversation carrying two of them is listed (and counted) once.
    expect(await list({ tagIds: [t1] })).toEqual([c3, c1]);
    expect(await list({ tagIds: [t2, t3] })).toEqual([c4, c3, c2]);
    expect(await list({ tagIds: [t1, t2] })).toEqual([c3, c2, c1]);
    expect(await list({ tagIds: [t4] })).toEqual([]);
    expect(await list({ tagIds: [] })).toEqual([c5, c4, c3, c2, c1]);
    // Filters combine with AND.
    expect(await list({ agentId: a1, status: "CLOSED" })).toEqual([c2]);
    expect(await list({ contactId: k1, channelType: "SMS" })).toEqual([c3]);
    expect(await list({ tagIds: [t1, t2], status: "OPEN" })).toEqual([c1]);
    expect(await list({ agentId: a2, channelType: "WHATSAPP" })).toEqual([]);

    // totalCount counts the filtered set, not the page.
    const page = await server.ok(tenant, FILTERED, { tagIds: [t1, t2], first: 1 });
    expect(page.conversations.totalCount).toBe(3);
    expect(ids(page.conversations)).toEqual([c3]);
    const allFirst = await server.ok(tenant, FILTERED, { first: 2 });
    expect(allFirst.conversations.totalCount).toBe(5);
  });

  test("nested contact, agent, channel, tags, lastMessages(count) and messages oldest first with totalCount", async () => {
    const tenant = await server.createTenant("Nested");
    const agent = await createAgent(tenant, { name: "Concierge" });
    const channel = await createChannel(tenant, { type: "TELEGRAM", name: "TG", agentId: agent });
    const contact = await createContact(tenant, { firstName: "Ola", email: "ola@example.com" });
    const vip = await createTag(tenant, "vip", "#ff0000");
    const follow = await createTag(tenant, "follow-up");
    const conversation = await createConversation(tenant, {
      channelType: "TELEGRAM",
      channelId: channel,
      agentId: agent,
      contactId: contact,
      customerIdentifier: "@ola",
      customerName: "Ola",
      customerLanguage: "pl",
      inputValues: { campaign: "spring" },
    });
    const bare = await createConversation(tenant, { channelType: "WEBSITE", customerIdentifier: "anon" });
    await bulk(tenant, { action: "TAG", ids: [conversation], tagIds: [vip] });
    await bulk(tenant, { action: "TAG", ids: [conversation], tagIds: [follow] });
    const lead = await createLead(tenant, { conversationId: conversation, score: 40 });

    const messages = [
      { role: "USER", content: "Hello" },
      { role: "ASSISTANT", content: "Hi! How can I help?" },
      { role: "USER", content: "A table for two" },
      { role: "OPERATOR", content: "Booked." },
      { role: "SYSTEM", content: "Conversation summarised" },
    ];
    const messageIds: string[] = [];
    for (const message of messages) messageIds.push(await addMessage(tenant, conversation, message.role, message.content));

    const data = await server.ok(
      tenant,
      `query($id: ID!) {
        node(id: $id) {
          ... on Conversation {
            id channelType customerIdentifier customerName customerLanguage status inputValues extractedValues number
            contact { id firstName email }
            agent { id name }
            channel { id type name agent { id } }
            tags { id name color }
            leads { id score }
            lastMessages(count: 2) { id role content conversation { id } }
            defaultLast: lastMessages { id }
            allLast: lastMessages(count: 50) { id }
            messages(first: 3) { totalCount pageInfo { hasNextPage endCursor } edges { node { id role content } } }
          }
        }
      }`,
      { id: conversation },
    );
    const node = data.node;
    expect(node).toMatchObject({
      id: conversation,
      channelType: "TELEGRAM",
      customerIdentifier: "@ola",
      customerName: "Ola",
      customerLanguage: "pl",
      status: "OPEN",
      inputValues: { campaign: "spring" },
      extractedValues: {},
      contact: { id: contact, firstName: "Ola", email: "ola@example.com" },
      agent: { id: agent, name: "Concierge" },
      channel: { id: channel, type: "TELEGRAM", name: "TG", agent: { id: agent } },
      leads: [{ id: lead, score: 40 }],
    });
    // Both tags, in no documented order.
    expect([...node.tags].sort((a: any, b: any) => a.name.localeCompare(b.name))).toEqual([
      { id: follow, name: "follow-up", color: null },
      { id: vip, name: "vip", color: "#ff0000" },
    ]);
    expect(node.number).toEqual(expect.any(Number));
    // The last `count` messages, oldest first.
    expect(node.lastMessages).toEqual([
      { id: messageIds[3], role: "OPERATOR", content: "Booked.", conversation: { id: conversation } },
      { id: messageIds[4], role: "SYSTEM", content: "Conversation summarised", conversation: { id: conversation } },
    ]);
    expect(node.defaultLast.map((m: any) => m.id)).toEqual(messageIds.slice(2));
    expect(node.allLast.map((m: any) => m.id)).toEqual(messageIds);
    // The transcript, oldest first, with totalCount over all of it.
    expect(node.messages.totalCount).toBe(5);
    expect(node.messages.pageInfo.hasNextPage).toBe(true);
    expect(node.messages.edges.map((edge: any) => edge.node)).toEqual(
      messages.slice(0, 3).map((message, i) => ({ id: messageIds[i], ...message })),
    );
    const rest = await server.ok(
      tenant,
      `query($id: ID!, $after: String) { node(id: $id) { ... on Conversation { messages(first: 10, after: $after) { totalCount pageInfo { hasNextPage } edges { node { id } } } } } }`,
      { id: conversation, after: node.messages.pageInfo.endCursor },
    );
    expect(ids(rest.node.messages)).toEqual(messageIds.slice(3));
    expect(rest.node.messages.totalCount).toBe(5);
    expect(rest.node.messages.pageInfo.hasNextPage).toBe(false);

    // The same through the list, next to a conversation with nothing attached.
    const listed = await server.ok(
      tenant,
      `{ conversations { edges { node { id contact { id } agent { id } channel { id } tags { id } lastMessages(count: 1) { content } messages { totalCount } } } } }`,
    );
    const byTagId = (tags: { id: string }[]) => [...tags].sort((a, b) => a.id.localeCompare(b.id));
    expect(
      listed.conversations.edges.map((edge: any) => ({ ...edge.node, tags: byTagId(edge.node.tags) })),
    ).toEqual([
      { id: bare, contact: null, agent: null, channel: null, tags: [], lastMessages: [], messages: { totalCount: 0 } },
      {
        id: conversation,
        contact: { id: contact },
        agent: { id: agent },
        channel: { id: channel },
        tags: byTagId([{ id: vip }, { id: follow }]),
        lastMessages: [{ content: "Conversation summarised" }],
        messages: { totalCount: 5 },
      },
    ]);
  });
});

describe("bookings", () => {
  test("status, contactId, from inclusive and to exclusive on startsAt, ordered by start time", async () => {
    const tenant = await server.createTenant("Bookings");
    const other = await server.createTenant("Other");
    const otherContact = await createContact(other, { firstName: "Elsewhere" });
    await createBooking(other, { contactId: otherContact, service: "x", startsAt: "2030-01-01T10:00:00Z", endsAt: "2030-01-01T10:30:00Z" });

    const k1 = await createContact(tenant, { firstName: "Kasia" });
    const k2 = await createContact(tenant, { firstName: "Kuba" });
    // Created out of order: the list must sort by startsAt.
    const b3 = await createBooking(tenant, { contactId: k2, service: "massage", startsAt: "2030-01-01T11:00:00Z", endsAt: "2030-01-01T12:00:00Z", status: "CONFIRMED" });
    const b1 = await createBooking(tenant, { contactId: k1, service: "haircut", startsAt: "2030-01-01T09:00:00Z", endsAt: "2030-01-01T09:30:00Z", status: "CONFIRMED" });
    const b4 = await createBooking(tenant, { contactId: k2, service: "spa", startsAt: "2030-01-02T09:00:00Z", endsAt: "2030-01-02T10:00:00Z" });
    const b2 = await createBooking(tenant, { contactId: k1, service: "colour", startsAt: "2030-01-01T10:00:00Z", endsAt: "2030-01-01T11:00:00Z" });
    await server.ok(tenant, `mutation($id: ID!) { cancelBooking(id: $id) { id } }`, { id: b4 });

    const BOOKINGS = `query($status: BookingStatus, $contactId: ID, $from: DateTime, $to: DateTime) {
      bookings(status: $status, contactId: $contactId, from: $from, to: $to) {
        totalCount
        edges { node { id status startsAt contact { id } } }
      }
    }`;
    const list = async (filter: Record<string, unknown>) => {
      const { bookings } = await server.ok(tenant, BOOKINGS, filter);
      expect(bookings.totalCount, JSON.stringify(filter)).toBe(bookings.edges.length);
      return ids(bookings);
    };

    expect(await list({})).toEqual([b1, b2, b3, b4]);
    expect(await list({ status: "CONFIRMED" })).toEqual([b1, b3]);
    expect(await list({ status: "PENDING" })).toEqual([b2]);
    expect(await list({ status: "CANCELLED" })).toEqual([b4]);
    expect(await list({ status: "COMPLETED" })).toEqual([]);
    expect(await list({ contactId: k1 })).toEqual([b1, b2]);
    expect(await list({ contactId: k2 })).toEqual([b3, b4]);
    // from is inclusive: a booking starting exactly at `from` is in.
    expect(await list({ from: "2030-01-01T10:00:00Z" })).toEqual([b2, b3, b4]);
    expect(await list({ from: "2030-01-01T10:00:00.001Z" })).toEqual([b3, b4]);
    // to is exclusive: a booking starting exactly at `to` is out.
    expect(await list({ to: "2030-01-01T11:00:00Z" })).toEqual([b1, b2]);
    expect(await list({ to: "2030-01-01T11:00:00.001Z" })).toEqual([b1, b2, b3]);
    expect(await list({ from: "2030-01-01T10:00:00Z", to: "2030-01-01T11:00:00Z" })).toEqual([b2]);
    // Filtering is on startsAt: b1 runs until 09:30 but starts before `from`.
    expect(await list({ from: "2030-01-01T09:15:00Z", to: "2030-01-01T10:00:00Z" })).toEqual([]);
    // Time zones are honoured: 11:00+01:00 is 10:00Z.
    expect(await list({ from: "2030-01-01T11:00:00+01:00" })).toEqual([b2, b3, b4]);
    // Everything combines.
    expect(await list({ contactId: k2, status: "CONFIRMED", from: "2030-01-01T00:00:00Z", to: "2030-01-03T00:00:00Z" })).toEqual([b3]);

    const full = await server.ok(tenant, `{ bookings(first: 1) { totalCount edges { node { id service startsAt endsAt status contact { id firstName } } } } }`);
    expect(full.bookings.totalCount).toBe(4);
    expect(full.bookings.edges[0].node).toEqual({
      id: b1,
      service: "haircut",
      startsAt: "2030-01-01T09:00:00.000Z",
      endsAt: "2030-01-01T09:30:00.000Z",
      status: "CONFIRMED",
      contact: { id: k1, firstName: "Kasia" },
    });

    // The contact's own bookings connection agrees.
    const viaContact = await server.ok(tenant, `query($id: ID!) { node(id: $id) { ... on Contact { bookings { totalCount edges { node { id } } } } } }`, { id: k2 });
    expect(ids(viaContact.node.bookings)).toEqual([b3, b4]);
    expect(viaContact.node.bookings.totalCount).toBe(2);
  });
});

async function createOffering(tenant: TestTenant, input: Record<string, unknown>): Promise<string> {
  const data = await server.ok(tenant, `mutation($input: CreateOfferingInput!) { createOffering(input: $input) { id } }`, { input });
  return data.createOffering.id;
}

describe("offerings", () => {
  test("newest first, paginated, totalCount; deleted offerings are left out; prices are exact decimal strings", async () => {
    const tenant = await server.createTenant("Offerings");
    const other = await server.createTenant("Other");
    await createOffering(other, { title: "Elsewhere", price: "1" });
    const studio = await createOffering(tenant, { title: "Studio", price: "650000", photos: ["https://cdn.example.com/s.jpg"] });
    const villa = await createOffering(tenant, { title: "Villa", price: "12500000.5", priceCurrency: "USD", availableFrom: "2027-01-15" });
    const gone = await createOffering(tenant, { title: "Sold", price: "1" });
    const loft = await createOffering(tenant, { title: "Loft", price: 990000, status: "coming soon", attributes: { floor: 12 } });
    await server.ok(tenant, `mutation($id: ID!) { deleteOffering(id: $id) }`, { id: gone });

    const PAGE = `query($first: Int, $after: String) {
      offerings(first: $first, after: $after) {
        totalCount
        pageInfo { hasNextPage endCursor }
        edges { node { id title price priceCurrency status photos availableFrom attributes } }
      }
    }`;
    const first = await server.ok(tenant, PAGE, { first: 2 });
    expect(first.offerings.totalCount).toBe(3);
    expect(first.offerings.pageInfo.hasNextPage).toBe(true);
    expect(first.offerings.edges.map((edge: any) => edge.node)).toEqual([
      { id: loft, title: "Loft", price: "990000.00", priceCurrency: "AED", status: "coming soon", photos: [], availableFrom: null, attributes: { floor: 12 } },
      { id: villa, title: "Villa", price: "12500000.50", priceCurrency: "USD", status: "active", photos: [], availableFrom: "2027-01-15", attributes: {} },
    ]);
    const second = await server.ok(tenant, PAGE, { first: 2, after: first.offerings.pageInfo.endCursor });
    expect(ids(second.offerings)).toEqual([studio]);
    expect(second.offerings.pageInfo.hasNextPage).toBe(false);
  });

  test("updateOffering merges attributesPatch one level deep (null removes a key) and clears nullable fields", async () => {
    const tenant = await server.createTenant("Offering updates");
    const id = await createOffering(tenant, { title: "Apartment", price: "100.10", address: "Marina", attributes: { bedrooms: 2, view: "sea", parking: true } });
    const updated = await server.ok(
      tenant,
      `mutation($id: ID!) { updateOffering(id: $id, input: { address: null, price: "99.9", attributesPatch: { bedrooms: 3, view: null, floor: 9 } }) { address price attributes } }`,
      { id },
    );
    expect(updated.updateOffering).toEqual({ address: null, price: "99.90", attributes: { bedrooms: 3, parking: true, floor: 9 } });
    for (const input of [{ title: null }, { price: null }, { photos: null }, { price: "-1" }, { price: "1.234" }, { priceCurrency: "usd" }, {}]) {
      const refused = await server.gql(`mutation($id: ID!, $input: UpdateOfferingInput!) { updateOffering(id: $id, input: $input) { id } }`, { id, input }, tenant.token);
      expectError(refused, "BAD_USER_INPUT");
    }
  });
});

describe("agents and channels", () => {
  test("agents filter by status, newest first, with their channels", async () => {
    const tenant = await server.createTenant("Agents");
    const other = await server.createTenant("Other");
    await createAgent(other, { name: "Other", status: "PUBLISHED" });

    const draft = await createAgent(tenant, { name: "Draft bot" });
    const published = await createAgent(tenant, { name: "Live bot", status: "PUBLISHED", systemPrompt: "Be nice", modelProvider: "openai", modelName: "gpt-x" });
    const archived = await createAgent(tenant, { name: "Old bot", status: "ARCHIVED" });
    const published2 = await createAgent(tenant, { name: "Live bot 2", status: "PUBLISHED" });
    const channel = await createChannel(tenant, { type: "WEBSITE", name: "Site", agentId: published });

    const AGENTS = `query($status: AgentStatus) { agents(status: $status) { totalCount edges { node { id status } } } }`;
    const all = await server.ok(tenant, AGENTS);
    expect(ids(all.agents)).toEqual([published2, archived, published, draft]);
    expect(all.agents.totalCount).toBe(4);
    const live = await server.ok(tenant, AGENTS, { status: "PUBLISHED" });
    expect(ids(live.agents)).toEqual([published2, published]);
    expect(live.agents.totalCount).toBe(2);
    expect((await server.ok(tenant, AGENTS, { status: "DRAFT" })).agents).toEqual({ totalCount: 1, edges: [{ node: { id: draft, status: "DRAFT" } }] });
    expect((await server.ok(tenant, AGENTS, { status: "ARCHIVED" })).agents).toEqual({ totalCount: 1, edges: [{ node: { id: archived, status: "ARCHIVED" } }] });

    const detail = await server.ok(tenant, `query($id: ID!) { node(id: $id) { ... on Agent { name systemPrompt modelProvider modelName channels { id type } } } }`, { id: published });
    expect(detail.node).toEqual({ name: "Live bot", systemPrompt: "Be nice", modelProvider: "openai", modelName: "gpt-x", channels: [{ id: channel, type: "WEBSITE" }] });
  });

  test("channels filter by type and agentId", async () => {
    const tenant = await server.createTenant("Channels");
    const other = await server.createTenant("Other");
    await createChannel(other, { type: "WHATSAPP", name: "Other WA" });

    const a1 = await createAgent(tenant, { name: "A1" });
    const a2 = await createAgent(tenant, { name: "A2" });
    const wa1 = await createChannel(tenant, { type: "WHATSAPP", name: "WA 1", agentId: a1 });
    const sms1 = await createChannel(tenant, { type: "SMS", name: "SMS 1", agentId: a1 });
    const wa2 = await createChannel(tenant, { type: "WHATSAPP", name: "WA 2", agentId: a2 });
    const web = await createChannel(tenant, { type: "WEBSITE", name: "Web" });

    const CHANNELS = `query($type: ChannelType, $agentId: ID) { channels(type: $type, agentId: $agentId) { totalCount edges { node { id type agent { id } } } } }`;
    const list = async (filter: Record<string, unknown>) => {
      const { channels } = await server.ok(tenant, CHANNELS, filter);
      expect(channels.totalCount).toBe(channels.edges.length);
      return ids(channels);
    };
    expect(await list({})).toEqual([web, wa2, sms1, wa1]);
    expect(await list({ type: "WHATSAPP" })).toEqual([wa2, wa1]);
    expect(await list({ type: "WEBSITE" })).toEqual([web]);
    expect(await list({ type: "VOICE" })).toEqual([]);
    expect(await list({ agentId: a1 })).toEqual([sms1, wa1]);
    expect(await list({ agentId: a2 })).toEqual([wa2]);
    expect(await list({ type: "WHATSAPP", agentId: a1 })).toEqual([wa1]);
    expect(await list({ type: "SMS", agentId: a2 })).toEqual([]);
  });
});

describe("tags, apiTokens and viewer", () => {
  test("tags are listed by name with a totalCount", async () => {
    const tenant = await server.createTenant("Tags");
    const other = await server.createTenant("Other");
    await createTag(other, "aaa-other");
    const zebra = await createTag(tenant, "zebra");
    const apple = await createTag(tenant, "apple", "#00ff00");
    const mango = await createTag(tenant, "mango");
    const data = await server.ok(tenant, `{ tags { totalCount edges { node { id name color } } } }`);
    expect(data.tags).toEqual({
      totalCount: 3,
      edges: [
        { node: { id: apple, name: "apple", color: "#00ff00" } },
        { node: { id: mango, name: "mango", color: null } },
        { node: { id: zebra, name: "zebra", color: null } },
      ],
    });
    const page = await server.ok(tenant, `{ tags(first: 1) { totalCount pageInfo { hasNextPage } edges { node { name } } } }`);
    expect(page.tags).toEqual({ totalCount: 3, pageInfo: { hasNextPage: true }, edges: [{ node: { name: "apple" } }] });
  });

  test("apiTokens lists the tenant's tokens, newest first, for admins only", async () => {
    const tenant = await server.createTenant("Tokens");
    const other = await server.createTenant("Other");
    const reader = await tenant.tokenWith(["contacts:read"]);
    const created = await server.ok(
      tenant,
      `mutation { createApiToken(input: { name: "integration", format: VOREL, scopes: [LEADS_READ, LEADS_WRITE] }) { token { id } } }`,
    );
    const newest = created.createApiToken.token.id;

    const data = await server.ok(tenant, `{ apiTokens { totalCount edges { node { id name format scopes revokedAt displayPrefix } } } }`);
    // The admin token and the reader from the harness, then the new one.
    expect(data.apiTokens.totalCount).toBe(3);
    expect(data.apiTokens.edges).toHaveLength(3);
    expect(data.apiTokens.edges[0].node).toMatchObject({ id: newest, name: "integration", format: "VOREL", scopes: ["LEADS_READ", "LEADS_WRITE"], revokedAt: null });
    const theirs = await server.ok(other, `{ apiTokens { totalCount edges { node { id } } } }`);
    expect(theirs.apiTokens.totalCount).toBe(1);
    expect(ids(theirs.apiTokens)).not.toContain(newest);

    const denied = await server.gql(`{ apiTokens { totalCount } }`, {}, reader);
    expectError(denied, "FORBIDDEN", { scope: "admin" });
    expect(denied.data?.apiTokens ?? null).toBeNull();
  });

  test("viewer names the tenant, the token and exactly its scopes", async () => {
    const tenant = await server.createTenant("Viewer Co");
    const admin = await server.ok(tenant, `{ viewer { scopes tenant { id name slug plan createdAt } token { id name format scopes revokedAt } } }`);
    expect(admin.viewer.tenant).toMatchObject({ id: `ten_${tenant.id}`, name: "Viewer Co", slug: tenant.slug, plan: "STARTER" });
    expect(admin.viewer.scopes).toEqual([
      "CONTACTS_READ", "CONTACTS_WRITE", "LEADS_READ", "LEADS_WRITE", "CONVERSATIONS_READ", "CONVERSATIONS_WRITE",
      "TICKETS_READ", "TICKETS_WRITE", "BOOKINGS_READ", "BOOKINGS_WRITE", "OFFERINGS_READ", "OFFERINGS_WRITE", "AGENTS_READ", "AGENTS_WRITE", "CHANNELS_READ", "CHANNELS_WRITE",
      "WEBHOOKS_READ", "WEBHOOKS_WRITE", "ANALYTICS_READ", "ADMIN",
    ]);
    expect(admin.viewer.token).toMatchObject({ name: "test", format: "CONVO", revokedAt: null });
    expect(admin.viewer.token.scopes).toEqual(admin.viewer.scopes);

    const limited = await tenant.tokenWith(["contacts:read", "bookings:write"], "VOREL");
    const viewer = await server.ok(limited, `{ viewer { scopes tenant { id } token { id format scopes } } }`);
    expect(viewer.viewer.scopes).toEqual(["CONTACTS_READ", "BOOKINGS_WRITE"]);
    expect(viewer.viewer.tenant.id).toBe(`ten_${tenant.id}`);
    expect(viewer.viewer.token.format).toBe("VOREL");
    expect(viewer.viewer.token.id).not.toBe(admin.viewer.token.id);

    // No scope at all is still enough for viewer.
    const none = await tenant.tokenWith([]);
    const bare = await server.ok(none, `{ viewer { scopes tenant { name } } }`);
    expect(bare.viewer).toEqual({ scopes: [], tenant: { name: "Viewer Co" } });
  });
});

describe("node(id:)", () => {
  test("resolves every node type by its global id, and only in its own tenant", async () => {
    const tenant = await server.createTenant("Nodes");
    const other = await server.createTenant("Other");
    const contact = await createContact(tenant, { firstName: "Node", lastName: "Contact" });
    const agent = await createAgent(tenant, { name: "Node agent" });
    const channel = await createChannel(tenant, { type: "VIBER", name: "Viber", agentId: agent });
    const conversation = await createConversation(tenant, { channelType: "VIBER", channelId: channel, customerIdentifier: "viber-1" });
    const message = await addMessage(tenant, conversation, "USER", "node message");
    const tag = await createTag(tenant, "node-tag");
    const lead = await createLead(tenant, { contactId: contact, score: 7 });
    const booking = await createBooking(tenant, { contactId: contact, service: "node-service", startsAt: "2031-05-01T08:00:00Z", endsAt: "2031-05-01T09:00:00Z" });
    const offering = await createOffering(tenant, { title: "node-offering", price: "10" });
    const me = await server.ok(tenant, `{ viewer { tenant { id } token { id } } }`);

    const NODE = `query($id: ID!) {
      node(id: $id) {
        __typename id
        ... on Contact { lastName }
        ... on Agent { name }
        ... on Channel { type }
        ... on Conversation { customerIdentifier }
        ... on Message { content }
        ... on Tag { name }
        ... on Lead { score }
        ... on Booking { service }
        ... on Offering { title }
        ... on ApiToken { name }
        ... on Tenant { name }
      }
    }`;
    const cases: [string, string, Record<string, unknown>][] = [
      [contact, "Contact", { lastName: "Contact" }],
      [agent, "Agent", { name: "Node agent" }],
      [channel, "Channel", { type: "VIBER" }],
      [conversation, "Conversation", { customerIdentifier: "viber-1" }],
      [message, "Message", { content: "node message" }],
      [tag, "Tag", { name: "node-tag" }],
      [lead, "Lead", { score: 7 }],
      [booking, "Booking", { service: "node-service" }],
      [offering, "Offering", { title: "node-offering" }],
      [me.viewer.token.id, "ApiToken", { name: "test" }],
      [me.viewer.tenant.id, "Tenant", { name: "Nodes" }],
    ];
    const prefixes: Record<string, string> = {
      Contact: "con", Agent: "agt", Channel: "chn", Conversation: "conv", Message: "msg",
      Tag: "tag", Lead: "lead", Booking: "bkg", Offering: "off", ApiToken: "tok", Tenant: "ten",
    };
    for (const [id, typename, fields] of cases) {
      expect(id).toMatch(new RegExp(`^${prefixes[typename]}_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`));
      const data = await server.ok(tenant, NODE, { id });
      expect(data.node, typename).toEqual({ __typename: typename, id, ...fields });

      // Another tenant never sees it: null, at most with NOT_FOUND.
      const elsewhere = await server.gql(NODE, { id }, other.token);
      expect(elsewhere.status, typename).toBe(200);
      expect(elsewhere.data?.node ?? null, typename).toBeNull();
      for (const error of elsewhere.errors ?? []) expect(error.extensions?.code, typename).toBe("NOT_FOUND");
    }
  });

  test("node needs the scope of the type it resolves to", async () => {
    const tenant = await server.createTenant("Node scopes");
    const contact = await createContact(tenant, { firstName: "Scoped" });
    const lead = await createLead(tenant, { contactId: contact });
    const reader = await tenant.tokenWith(["contacts:read"]);
    const allowed = await server.ok(reader, `query($id: ID!) { node(id: $id) { id } }`, { id: contact });
    expect(allowed.node).toEqual({ id: contact });
    const denied = await server.gql(`query($id: ID!) { node(id: $id) { id ... on Lead { score } } }`, { id: lead }, reader);
    expectError(denied, "FORBIDDEN", { scope: "leads:read" });
    expect(denied.data?.node ?? null).toBeNull();
  });
});
