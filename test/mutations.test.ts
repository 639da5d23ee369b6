// Every mutation, end to end over HTTP on a real database: what it returns, what a follow-up
// query then sees, and (where it matters) what the database holds.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { expectError, startTestServer, type TestServer, type TestTenant } from "./harness.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());

const rawId = (globalId: string) => globalId.slice(globalId.indexOf("_") + 1);
const ids = (connection: { edges: { node: { id: string } }[] }) => connection.edges.map((edge) => edge.node.id);

async function createContact(tenant: TestTenant, input: Record<string, unknown>): Promise<string> {
  return (await server.ok(tenant, `mutation($input: ContactInput!) { createContact(input: $input) { id } }`, { input })).createContact.id;
}
async function createConversation(tenant: TestTenant, input: Record<string, unknown>): Promise<string> {
  return (await server.ok(tenant, `mutation($input: CreateConversationInput!) { createConversation(input: $input) { id } }`, { input }))
    .createConversation.id;
}
async function createTag(tenant: TestTenant, name: string): Promise<string> {
  return (await server.ok(tenant, `mutation($name: String!) { createTag(name: $name) { id } }`, { name })).createTag.id;
}
async function createBooking(tenant: TestTenant, input: Record<string, unknown>): Promise<string> {
  return (await server.ok(tenant, `mutation($input: CreateBookingInput!) { createBooking(input: $input) { id } }`, { input })).createBooking.id;
}

const BULK = `mutation($input: BulkUpdateConversationsInput!) { bulkUpdateConversations(input: $input) { updated skipped } }`;
async function bulk(tenant: TestTenant, input: Record<string, unknown>) {
  return (await server.ok(tenant, BULK, { input })).bulkUpdateConversations as { updated: number; skipped: number };
}

const CONVERSATION_STATE = `query($id: ID!) { node(id: $id) { ... on Conversation { status assignedOperator tags { name } } } }`;
async function conversationState(tenant: TestTenant, id: string) {
  const node = (await server.ok(tenant, CONVERSATION_STATE, { id })).node;
  return { status: node.status, operator: node.assignedOperator, tags: node.tags.map((tag: { name: string }) => tag.name).sort() };
}

describe("contacts", () => {
  const CONTACT_FIELDS = `id firstName lastName email phone language customFields tags createdAt updatedAt`;

  test("createContact stores every field; updateContact leaves omitted fields and clears null ones", async () => {
    const tenant = await server.createTenant("Contacts");
    const created = await server.ok(
      tenant,
      `mutation($input: ContactInput!) { createContact(input: $input) { ${CONTACT_FIELDS} } }`,
      {
        input: {
          firstName: "Anna",
          lastName: "Nowak",
          email: "anna@example.com",
          phone: "+48 111 222 333",
          language: "pl",
          customFields: { plan: "gold", visits: 3 },
          tags: ["vip", "returning"],
        },
      },
    );
    const contact = created.createContact;
    expect(contact).toMatchObject({
      firstName: "Anna",
      lastName: "Nowak",
      email: "anna@example.com",
      phone: "+48 111 222 333",
      language: "pl",
      customFields: { plan: "gold", visits: 3 },
      tags: ["vip", "returning"],
    });
    expect(contact.id).toMatch(/^con_[0-9a-f-]{36}$/);

    // Only the email changes; everything omitted stays.
    const UPDATE = `mutation($id: ID!, $input: ContactInput!) { updateContact(id: $id, input: $input) { ${CONTACT_FIELDS} } }`;
    const emailOnly = (await server.ok(tenant, UPDATE, { id: contact.id, input: { email: "anna.nowak@example.com" } })).updateContact;
    expect(emailOnly).toEqual({ ...contact, email: "anna.nowak@example.com", updatedAt: emailOnly.updatedAt });
    expect(Date.parse(emailOnly.updatedAt)).toBeGreaterThanOrEqual(Date.parse(contact.updatedAt));

    // null clears: names and phone to null, customFields to {}, tags to [].
    const cleared = (
      await server.ok(tenant, UPDATE, { id: contact.id, input: { firstName: null, phone: null, language: null, customFields: null, tags: null } })
    ).updateContact;
    expect(cleared).toMatchObject({
      firstName: null,
      lastName: "Nowak",
      email: "anna.nowak@example.com",
      phone: null,
      language: null,
      customFields: {},
      tags: [],
    });

    // An empty input is refused: it would change nothing and only read the row back.
    expectError(await server.gql(UPDATE, { id: contact.id, input: {} }, tenant.token), "BAD_USER_INPUT", { field: "input" });

    // And a fresh read agrees with what the last mutation returned.
    const read = await server.ok(tenant, `query($id: ID!) { node(id: $id) { ... on Contact { ${CONTACT_FIELDS} } } }`, { id: contact.id });
    expect(read.node).toEqual(cleared);
  });

  test("deleteContact returns the id, removes the contact and its bookings, and unlinks its leads and conversations", async () => {
    const tenant = await server.createTenant("Delete");
    const contact = await createContact(tenant, { firstName: "Gone" });
    const keeper = await createContact(tenant, { firstName: "Stays" });
    await createBooking(tenant, { contactId: contact, service: "a", startsAt: "2030-01-01T10:00:00Z", endsAt: "2030-01-01T11:00:00Z" });
    await createBooking(tenant, { contactId: contact, service: "b", startsAt: "2030-01-02T10:00:00Z", endsAt: "2030-01-02T11:00:00Z" });
    const kept = await createBooking(tenant, { contactId: keeper, service: "c", startsAt: "2030-01-03T10:00:00Z", endsAt: "2030-01-03T11:00:00Z" });
    const conversation = await createConversation(tenant, { channelType: "SMS", customerIdentifier: "+48123", contactId: contact });
    const lead = (await server.ok(tenant, `mutation($c: ID) { createLead(input: { contactId: $c }) { id } }`, { c: contact })).createLead.id;

    const deleted = await server.ok(tenant, `mutation($id: ID!) { deleteContact(id: $id) }`, { id: contact });
    expect(deleted.deleteContact).toBe(contact);

    const update = await server.gql(`mutation($id: ID!) { updateContact(id: $id, input: { firstName: "Back" }) { id } }`, { id: contact }, tenant.token);
    expectError(update, "NOT_FOUND");
    expect(update.data?.updateContact ?? null).toBeNull();
    const again = await server.gql(`mutation($id: ID!) { deleteContact(id: $id) }`, { id: contact }, tenant.token);
    expectError(again, "NOT_FOUND");

    const bookings = await server.ok(tenant, `{ bookings { totalCount edges { node { id } } } }`);
    expect(ids(bookings.bookings)).toEqual([kept]);
    expect(await server.db.prisma.booking.count({ where: { contactId: rawId(contact) } })).toBe(0);
    expect(await server.db.prisma.contact.count({ where: { id: rawId(contact) } })).toBe(0);

    const after = await server.ok(
      tenant,
      `query($conv: ID!, $lead: ID!) {
        conv: node(id: $conv) { ... on Conversation { id contact { id } } }
        lead: node(id: $lead) { ... on Lead { id contact { id } } }
        contacts { totalCount edges { node { id } } }
      }`,
      { conv: conversation, lead },
    );
    expect(after.conv).toEqual({ id: conversation, contact: null });
    expect(after.lead).toEqual({ id: lead, contact: null });
    expect(ids(after.contacts)).toEqual([keeper]);
  });
});

describe("leads", () => {
  test("createLead links a contact and a conversation; updateLeadStatus moves it", async () => {
    const tenant = await server.createTenant("Leads");
    const contact = await createContact(tenant, { firstName: "Lead", email: "lead@example.com" });
    const conversation = await createConversation(tenant, { channelType: "WEBFORM", customerIdentifier: "lead@example.com" });

    const created = await server.ok(
      tenant,
      `mutation($input: CreateLeadInput!) {
        createLead(input: $input) { id status score source crmExternalId fields contact { id email } conversation { id } }
      }`,
      {
        input: {
          contactId: contact,
          conversationId: conversation,
          score: 72,
          source: "webform",
          crmExternalId: "crm-1",
          fields: { name: "Lead", budget: 1000 },
        },
      },
    );
    const lead = created.createLead;
    expect(lead).toEqual({
      id: expect.stringMatching(/^lead_[0-9a-f-]{36}$/),
      status: "NEW",
      score: 72,
      source: "webform",
      crmExternalId: "crm-1",
      fields: { name: "Lead", budget: 1000 },
      contact: { id: contact, email: "lead@example.com" },
      conversation: { id: conversation },
    });

    // A minimal lead: no links, empty fields.
    const minimal = (await server.ok(tenant, `mutation { createLead(input: {}) { status score fields contact { id } conversation { id } } }`)).createLead;
    expect(minimal).toEqual({ status: "NEW", score: null, fields: {}, contact: null, conversation: null });

    // Both sides see the link.
    const links = await server.ok(
      tenant,
      `query($contact: ID!, $conv: ID!) {
        contact: node(id: $contact) { ... on Contact { leads { totalCount edges { node { id } } } } }
        conv: node(id: $conv) { ... on Conversation { leads { id } } }
      }`,
      { contact, conv: conversation },
    );
    expect(ids(links.contact.leads)).toEqual([lead.id]);
    expect(links.conv.leads).toEqual([{ id: lead.id }]);

    const moved = await server.ok(tenant, `mutation($id: ID!) { updateLeadStatus(id: $id, status: QUALIFIED) { id status score } }`, { id: lead.id });
    expect(moved.updateLeadStatus).toEqual({ id: lead.id, status: "QUALIFIED", score: 72 });
    const won = await server.ok(tenant, `mutation($id: ID!) { updateLeadStatus(id: $id, status: WON) { status } }`, { id: lead.id });
    expect(won.updateLeadStatus.status).toBe("WON");
    const listed = await server.ok(tenant, `{ won: leads(status: WON) { edges { node { id } } } fresh: leads(status: NEW) { totalCount } }`);
    expect(ids(listed.won)).toEqual([lead.id]);
    expect(listed.fresh.totalCount).toBe(1);
  });
});

describe("agents and channels", () => {
  test("createAgent derives publicId from the name and the integer number; createChannel links an agent", async () => {
    const tenant = await server.createTenant("Agents");
    const AGENT = `mutation($input: CreateAgentInput!) { createAgent(input: $input) { id number publicId name status systemPrompt modelProvider modelName } }`;
    const sales = (await server.ok(tenant, AGENT, { input: { name: "Acme Sales Bot!" } })).createAgent;
    expect(sales).toMatchObject({ name: "Acme Sales Bot!", status: "DRAFT", systemPrompt: "", modelProvider: null, modelName: null });
    expect(sales.number).toEqual(expect.any(Number));
    expect(sales.publicId).toMatch(/_Agent_\d+$/);
    expect(sales.publicId).toBe(`acme_sales_bot_Agent_${sales.number}`);

    const support = (
      await server.ok(tenant, AGENT, { input: { name: "Support", status: "PUBLISHED", systemPrompt: "Help.", modelProvider: "anthropic", modelName: "claude" } })
    ).createAgent;
    expect(support).toMatchObject({ status: "PUBLISHED", systemPrompt: "Help.", modelProvider: "anthropic", modelName: "claude" });
    expect(support.publicId).toBe(`support_Agent_${support.number}`);
    expect(support.number).toBeGreaterThan(sales.number);
    // A name with no usable characters still gets a handle.
    const symbols = (await server.ok(tenant, AGENT, { input: { name: "!!!" } })).createAgent;
    expect(symbols.publicId).toMatch(new RegExp(`^[a-z0-9_]+_Agent_${symbols.number}$`));

    const CHANNEL = `mutation($input: CreateChannelInput!) { createChannel(input: $input) { id type name agent { id name } } }`;
    const linked = (await server.ok(tenant, CHANNEL, { input: { type: "WHATSAPP", name: "WA", agentId: sales.id } })).createChannel;
    expect(linked).toEqual({ id: expect.stringMatching(/^chn_/), type: "WHATSAPP", name: "WA", agent: { id: sales.id, name: "Acme Sales Bot!" } });
    const unlinked = (await server.ok(tenant, CHANNEL, { input: { type: "EMAIL", name: "Mail" } })).createChannel;
    expect(unlinked.agent).toBeNull();

    const agent = await server.ok(tenant, `query($id: ID!) { node(id: $id) { ... on Agent { channels { id } } } }`, { id: sales.id });
    expect(agent.node.channels).toEqual([{ id: linked.id }]);
  });
});

describe("conversations", () => {
  test("createConversation is a strict create per channel type and customer identifier", async () => {
    const tenant = await server.createTenant("Strict");
    const other = await server.createTenant("Other");
    const CREATE = `mutation($input: CreateConversationInput!) { createConversation(input: $input) { id channelType customerIdentifier customerName status } }`;
    const input = { channelType: "WHATSAPP", customerIdentifier: "+48500100200", customerName: "First" };

    const first = await server.gql(CREATE, { input }, tenant.token);
    expect(first.errors).toBeUndefined();
    expect(first.data?.createConversation).toMatchObject({ channelType: "WHATSAPP", customerIdentifier: "+48500100200", customerName: "First", status: "OPEN" });

    const second = await server.gql(CREATE, { input: { ...input, customerName: "Second" } }, tenant.token);
    expectError(second, "CONFLICT");
    expect(second.data?.createConversation ?? null).toBeNull();
    const rows = () =>
      server.db.prisma.conversation.findMany({ where: { tenantId: tenant.id, customerIdentifier: "+48500100200" }, select: { channelType: true, customerName: true } });
    expect(await rows()).toEqual([{ channelType: "WHATSAPP", customerName: "First" }]);

    // The same identifier on another channel type is another conversation.
    const sms = await server.gql(CREATE, { input: { ...input, channelType: "SMS" } }, tenant.token);
    expect(sms.errors).toBeUndefined();
    expect(sms.data?.createConversation.channelType).toBe("SMS");
    expect((await rows()).map((row) => row.channelType).sort()).toEqual(["SMS", "WHATSAPP"]);

    // And another tenant has its own.
    const elsewhere = await server.gql(CREATE, { input }, other.token);
    expect(elsewhere.errors).toBeUndefined();

    const listed = await server.ok(tenant, `{ conversations { totalCount } }`);
    expect(listed.conversations.totalCount).toBe(2);
  });

  test("updateConversation sets, leaves omitted and clears null fields", async () => {
    const tenant = await server.createTenant("Update conv");
    const agent = (await server.ok(tenant, `mutation { createAgent(input: { name: "Bot" }) { id } }`)).createAgent.id;
    const contact = await createContact(tenant, { firstName: "Cleo" });
    const conversation = await createConversation(tenant, { channelType: "INSTAGRAM", customerIdentifier: "@cleo" });
    const FIELDS = `status sentiment assignedOperator customerName customerLanguage extractedValues agent { id } contact { id }`;
    const UPDATE = `mutation($id: ID!, $input: UpdateConversationInput!) { updateConversation(id: $id, input: $input) { ${FIELDS} } }`;

    const set = (
      await server.ok(tenant, UPDATE, {
        id: conversation,
        input: {
          status: "HANDED_OFF",
          sentiment: "POSITIVE",
          assignedOperator: "alice",
          customerName: "Cleo P.",
          customerLanguage: "en-GB",
          extractedValues: { intent: "booking" },
          agentId: agent,
          contactId: contact,
        },
      })
    ).updateConversation;
    expect(set).toEqual({
      status: "HANDED_OFF",
      sentiment: "POSITIVE",
      assignedOperator: "alice",
      customerName: "Cleo P.",
      customerLanguage: "en-GB",
      extractedValues: { intent: "booking" },
      agent: { id: agent },
      contact: { id: contact },
    });

    const statusOnly = (await server.ok(tenant, UPDATE, { id: conversation, input: { status: "CLOSED" } })).updateConversation;
    expect(statusOnly).toEqual({ ...set, status: "CLOSED" });

    const cleared = (
      await server.ok(tenant, UPDATE, {
        id: conversation,
        input: { sentiment: null, assignedOperator: null, customerName: null, customerLanguage: null, extractedValues: null, agentId: null, contactId: null },
      })
    ).updateConversation;
    expect(cleared).toEqual({
      status: "CLOSED",
      sentiment: null,
      assignedOperator: null,
      customerName: null,
      customerLanguage: null,
      extractedValues: {},
      agent: null,
      contact: null,
    });
    const read = await server.ok(tenant, `query($id: ID!) { node(id: $id) { ... on Conversation { ${FIELDS} } } }`, { id: conversation });
    expect(read.node).toEqual(cleared);
  });

  test("addMessage and sendOperatorMessage append; firstMessageAt stays at the first, lastMessageAt moves", async () => {
    const tenant = await server.createTenant("Messages");
    const conversation = await createConversation(tenant, { channelType: "WEBSITE", customerIdentifier: "visitor" });
    const TIMES = `query($id: ID!) { node(id: $id) { ... on Conversation { firstMessageAt lastMessageAt messages { totalCount edges { node { id role content createdAt } } } } } }`;

    const empty = (await server.ok(tenant, TIMES, { id: conversation })).node;
    expect(empty).toEqual({ firstMessageAt: null, lastMessageAt: null, messages: { totalCount: 0, edges: [] } });

    const first = (
      await server.ok(tenant, `mutation($input: AddMessageInput!) { addMessage(input: $input) { id role content createdAt conversation { id } } }`, {
        input: { conversationId: conversation, role: "USER", content: "Hi there" },
      })
    ).addMessage;
    expect(first).toMatchObject({ role: "USER", content: "Hi there", conversation: { id: conversation } });
    const afterFirst = (await server.ok(tenant, TIMES, { id: conversation })).node;
    expect(afterFirst.firstMessageAt).toBe(first.createdAt);
    expect(afterFirst.lastMessageAt).toBe(first.createdAt);

    await new Promise((resolve) => setTimeout(resolve, 5));
    const bot = (
      await server.ok(tenant, `mutation($input: AddMessageInput!) { addMessage(input: $input) { id role createdAt } }`, {
        input: { conversationId: conversation, role: "ASSISTANT", content: "Hello! How can I help?" },
      })
    ).addMessage;
    await new Promise((resolve) => setTimeout(resolve, 5));
    const operator = (
      await server.ok(tenant, `mutation($id: ID!) { sendOperatorMessage(conversationId: $id, content: "  A human here.  ") { id role content createdAt conversation { id } } }`, {
        id: conversation,
      })
    ).sendOperatorMessage;
    expect(operator).toMatchObject({ role: "OPERATOR", conversation: { id: conversation } });
    expect(operator.content.trim()).toBe("A human here.");

    const after = (await server.ok(tenant, TIMES, { id: conversation })).node;
    expect(after.firstMessageAt).toBe(first.createdAt);
    expect(after.lastMessageAt).toBe(operator.createdAt);
    expect(Date.parse(after.lastMessageAt)).toBeGreaterThan(Date.parse(after.firstMessageAt));
    expect(after.messages.totalCount).toBe(3);
    expect(after.messages.edges.map((edge: any) => [edge.node.id, edge.node.role])).toEqual([
      [first.id, "USER"],
      [bot.id, "ASSISTANT"],
      [operator.id, "OPERATOR"],
    ]);
  });

  test("bulkUpdateConversations CLOSE and REOPEN count each distinct id once: changed are updated, the rest skipped", async () => {
    const tenant = await server.createTenant("Bulk");
    const other = await server.createTenant("Other");
    const foreign = await createConversation(other, { channelType: "SMS", customerIdentifier: "foreign" });
    const [c1, c2, c3, c4] = [
      await createConversation(tenant, { channelType: "SMS", customerIdentifier: "1" }),
      await createConversation(tenant, { channelType: "SMS", customerIdentifier: "2" }),
      await createConversation(tenant, { channelType: "SMS", customerIdentifier: "3" }),
      await createConversation(tenant, { channelType: "SMS", customerIdentifier: "4" }),
    ];
    await server.ok(tenant, `mutation($id: ID!) { updateConversation(id: $id, input: { status: CLOSED }) { id } }`, { id: c3 });
    await server.ok(tenant, `mutation($id: ID!) { updateConversation(id: $id, input: { status: HANDED_OFF }) { id } }`, { id: c4 });
    const unknown = `conv_${randomUUID()}`;

    // c1, c2 open and c4 handed off close; c3 is already closed; c1 twice counts once;
    // an unknown id and another tenant's id are skipped.
    expect(await bulk(tenant, { action: "CLOSE", ids: [c1, c2, c3, c1, c4, unknown, foreign] })).toEqual({ updated: 3, skipped: 3 });
    for (const id of [c1, c2, c3, c4]) expect((await conversationState(tenant, id)).status).toBe("CLOSED");
    expect((await conversationState(other, foreign)).status).toBe("OPEN");
    expect(await bulk(tenant, { action: "CLOSE", ids: [c1, c2] })).toEqual({ updated: 0, skipped: 2 });

    await server.ok(tenant, `mutation($id: ID!) { updateConversation(id: $id, input: { status: OPEN }) { id } }`, { id: c4 });
    expect(await bulk(tenant, { action: "REOPEN", ids: [c1, c2, c2, c4, unknown] })).toEqual({ updated: 2, skipped: 2 });
    expect(await conversationState(tenant, c1)).toMatchObject({ status: "OPEN" });
    expect(await conversationState(tenant, c2)).toMatchObject({ status: "OPEN" });
    expect(await conversationState(tenant, c3)).toMatchObject({ status: "CLOSED" });

    const open = await server.ok(tenant, `{ conversations(status: OPEN) { totalCount } closed: conversations(status: CLOSED) { totalCount } }`);
    expect(open.conversations.totalCount).toBe(3);
    expect(open.closed.totalCount).toBe(1);
  });

  test("bulkUpdateConversations ASSIGN, TAG and UNTAG", async () => {
    const tenant = await server.createTenant("Bulk tags");
    const [c1, c2, c3] = [
      await createConversation(tenant, { channelType: "EMAIL", customerIdentifier: "a@example.com" }),
      await createConversation(tenant, { channelType: "EMAIL", customerIdentifier: "b@example.com" }),
      await createConversation(tenant, { channelType: "EMAIL", customerIdentifier: "c@example.com" }),
    ];
    const unknown = `conv_${randomUUID()}`;
    const vip = await createTag(tenant, "vip");
    const hot = await createTag(tenant, "hot");

    // ASSIGN: c2 already has alice.
    await server.ok(tenant, `mutation($id: ID!) { updateConversation(id: $id, input: { assignedOperator: "alice" }) { id } }`, { id: c2 });
    expect(await bulk(tenant, { action: "ASSIGN", ids: [c1, c2, c3, unknown], operator: "alice" })).toEqual({ updated: 2, skipped: 2 });
    for (const id of [c1, c2, c3]) expect((await conversationState(tenant, id)).operator).toBe("alice");
    expect(await bulk(tenant, { action: "ASSIGN", ids: [c1, c2], operator: "bob" })).toEqual({ updated: 2, skipped: 0 });
    expect((await conversationState(tenant, c1)).operator).toBe("bob");
    // null unassigns: c1 (bob) and c3 (alice) change; a second time nothing does.
    expect(await bulk(tenant, { action: "ASSIGN", ids: [c1, c3], operator: null })).toEqual({ updated: 2, skipped: 0 });
    expect(await bulk(tenant, { action: "ASSIGN", ids: [c1, c3], operator: null })).toEqual({ updated: 0, skipped: 2 });
    expect((await conversationState(tenant, c1)).operator).toBeNull();
    expect((await conversationState(tenant, c2)).operator).toBe("bob");

    // TAG: c1 gets vip; then vip+hot on c1 (has vip), c2 (none), c3 (none) -> all three change.
    expect(await bulk(tenant, { action: "TAG", ids: [c1], tagIds: [vip] })).toEqual({ updated: 1, skipped: 0 });
    expect(await bulk(tenant, { action: "TAG", ids: [c1, c2, c3, c3, unknown], tagIds: [vip, hot, hot] })).toEqual({ updated: 3, skipped: 1 });
    for (const id of [c1, c2, c3]) expect((await conversationState(tenant, id)).tags).toEqual(["hot", "vip"]);
    // Tagging again changes nothing.
    expect(await bulk(tenant, { action: "TAG", ids: [c1, c2], tagIds: [vip] })).toEqual({ updated: 0, skipped: 2 });

    // UNTAG: hot off c1 and c2; c3 keeps both.
    expect(await bulk(tenant, { action: "UNTAG", ids: [c1, c2, unknown], tagIds: [hot] })).toEqual({ updated: 2, skipped: 1 });
    expect((await conversationState(tenant, c1)).tags).toEqual(["vip"]);
    expect((await conversationState(tenant, c2)).tags).toEqual(["vip"]);
    expect((await conversationState(tenant, c3)).tags).toEqual(["hot", "vip"]);
    expect(await bulk(tenant, { action: "UNTAG", ids: [c1, c2], tagIds: [hot] })).toEqual({ updated: 0, skipped: 2 });
    expect(await bulk(tenant, { action: "UNTAG", ids: [c1, c3], tagIds: [vip, hot] })).toEqual({ updated: 2, skipped: 0 });
    expect((await conversationState(tenant, c1)).tags).toEqual([]);
    expect((await conversationState(tenant, c3)).tags).toEqual([]);

    const tagged = await server.ok(tenant, `query($t: [ID!]) { conversations(tagIds: $t) { totalCount edges { node { id } } } }`, { t: [vip] });
    expect(ids(tagged.conversations)).toEqual([c2]);
    expect(await server.db.prisma.conversationTag.count({ where: { tenantId: tenant.id } })).toBe(1);
  });

  test("createTag names are unique per tenant: a duplicate is a CONFLICT and writes nothing", async () => {
    const tenant = await server.createTenant("Tags");
    const other = await server.createTenant("Other");
    const created = await server.ok(tenant, `mutation { createTag(name: "  priority ", color: "#3366ff") { id name color createdAt } }`);
    expect(created.createTag).toMatchObject({ name: "priority", color: "#3366ff" });
    expect(created.createTag.id).toMatch(/^tag_/);

    for (const name of ["priority", " priority"]) {
      const duplicate = await server.gql(`mutation($name: String!) { createTag(name: $name) { id } }`, { name }, tenant.token);
      expectError(duplicate, "CONFLICT");
      expect(duplicate.data?.createTag ?? null).toBeNull();
    }
    expect(await server.db.prisma.tag.count({ where: { tenantId: tenant.id } })).toBe(1);
    const listed = await server.ok(tenant, `{ tags { totalCount edges { node { id name color } } } }`);
    expect(listed.tags).toEqual({ totalCount: 1, edges: [{ node: { id: created.createTag.id, name: "priority", color: "#3366ff" } }] });

    // Another tenant may use the name.
    await server.ok(other, `mutation { createTag(name: "priority") { id } }`);
  });
});

describe("bookings", () => {
  test("createBooking, updateBooking (omitted fields unchanged) and cancelBooking", async () => {
    const tenant = await server.createTenant("Bookings");
    const contact = await createContact(tenant, { firstName: "Bo" });
    const FIELDS = `id service startsAt endsAt status notes contact { id }`;
    const created = (
      await server.ok(tenant, `mutation($input: CreateBookingInput!) { createBooking(input: $input) { ${FIELDS} } }`, {
        input: { contactId: contact, service: "Haircut", startsAt: "2030-06-01T10:00:00+02:00", endsAt: "2030-06-01T11:00:00+02:00", notes: "Short" },
      })
    ).createBooking;
    expect(created).toEqual({
      id: expect.stringMatching(/^bkg_/),
      service: "Haircut",
      startsAt: "2030-06-01T08:00:00.000Z",
      endsAt: "2030-06-01T09:00:00.000Z",
      status: "PENDING",
      notes: "Short",
      contact: { id: contact },
    });
    const confirmed = (
      await server.ok(tenant, `mutation($input: CreateBookingInput!) { createBooking(input: $input) { status notes } }`, {
        input: { contactId: contact, service: "Massage", startsAt: "2030-06-02T10:00:00Z", endsAt: "2030-06-02T11:00:00Z", status: "CONFIRMED" },
      })
    ).createBooking;
    expect(confirmed).toEqual({ status: "CONFIRMED", notes: null });

    const UPDATE = `mutation($id: ID!, $input: UpdateBookingInput!) { updateBooking(id: $id, input: $input) { ${FIELDS} } }`;
    const renamed = (await server.ok(tenant, UPDATE, { id: created.id, input: { service: "Haircut and beard" } })).updateBooking;
    expect(renamed).toEqual({ ...created, service: "Haircut and beard" });
    // Moving the end alone is checked against the stored start.
    const longer = (await server.ok(tenant, UPDATE, { id: created.id, input: { endsAt: "2030-06-01T09:30:00Z", status: "CONFIRMED" } })).updateBooking;
    expect(longer).toEqual({ ...renamed, endsAt: "2030-06-01T09:30:00.000Z", status: "CONFIRMED" });
    const moved = (
      await server.ok(tenant, UPDATE, { id: created.id, input: { startsAt: "2030-06-03T08:00:00Z", endsAt: "2030-06-03T09:00:00Z", notes: null } })
    ).updateBooking;
    expect(moved).toEqual({ ...longer, startsAt: "2030-06-03T08:00:00.000Z", endsAt: "2030-06-03T09:00:00.000Z", notes: null });

    const cancelled = (await server.ok(tenant, `mutation($id: ID!) { cancelBooking(id: $id) { ${FIELDS} } }`, { id: created.id })).cancelBooking;
    expect(cancelled).toEqual({ ...moved, status: "CANCELLED" });
    const twice = (await server.ok(tenant, `mutation($id: ID!) { cancelBooking(id: $id) { status } }`, { id: created.id })).cancelBooking;
    expect(twice.status).toBe("CANCELLED");

    const listed = await server.ok(tenant, `{ cancelled: bookings(status: CANCELLED) { edges { node { id } } } all: bookings { totalCount } }`);
    expect(ids(listed.cancelled)).toEqual([created.id]);
    expect(listed.all.totalCount).toBe(2);
  });
});

describe("API tokens", () => {
  test("createApiToken returns the secret once, it works as a bearer token, and only its hash is stored", async () => {
    const tenant = await server.createTenant("Tokens");
    const expiresAt = new Date(Date.now() + 86_400_000).toISOString();
    const created = (
      await server.ok(
        tenant,
        `mutation($input: CreateApiTokenInput!) {
          createApiToken(input: $input) { secret token { id name format scopes displayPrefix expiresAt revokedAt agent { id } } }
        }`,
        { input: { name: "Zapier", format: "CONVO", scopes: ["CONTACTS_READ", "LEADS_WRITE", "CONTACTS_READ"], expiresAt } },
      )
    ).createApiToken;
    const secret: string = created.secret;
    expect(secret).toMatch(/^convo_[0-9a-f]{32}$/);
    expect(created.token).toMatchObject({
      name: "Zapier",
      format: "CONVO",
      scopes: ["CONTACTS_READ", "LEADS_WRITE"],
      expiresAt: new Date(expiresAt).toISOString(),
      revokedAt: null,
      agent: null,
    });

    // It authenticates as itself, with exactly its scopes.
    const viewer = (await server.ok(secret, `{ viewer { scopes token { id displayPrefix } } }`)).viewer;
    expect(viewer.token.id).toBe(created.token.id);
    expect(viewer.scopes).toEqual(["CONTACTS_READ", "LEADS_WRITE"]);
    // The display prefix is the start of the token (a trailing ellipsis marks it as cut), never the token.
    const prefix = viewer.token.displayPrefix.replace(/…$/, "");
    expect(prefix.length).toBeGreaterThan(0);
    expect(secret.startsWith(prefix)).toBe(true);
    expect(prefix.length).toBeLessThan(secret.length - 16);
    expect(viewer.token.displayPrefix).toBe(created.token.displayPrefix);
    const denied = await server.gql(`{ leads { totalCount } }`, {}, secret);
    expectError(denied, "FORBIDDEN", { scope: "leads:read" });

    // The secret is never shown again: listing tokens has no secret field, and the row holds only a hash.
    const row = await server.db.prisma.apiToken.findUniqueOrThrow({ where: { id: rawId(created.token.id) } });
    expect(row.secretHash).not.toBe(secret);
    expect(row.secretHash).toMatch(/^[0-9a-f]{64}$/);
    for (const [column, value] of Object.entries(row)) {
      expect(JSON.stringify(value) ?? "", column).not.toContain(secret);
    }
    expect(JSON.stringify(row)).not.toContain(secret.slice(prefix.length));
    const listed = await server.ok(tenant, `{ apiTokens { edges { node { id displayPrefix } } } }`);
    expect(JSON.stringify(listed)).not.toContain(secret);
  });

  test("revokeApiToken locks the token out at once with HTTP 401; revoking twice keeps the first time", async () => {
    const tenant = await server.createTenant("Revoke");
    const created = (
      await server.ok(tenant, `mutation { createApiToken(input: { name: "Temp", format: VELERIA, scopes: [CONTACTS_READ] }) { secret token { id } } }`)
    ).createApiToken;
    expect((await server.ok(created.secret, `{ viewer { token { id } } }`)).viewer.token.id).toBe(created.token.id);

    const revoked = (await server.ok(tenant, `mutation($id: ID!) { revokeApiToken(id: $id) { id revokedAt } }`, { id: created.token.id })).revokeApiToken;
    expect(revoked.id).toBe(created.token.id);
    expect(Date.parse(revoked.revokedAt)).toBeLessThanOrEqual(Date.now());

    const refused = await server.gql(`{ viewer { scopes } }`, {}, created.secret);
    expect(refused.status).toBe(401);
    expect(refused.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    expect(refused.data ?? null).toBeNull();
    const refusedWrite = await server.gql(`mutation { createContact(input: { firstName: "x" }) { id } }`, {}, created.secret);
    expect(refusedWrite.status).toBe(401);

    await new Promise((resolve) => setTimeout(resolve, 10));
    const again = (await server.ok(tenant, `mutation($id: ID!) { revokeApiToken(id: $id) { revokedAt } }`, { id: created.token.id })).revokeApiToken;
    expect(again.revokedAt).toBe(revoked.revokedAt);
    const listed = await server.ok(tenant, `{ apiTokens { edges { node { id revokedAt } } } }`);
    expect(listed.apiTokens.edges.find((edge: any) => edge.node.id === created.token.id)?.node.revokedAt).toBe(revoked.revokedAt);
    // The admin token is untouched.
    expect((await server.ok(tenant, `{ viewer { scopes } }`)).viewer.scopes).toContain("ADMIN");
  });
});

describe("per-tenant numbers", () => {
  test("agents and conversations are numbered 1, 2, … within each tenant, whatever other tenants do", async () => {
    const a = await server.createTenant("Numbers A");
    const b = await server.createTenant("Numbers B");
    const createAgent = async (tenant: TestTenant, name: string) =>
      (await server.ok(tenant, `mutation($input: CreateAgentInput!) { createAgent(input: $input) { number publicId } }`, { input: { name } }))
        .createAgent;
    expect(await createAgent(a, "Sales")).toEqual({ number: 1, publicId: "sales_Agent_1" });
    expect((await createAgent(b, "Support")).number).toBe(1);
    expect((await createAgent(b, "Support two")).number).toBe(2);
    expect(await createAgent(a, "Sales two")).toEqual({ number: 2, publicId: "sales_two_Agent_2" });

    const numberOf = async (tenant: TestTenant, identifier: string) =>
      (
        await server.ok(tenant, `mutation($input: CreateConversationInput!) { createConversation(input: $input) { number } }`, {
          input: { channelType: "WHATSAPP", customerIdentifier: identifier },
        })
      ).createConversation.number;
    expect(await numberOf(b, "+48100000001")).toBe(1);
    // A rejected duplicate rolls its number back with it.
    expectError(
      await server.gql(`mutation($input: CreateConversationInput!) { createConversation(input: $input) { number } }`, {
        input: { channelType: "WHATSAPP", customerIdentifier: "+48100000001" },
      }, b.token),
      "CONFLICT",
    );
    expect(await numberOf(a, "+48100000001")).toBe(1);
    expect(await numberOf(b, "+48100000002")).toBe(2);
  });
});

describe("a mutation's own result", () => {
  test("is readable with the write scope alone; nested objects still need their read scopes", async () => {
    const tenant = await server.createTenant("Write only");
    const writer = await tenant.tokenWith(["leads:write"]);
    const created = await server.ok(writer, `mutation { createLead(input: { source: "form", fields: { name: "Ann" } }) { id status fields } }`);
    expect(created.createLead).toMatchObject({ status: "NEW", fields: { name: "Ann" } });
    expect(await server.db.prisma.lead.count({ where: { tenantId: tenant.id } })).toBe(1);

    const contactId = await createContact(tenant, { firstName: "Ann" });
    const nested = await server.gql(
      `mutation($id: ID!) { createLead(input: { contactId: $id }) { id contact { firstName } } }`,
      { id: contactId },
      writer,
    );
    expectError(nested, "FORBIDDEN", { scope: "contacts:read" });
  });
});
