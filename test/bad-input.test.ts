// Bad input, end to end: every kind of bad request gets a typed error (extensions.code, and
// extensions.field where the API names the offending field), never an HTTP 500 or a masked
// "Unexpected error", and never a partial write. Each case runs against a fresh tenant with
// a little data; a snapshot of every row the tenant owns, taken before and after, shows that
// nothing was written.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { seedTenant, snapshot } from "./fixtures.js";
import { startTestServer, type GraphQLResponse, type TestServer } from "./harness.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());

// ---------------------------------------------------------------------------------------
// Helpers

/**
 * A typed rejection: not a 5xx, the expected code first, the offending field where given,
 * and no data for the field that failed.
 */
function expectRejected(result: GraphQLResponse, code: string, field?: string | string[], label = "") {
  const detail = `${label} ${JSON.stringify({ status: result.status, errors: result.errors })}`;
  expect(result.status, detail).not.toBe(500);
  expect(result.status, detail).toBeLessThan(500);
  expect(result.errors?.length ?? 0, detail).toBeGreaterThan(0);
  const extensions = result.errors![0]!.extensions ?? {};
  expect(extensions.code, detail).toBe(code);
  if (typeof field === "string") expect(extensions.field, detail).toBe(field);
  if (Array.isArray(field)) expect(field, detail).toContain(extensions.field);
  for (const value of Object.values(result.data ?? {})) expect(value, detail).toBeNull();
}

/** A fresh tenant with one row of everything (fixtures.ts); the cases point at its global ids. */
async function fixture(name = "Bad input") {
  const seed = await seedTenant(server, name);
  return { ...seed.id, tenant: seed.tenant, apiToken: seed.id.token };
}
type Fixture = Awaited<ReturnType<typeof fixture>>;

const unknownId = (prefix: string) => `${prefix}_${randomUUID()}`;

// The documents the cases send.
const Q = {
  createContact: `mutation($input: ContactInput!) { createContact(input: $input) { id } }`,
  updateContact: `mutation($id: ID!, $input: ContactInput!) { updateContact(id: $id, input: $input) { id firstName } }`,
  deleteContact: `mutation($id: ID!) { deleteContact(id: $id) }`,
  createLead: `mutation($input: CreateLeadInput!) { createLead(input: $input) { id } }`,
  updateLeadStatus: `mutation($id: ID!, $status: LeadStatus!) { updateLeadStatus(id: $id, status: $status) { id status } }`,
  createAgent: `mutation($input: CreateAgentInput!) { createAgent(input: $input) { id } }`,
  createChannel: `mutation($input: CreateChannelInput!) { createChannel(input: $input) { id } }`,
  createConversation: `mutation($input: CreateConversationInput!) { createConversation(input: $input) { id } }`,
  updateConversation: `mutation($id: ID!, $input: UpdateConversationInput!) { updateConversation(id: $id, input: $input) { id status } }`,
  addMessage: `mutation($input: AddMessageInput!) { addMessage(input: $input) { id } }`,
  sendOperatorMessage: `mutation($id: ID!, $content: String!) { sendOperatorMessage(conversationId: $id, content: $content) { id } }`,
  bulk: `mutation($input: BulkUpdateConversationsInput!) { bulkUpdateConversations(input: $input) { updated skipped } }`,
  createTag: `mutation($name: String!, $color: String) { createTag(name: $name, color: $color) { id } }`,
  createBooking: `mutation($input: CreateBookingInput!) { createBooking(input: $input) { id } }`,
  updateBooking: `mutation($id: ID!, $input: UpdateBookingInput!) { updateBooking(id: $id, input: $input) { id } }`,
  cancelBooking: `mutation($id: ID!) { cancelBooking(id: $id) { id status } }`,
  createApiToken: `mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { secret } }`,
  revokeApiToken: `mutation($id: ID!) { revokeApiToken(id: $id) { id revokedAt } }`,
};

const booking = (f: Fixture, extra: Record<string, unknown> = {}) => ({
  input: { contactId: f.contact, service: "Massage", startsAt: "2030-02-01T10:00:00Z", endsAt: "2030-02-01T11:00:00Z", ...extra },
});

interface Case {
  name: string;
  query: string;
  /** `other` is a second tenant's fixture, for the cases that run with one. */
  variables?: (f: Fixture, other: Fixture) => Record<string, unknown>;
  code: string;
  /** The offending field the error must name (one of several where the API may name either). */
  field?: string | string[];
}

/** Sends one case and checks its error and that none of the given tenants' rows changed. */
async function check(c: Case, f: Fixture, other: Fixture = f) {
  const tenants = [...new Set([f.tenant.id, other.tenant.id])];
  const before = await Promise.all(tenants.map((id) => snapshot(server, id)));
  const result = await server.gql(c.query, c.variables?.(f, other) ?? {}, f.tenant.token);
  expectRejected(result, c.code, c.field, c.name);
  expect(await Promise.all(tenants.map((id) => snapshot(server, id))), c.name).toEqual(before);
}

/** Runs each case on a fresh tenant of its own. */
function runCases(cases: Case[]) {
  test.each(cases)("$name", async (c) => check(c, await fixture()));
}

/** Variants of one rule: one test, one fresh tenant, every variant checked on its own. */
function runVariants(name: string, cases: Case[]) {
  test(name, async () => {
    const f = await fixture();
    for (const c of cases) await check(c, f);
  });
}

// ---------------------------------------------------------------------------------------

test("the no-write check sees a write to any table, and only there", async () => {
  const f = await fixture();
  const t = f.tenant.token;
  const changedBy = async (work: () => Promise<unknown>) => {
    const before = await snapshot(server, f.tenant.id);
    await work();
    const after = await snapshot(server, f.tenant.id);
    return Object.keys(before).filter((table) => before[table] !== after[table]).sort();
  };
  // Authenticating touches lastUsedAt, which is not a write the request asked for. A change
  // writes its events (the outbox) with it.
  expect(await changedBy(() => server.db.prisma.apiToken.updateMany({ where: { tenantId: f.tenant.id }, data: { lastUsedAt: new Date(0) } }))).toEqual([]);
  expect(await changedBy(() => server.ok(t, `mutation($id: ID!) { updateContact(id: $id, input: { firstName: "Changed" }) { id } }`, { id: f.contact }))).toEqual(["Contact", "Event"]);
  expect(await changedBy(() => server.ok(t, `mutation($id: ID!) { sendOperatorMessage(conversationId: $id, content: "More") { id } }`, { id: f.conversation }))).toEqual(["Conversation", "Event", "Message"]);
  expect(
    await changedBy(() => server.ok(t, `mutation($c: ID!, $t: ID!) { bulkUpdateConversations(input: { action: UNTAG, ids: [$c], tagIds: [$t] }) { updated } }`, { c: f.conversation, t: f.tag })),
  ).toEqual(["Conversation", "ConversationTag", "Event"]);
  expect(await changedBy(() => server.ok(t, `mutation($id: ID!) { revokeApiToken(id: $id) { id } }`, { id: f.apiToken }))).toEqual(["ApiToken"]);
  expect(await changedBy(() => server.ok(t, `mutation($id: ID!) { cancelBooking(id: $id) { id } }`, { id: f.booking }))).toEqual(["Booking", "Event"]);
  expect(await changedBy(() => server.db.prisma.tenant.update({ where: { id: f.tenant.id }, data: { name: "Renamed" } }))).toEqual(["Tenant"]);
});

describe("requests that are not GraphQL", () => {
  async function post(body: string) {
    const tenant = await server.createTenant("Raw");
    const before = await snapshot(server, tenant.id);
    const response = await fetch(server.url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json", authorization: `Bearer ${tenant.token}` },
      body,
    });
    const json = (await response.json()) as GraphQLResponse;
    expect(await snapshot(server, tenant.id)).toEqual(before);
    return { ...json, status: response.status } as GraphQLResponse;
  }

  test("a malformed JSON body gets HTTP 400 and writes nothing", async () => {
    for (const body of [
      `{not json`,
      `{"query": "mutation { createContact(input: { firstName: \\"Half\\" }) { id } }"`,
      `{"query": "mutation { createContact(input: { firstName: \\"Trailing\\" }) { id } }"},`,
      ``,
    ]) {
      const result = await post(body);
      expect(result.status, body).toBe(400);
      expect(result.errors?.[0]?.extensions?.code, body).toBe("BAD_REQUEST");
    }
  });

  test("a mutation sent with GET is refused with HTTP 405 and not run", async () => {
    const tenant = await server.createTenant("GET");
    const before = await snapshot(server, tenant.id);
    const query = `mutation { createContact(input: { firstName: "Via GET" }) { id } }`;
    const response = await fetch(`${server.url}?query=${encodeURIComponent(query)}`, {
      headers: { accept: "application/json", authorization: `Bearer ${tenant.token}` },
    });
    expect(response.status).toBe(405);
    const json = (await response.json()) as GraphQLResponse;
    expect(json.errors?.[0]?.extensions?.code).toBe("BAD_REQUEST");
    expect(await snapshot(server, tenant.id)).toEqual(before);
  });

  test("a body that is not JSON is refused with HTTP 415 and not run", async () => {
    const tenant = await server.createTenant("Text");
    const before = await snapshot(server, tenant.id);
    const response = await fetch(server.url, {
      method: "POST",
      headers: { "content-type": "text/plain", authorization: `Bearer ${tenant.token}` },
      body: JSON.stringify({ query: `mutation { createContact(input: { firstName: "Plain" }) { id } }` }),
    });
    expect(response.status).toBe(415);
    await response.arrayBuffer();
    expect(await snapshot(server, tenant.id)).toEqual(before);
  });

  test("a JSON body that is not a request object gets HTTP 400", async () => {
    for (const body of [`[]`, `"query"`, `42`, `{"query": 42}`]) {
      const result = await post(body);
      expect(result.status, body).toBe(400);
      expect(result.errors?.[0]?.extensions?.code, body).toBe("BAD_REQUEST");
    }
  });

  test("a query that does not parse gets GRAPHQL_PARSE_FAILED and runs nothing", async () => {
    for (const query of [
      `mutation { createContact(input: { firstName: "Unclosed" }) { id }`,
      `mutation { createContact(input: { firstName: "Bad" } { id } }`,
      `{ viewer { scopes } } }`,
      `mutation createContact(input: { firstName: "No braces" })`,
    ]) {
      const tenant = await server.createTenant("Parse");
      const before = await snapshot(server, tenant.id);
      const result = await server.gql(query, {}, tenant.token);
      expectRejected(result, "GRAPHQL_PARSE_FAILED");
      expect(result.data ?? null).toBeNull();
      expect(await snapshot(server, tenant.id)).toEqual(before);
    }
  });

  test("a query that parses but does not validate gets GRAPHQL_VALIDATION_FAILED and runs nothing", async () => {
    for (const query of [
      `mutation { createContact(input: { firstName: "x" }) { id nope } }`,
      `mutation { createContact(input: { firstName: "x", nickname: "y" }) { id } }`,
      `mutation { createContact { id } }`,
      `mutation { createLead(input: { score: "high" }) { id } }`,
      `mutation { createLead(input: { score: 3000000000 }) { id } }`,
    ]) {
      const tenant = await server.createTenant("Validate");
      const before = await snapshot(server, tenant.id);
      const result = await server.gql(query, {}, tenant.token);
      expectRejected(result, "GRAPHQL_VALIDATION_FAILED");
      expect(await snapshot(server, tenant.id)).toEqual(before);
    }
  });
});

describe("variables of the wrong type", () => {
  runCases([
    { name: "a number for a String", query: Q.createContact, variables: () => ({ input: { firstName: 123 } }), code: "BAD_USER_INPUT" },
    { name: "numbers in a [String!]", query: Q.createContact, variables: () => ({ input: { firstName: "x", tags: [1, 2] } }), code: "BAD_USER_INPUT" },
    { name: "a string for an input object", query: Q.createContact, variables: () => ({ input: "Anna" }), code: "BAD_USER_INPUT" },
    { name: "an unknown input field", query: Q.createContact, variables: () => ({ input: { firstName: "x", nickname: "y" } }), code: "BAD_USER_INPUT" },
    { name: "a string for an Int", query: Q.createLead, variables: () => ({ input: { score: "high" } }), code: "BAD_USER_INPUT" },
    { name: "a fraction for an Int", query: Q.createLead, variables: () => ({ input: { score: 1.5 } }), code: "BAD_USER_INPUT" },
    { name: "an Int beyond 32 bits", query: Q.createLead, variables: () => ({ input: { score: 3_000_000_000 } }), code: "BAD_USER_INPUT" },
    { name: "an object for an ID", query: Q.updateContact, variables: () => ({ id: { id: 1 }, input: { firstName: "x" } }), code: "BAD_USER_INPUT" },
    { name: "a missing required variable", query: Q.updateContact, variables: () => ({ input: { firstName: "x" } }), code: "BAD_USER_INPUT" },
    { name: "null for a non-null variable", query: Q.sendOperatorMessage, variables: (f) => ({ id: f.conversation, content: null }), code: "BAD_USER_INPUT" },
    { name: "a DateTime that is not a date", query: Q.createBooking, variables: (f) => booking(f, { startsAt: "tomorrow" }), code: "BAD_USER_INPUT" },
    { name: "a DateTime without a time zone", query: Q.createBooking, variables: (f) => booking(f, { startsAt: "2030-02-01T10:00:00" }), code: "BAD_USER_INPUT" },
    { name: "a DateTime as epoch milliseconds", query: Q.createBooking, variables: (f) => booking(f, { endsAt: 1_896_000_000_000 }), code: "BAD_USER_INPUT" },
    { name: "a date without a time", query: Q.updateBooking, variables: (f) => ({ id: f.booking, input: { startsAt: "2030-02-01" } }), code: "BAD_USER_INPUT" },
    { name: "a list of numbers for [Scope!]", query: Q.createApiToken, variables: () => ({ input: { name: "x", format: "CONVO", scopes: [1] } }), code: "BAD_USER_INPUT" },
  ]);
});

describe("unknown enum values", () => {
  runCases([
    { name: "LeadStatus in a variable", query: Q.createLead, variables: () => ({ input: { status: "HOT" } }), code: "BAD_USER_INPUT" },
    { name: "LeadStatus argument", query: Q.updateLeadStatus, variables: (f) => ({ id: f.lead, status: "DONE" }), code: "BAD_USER_INPUT" },
    { name: "lower-case ChannelType", query: Q.createConversation, variables: () => ({ input: { channelType: "whatsapp", customerIdentifier: "+48999" } }), code: "BAD_USER_INPUT" },
    { name: "ChannelType FAX", query: Q.createChannel, variables: () => ({ input: { type: "FAX", name: "Fax" } }), code: "BAD_USER_INPUT" },
    { name: "MessageRole", query: Q.addMessage, variables: (f) => ({ input: { conversationId: f.conversation, role: "BOT", content: "x" } }), code: "BAD_USER_INPUT" },
    { name: "BulkConversationAction", query: Q.bulk, variables: (f) => ({ input: { action: "DELETE", ids: [f.conversation] } }), code: "BAD_USER_INPUT" },
    { name: "ConversationStatus", query: Q.updateConversation, variables: (f) => ({ id: f.conversation, input: { status: "ARCHIVED" } }), code: "BAD_USER_INPUT" },
    { name: "Sentiment", query: Q.updateConversation, variables: (f) => ({ id: f.conversation, input: { sentiment: "ANGRY" } }), code: "BAD_USER_INPUT" },
    { name: "AgentStatus", query: Q.createAgent, variables: () => ({ input: { name: "x", status: "LIVE" } }), code: "BAD_USER_INPUT" },
    { name: "BookingStatus", query: Q.updateBooking, variables: (f) => ({ id: f.booking, input: { status: "MISSED" } }), code: "BAD_USER_INPUT" },
    { name: "Scope (a dialect's name, not the enum)", query: Q.createApiToken, variables: () => ({ input: { name: "x", format: "CONVO", scopes: ["contacts:read"] } }), code: "BAD_USER_INPUT" },
    { name: "TokenFormat", query: Q.createApiToken, variables: () => ({ input: { name: "x", format: "JWT", scopes: ["CONTACTS_READ"] } }), code: "BAD_USER_INPUT" },
    { name: "an enum literal that does not exist", query: `mutation { createLead(input: { status: HOT }) { id } }`, code: "GRAPHQL_VALIDATION_FAILED" },
    { name: "an enum literal in lower case", query: `mutation { createChannel(input: { type: whatsapp, name: "x" }) { id } }`, code: "GRAPHQL_VALIDATION_FAILED" },
    { name: "a string literal for an enum", query: `mutation { createLead(input: { status: "NEW" }) { id } }`, code: "GRAPHQL_VALIDATION_FAILED" },
  ]);

  test("an unknown enum value in a query filter", async () => {
    const tenant = await server.createTenant("Enum filter");
    for (const [query, variables] of [
      [`query($s: LeadStatus) { leads(status: $s) { totalCount } }`, { s: "HOT" }],
      [`query($s: LeadSort) { leads(sort: $s) { totalCount } }`, { s: "OLDEST" }],
      [`query($t: ChannelType) { conversations(channelType: $t) { totalCount } }`, { t: "FAX" }],
      [`query($s: BookingStatus) { bookings(status: $s) { totalCount } }`, { s: "DONE" }],
    ] as const) {
      expectRejected(await server.gql(query, variables, tenant.token), "BAD_USER_INPUT");
    }
  });
});

describe("overlong and empty strings", () => {
  const long = (n: number) => "x".repeat(n);
  runCases([
    { name: "firstName of 201 characters", query: Q.createContact, variables: () => ({ input: { firstName: long(201) } }), code: "BAD_USER_INPUT", field: "input.firstName" },
    { name: "lastName of 201 characters", query: Q.createContact, variables: () => ({ input: { firstName: "Anna", lastName: long(201) } }), code: "BAD_USER_INPUT", field: "input.lastName" },
    { name: "firstName of 201 characters on update", query: Q.updateContact, variables: (f) => ({ id: f.contact, input: { firstName: long(201), lastName: "Changed" } }), code: "BAD_USER_INPUT", field: "input.firstName" },
    { name: "a tag of 51 characters", query: Q.createContact, variables: () => ({ input: { firstName: "x", tags: ["ok", long(51)] } }), code: "BAD_USER_INPUT", field: "input.tags.1" },
    { name: "51 tags", query: Q.createContact, variables: () => ({ input: { firstName: "x", tags: Array.from({ length: 51 }, (_, i) => `t${i}`) } }), code: "BAD_USER_INPUT", field: "input.tags" },
    { name: "a message of 10,001 characters (addMessage)", query: Q.addMessage, variables: (f) => ({ input: { conversationId: f.conversation, role: "USER", content: long(10_001) } }), code: "BAD_USER_INPUT", field: "input.content" },
    { name: "a message of 10,001 characters (sendOperatorMessage)", query: Q.sendOperatorMessage, variables: (f) => ({ id: f.conversation, content: long(10_001) }), code: "BAD_USER_INPUT", field: "content" },
    { name: "an empty message", query: Q.sendOperatorMessage, variables: (f) => ({ id: f.conversation, content: "   " }), code: "BAD_USER_INPUT", field: "content" },
    { name: "an empty addMessage content", query: Q.addMessage, variables: (f) => ({ input: { conversationId: f.conversation, role: "USER", content: "" } }), code: "BAD_USER_INPUT", field: "input.content" },
    { name: "a customerIdentifier of 256 characters", query: Q.createConversation, variables: () => ({ input: { channelType: "SMS", customerIdentifier: long(256) } }), code: "BAD_USER_INPUT", field: "input.customerIdentifier" },
    { name: "a blank customerIdentifier", query: Q.createConversation, variables: () => ({ input: { channelType: "SMS", customerIdentifier: "  " } }), code: "BAD_USER_INPUT", field: "input.customerIdentifier" },
    { name: "a customerName of 201 characters", query: Q.createConversation, variables: () => ({ input: { channelType: "SMS", customerIdentifier: "+48999", customerName: long(201) } }), code: "BAD_USER_INPUT", field: "input.customerName" },
    { name: "an assignedOperator of 201 characters", query: Q.updateConversation, variables: (f) => ({ id: f.conversation, input: { status: "CLOSED", assignedOperator: long(201) } }), code: "BAD_USER_INPUT", field: "input.assignedOperator" },
    { name: "an agent name of 201 characters", query: Q.createAgent, variables: () => ({ input: { name: long(201) } }), code: "BAD_USER_INPUT", field: "input.name" },
    { name: "an empty agent name", query: Q.createAgent, variables: () => ({ input: { name: "" } }), code: "BAD_USER_INPUT", field: "input.name" },
    { name: "a systemPrompt of 10,001 characters", query: Q.createAgent, variables: () => ({ input: { name: "Bot 2", systemPrompt: long(10_001) } }), code: "BAD_USER_INPUT", field: "input.systemPrompt" },
    { name: "a channel name of 201 characters", query: Q.createChannel, variables: () => ({ input: { type: "SMS", name: long(201) } }), code: "BAD_USER_INPUT", field: "input.name" },
    { name: "a booking service of 201 characters", query: Q.createBooking, variables: (f) => booking(f, { service: long(201) }), code: "BAD_USER_INPUT", field: "input.service" },
    { name: "booking notes of 10,001 characters", query: Q.createBooking, variables: (f) => booking(f, { notes: long(10_001) }), code: "BAD_USER_INPUT", field: "input.notes" },
    { name: "booking notes of 10,001 characters on update", query: Q.updateBooking, variables: (f) => ({ id: f.booking, input: { service: "Changed", notes: long(10_001) } }), code: "BAD_USER_INPUT", field: "input.notes" },
    { name: "a lead source of 201 characters", query: Q.createLead, variables: () => ({ input: { source: long(201) } }), code: "BAD_USER_INPUT", field: "input.source" },
    { name: "a tag name of 51 characters", query: Q.createTag, variables: () => ({ name: long(51) }), code: "BAD_USER_INPUT", field: "name" },
    { name: "a blank tag name", query: Q.createTag, variables: () => ({ name: "   " }), code: "BAD_USER_INPUT", field: "name" },
    { name: "a token name of 201 characters", query: Q.createApiToken, variables: () => ({ input: { name: long(201), format: "CONVO", scopes: ["CONTACTS_READ"] } }), code: "BAD_USER_INPUT", field: "input.name" },
  ]);

  test("the longest allowed strings are accepted", async () => {
    const f = await fixture();
    const t = f.tenant.token;
    const contact = await server.ok(t, `mutation($input: ContactInput!) { createContact(input: $input) { firstName } }`, { input: { firstName: "a".repeat(200) } });
    expect(contact.createContact.firstName).toHaveLength(200);
    const message = await server.ok(t, `mutation($id: ID!, $content: String!) { sendOperatorMessage(conversationId: $id, content: $content) { content } }`, {
      id: f.conversation,
      content: "m".repeat(10_000),
    });
    expect(message.sendOperatorMessage.content).toHaveLength(10_000);
  });

  test("a search of 201 characters", async () => {
    const tenant = await server.createTenant("Search");
    const result = await server.gql(`query($s: String) { contacts(search: $s) { totalCount } }`, { s: "a".repeat(201) }, tenant.token);
    expectRejected(result, "BAD_USER_INPUT", "search");
  });
});

describe("values that break a field's rules", () => {
  const contactWith = (extra: Record<string, unknown>) => () => ({ input: { firstName: "Anna", ...extra } });
  const contactVariants = (field: string, values: unknown[]): Case[] =>
    values.map((value) => ({
      name: `${field} ${JSON.stringify(value)}`,
      query: Q.createContact,
      variables: contactWith({ [field]: value }),
      code: "BAD_USER_INPUT",
      field: `input.${field}`,
    }));
  runVariants("invalid emails", [
    ...contactVariants("email", ["not-an-email", "anna@", "@example.com", "anna @example.com", "anna@@example.com"]),
    { name: "on update", query: Q.updateContact, variables: (f) => ({ id: f.contact, input: { firstName: "Changed", email: "nope" } }), code: "BAD_USER_INPUT", field: "input.email" },
  ]);
  runVariants("invalid phones", [
    ...contactVariants("phone", ["abc", "12345", "phone +48 111 222 333", "+48 111 222 333 444 555 666 777 888", "++48111222333"]),
    { name: "on update", query: Q.updateContact, variables: (f) => ({ id: f.contact, input: { phone: "call me" } }), code: "BAD_USER_INPUT", field: "input.phone" },
  ]);
  runVariants("invalid language tags", [
    ...contactVariants("language", ["english", "EN", "en_US", "en-us", "e", "eng"]),
    { name: "customerLanguage \"English\"", query: Q.createConversation, variables: () => ({ input: { channelType: "SMS", customerIdentifier: "+48999", customerLanguage: "English" } }), code: "BAD_USER_INPUT", field: "input.customerLanguage" },
    { name: "customerLanguage \"EN\" on update", query: Q.updateConversation, variables: (f) => ({ id: f.conversation, input: { status: "CLOSED", customerLanguage: "EN" } }), code: "BAD_USER_INPUT", field: "input.customerLanguage" },
  ]);
  runVariants("customFields that are not a JSON object", contactVariants("customFields", [[1, 2], "text", 42, true]));
  runCases([
    { name: "customFields over 16 KB", query: Q.createContact, variables: contactWith({ customFields: { blob: "x".repeat(17_000) } }), code: "BAD_USER_INPUT", field: "input.customFields" },
    // 9,000 two-byte characters: 18 KB of JSON in 9,000 characters.
    { name: "customFields over 16 KB in multi-byte characters", query: Q.createContact, variables: contactWith({ customFields: { blob: "ż".repeat(9_000) } }), code: "BAD_USER_INPUT", field: "input.customFields" },
    { name: "non-object customFields on update", query: Q.updateContact, variables: (f) => ({ id: f.contact, input: { firstName: "Changed", customFields: ["a"] } }), code: "BAD_USER_INPUT", field: "input.customFields" },
    { name: "non-object inputValues", query: Q.createConversation, variables: () => ({ input: { channelType: "SMS", customerIdentifier: "+48999", inputValues: [] } }), code: "BAD_USER_INPUT", field: "input.inputValues" },
    { name: "non-object extractedValues", query: Q.updateConversation, variables: (f) => ({ id: f.conversation, input: { status: "CLOSED", extractedValues: "done" } }), code: "BAD_USER_INPUT", field: "input.extractedValues" },
    { name: "non-object lead fields", query: Q.createLead, variables: () => ({ input: { fields: ["name"] } }), code: "BAD_USER_INPUT", field: "input.fields" },
    { name: "a contact with nothing to identify it", query: Q.createContact, variables: () => ({ input: { language: "en", tags: ["x"] } }), code: "BAD_USER_INPUT", field: "input" },
    { name: "a lead score of 101", query: Q.createLead, variables: () => ({ input: { score: 101 } }), code: "BAD_USER_INPUT", field: "input.score" },
    { name: "a negative lead score", query: Q.createLead, variables: () => ({ input: { score: -1 } }), code: "BAD_USER_INPUT", field: "input.score" },
    { name: "a tag colour that is not #rrggbb", query: Q.createTag, variables: () => ({ name: "red", color: "red" }), code: "BAD_USER_INPUT", field: "color" },
    { name: "a conversation on a channel of another type", query: Q.createConversation, variables: (f) => ({ input: { channelType: "SMS", channelId: f.channel, customerIdentifier: "+48999" } }), code: "BAD_USER_INPUT", field: "input.channelId" },
    { name: "a token with no scopes", query: Q.createApiToken, variables: () => ({ input: { name: "x", format: "CONVO", scopes: [] } }), code: "BAD_USER_INPUT", field: "input.scopes" },
    { name: "a VELENTS_AGENT token without an agent", query: Q.createApiToken, variables: () => ({ input: { name: "x", format: "VELENTS_AGENT", scopes: ["CONVERSATIONS_READ"] } }), code: "BAD_USER_INPUT", field: "input.agentId" },
    { name: "ASSIGN without an operator", query: Q.bulk, variables: (f) => ({ input: { action: "ASSIGN", ids: [f.conversation] } }), code: "BAD_USER_INPUT", field: "input.operator" },
    { name: "TAG without tags", query: Q.bulk, variables: (f) => ({ input: { action: "TAG", ids: [f.conversation] } }), code: "BAD_USER_INPUT", field: "input.tagIds" },
    { name: "UNTAG with an empty tag list", query: Q.bulk, variables: (f) => ({ input: { action: "UNTAG", ids: [f.conversation], tagIds: [] } }), code: "BAD_USER_INPUT", field: "input.tagIds" },
    { name: "bulk with no ids", query: Q.bulk, variables: () => ({ input: { action: "CLOSE", ids: [] } }), code: "BAD_USER_INPUT", field: "input.ids" },
  ]);

  test("bad paging and nested arguments on queries", async () => {
    const f = await fixture();
    const t = f.tenant.token;
    expectRejected(await server.gql(`{ contacts(first: -1) { totalCount } }`, {}, t), "BAD_USER_INPUT");
    expectRejected(await server.gql(`{ contacts(after: "garbage") { totalCount edges { node { id } } } }`, {}, t), "BAD_USER_INPUT");
    expectRejected(await server.gql(`{ conversations { edges { node { lastMessages(count: 0) { id } } } } }`, {}, t), "BAD_USER_INPUT", "count");
    expectRejected(await server.gql(`{ conversations { edges { node { lastMessages(count: 51) { id } } } } }`, {}, t), "BAD_USER_INPUT", "count");
    const tooManyTags = Array.from({ length: 51 }, () => f.tag);
    expectRejected(await server.gql(`query($t: [ID!]) { conversations(tagIds: $t) { totalCount } }`, { t: tooManyTags }, t), "BAD_USER_INPUT", "tagIds");
  });
});

describe("bulkUpdateConversations id limit", () => {
  test("more than 200 ids is BAD_USER_INPUT on input.ids and changes nothing; exactly 200 is accepted", async () => {
    const f = await fixture();
    const t = f.tenant.token;
    const second = (await server.ok(t, `mutation { createConversation(input: { channelType: SMS, customerIdentifier: "+48222" }) { id } }`)).createConversation.id;
    const third = (await server.ok(t, `mutation { createConversation(input: { channelType: EMAIL, customerIdentifier: "x@example.com" }) { id } }`)).createConversation.id;
    const real = [f.conversation, second, third];
    const filler = (n: number) => Array.from({ length: n }, () => unknownId("conv"));

    const before = await snapshot(server, f.tenant.id);
    for (const ids of [[...real, ...filler(198)], [...real, ...filler(997)]]) {
      const tooMany = await server.gql(Q.bulk, { input: { action: "CLOSE", ids } }, t);
      expectRejected(tooMany, "BAD_USER_INPUT", "input.ids");
      expect(await snapshot(server, f.tenant.id)).toEqual(before);
    }

    const exactly200 = await server.gql(Q.bulk, { input: { action: "CLOSE", ids: [...real, ...filler(197)] } }, t);
    expect(exactly200.errors).toBeUndefined();
    expect(exactly200.data?.bulkUpdateConversations).toEqual({ updated: 3, skipped: 197 });
    const closed = await server.ok(t, `{ conversations(status: CLOSED) { totalCount } }`);
    expect(closed.conversations.totalCount).toBe(3);
  });
});

describe("malformed ids", () => {
  const uuid = "3c90c3cc-0d44-4b50-8888-8dd25736052a";
  runVariants(
    "ids that are not <prefix>_<uuid>",
    ["nope", "", "con_", "con_1234", `xyz_${uuid}`, uuid, `con_${uuid.toUpperCase()}`, `con_${uuid}_extra`].map((id) => ({
      name: `updateContact(id: "${id}")`,
      query: Q.updateContact,
      variables: () => ({ id, input: { firstName: "Changed" } }),
      code: "BAD_USER_INPUT",
    })),
  );
  runCases([
    { name: "a contact id as addMessage's conversationId", query: Q.addMessage, variables: (f) => ({ input: { conversationId: f.contact, role: "USER", content: "x" } }), code: "BAD_USER_INPUT" },
    { name: "a contact id as sendOperatorMessage's conversationId", query: Q.sendOperatorMessage, variables: (f) => ({ id: f.contact, content: "x" }), code: "BAD_USER_INPUT" },
    { name: "a lead id to updateConversation", query: Q.updateConversation, variables: (f) => ({ id: f.lead, input: { status: "CLOSED" } }), code: "BAD_USER_INPUT" },
    { name: "a message id to updateConversation", query: Q.updateConversation, variables: (f) => ({ id: f.message, input: { status: "CLOSED" } }), code: "BAD_USER_INPUT" },
    { name: "a conversation id as a booking's contactId", query: Q.createBooking, variables: (f) => ({ input: { ...booking(f).input, contactId: f.conversation } }), code: "BAD_USER_INPUT" },
    { name: "a contact id as a lead's conversationId", query: Q.createLead, variables: (f) => ({ input: { contactId: f.contact, conversationId: f.contact } }), code: "BAD_USER_INPUT" },
    { name: "a channel id as a conversation's agentId", query: Q.createConversation, variables: (f) => ({ input: { channelType: "SMS", customerIdentifier: "+48999", agentId: f.channel } }), code: "BAD_USER_INPUT" },
    { name: "a booking id to deleteContact", query: Q.deleteContact, variables: (f) => ({ id: f.booking }), code: "BAD_USER_INPUT" },
    { name: "a contact id to cancelBooking", query: Q.cancelBooking, variables: (f) => ({ id: f.contact }), code: "BAD_USER_INPUT" },
    { name: "a contact id to revokeApiToken", query: Q.revokeApiToken, variables: (f) => ({ id: f.contact }), code: "BAD_USER_INPUT" },
    { name: "a tag id to updateLeadStatus", query: Q.updateLeadStatus, variables: (f) => ({ id: f.tag, status: "WON" }), code: "BAD_USER_INPUT" },
    // All or nothing: one bad id among good ones and no conversation changes.
    { name: "bulk CLOSE with one malformed id", query: Q.bulk, variables: (f) => ({ input: { action: "CLOSE", ids: [f.conversation, "nope"] } }), code: "BAD_USER_INPUT" },
    { name: "bulk CLOSE with a contact id among conversation ids", query: Q.bulk, variables: (f) => ({ input: { action: "CLOSE", ids: [f.conversation, f.contact] } }), code: "BAD_USER_INPUT" },
    { name: "bulk UNTAG with a conversation id as a tag id", query: Q.bulk, variables: (f) => ({ input: { action: "UNTAG", ids: [f.conversation], tagIds: [f.conversation] } }), code: "BAD_USER_INPUT" },
  ]);

  // The API names the offending field for every other validation error (errors.ts: `field`
  // is the argument path of the offending value); a bad id should be no different.
  runVariants("a malformed or wrong-type id names the argument it was given in", [
    { name: "updateContact(id: \"nope\")", query: Q.updateContact, variables: () => ({ id: "nope", input: { firstName: "x" } }), code: "BAD_USER_INPUT", field: "id" },
    { name: "sendOperatorMessage(conversationId: <contact id>)", query: Q.sendOperatorMessage, variables: (f) => ({ id: f.contact, content: "x" }), code: "BAD_USER_INPUT", field: "conversationId" },
    { name: "addMessage(input.conversationId: \"nope\")", query: Q.addMessage, variables: () => ({ input: { conversationId: "nope", role: "USER", content: "x" } }), code: "BAD_USER_INPUT", field: "input.conversationId" },
    { name: "createBooking(input.contactId: <conversation id>)", query: Q.createBooking, variables: (f) => ({ input: { ...booking(f).input, contactId: f.conversation } }), code: "BAD_USER_INPUT", field: "input.contactId" },
    { name: "bulkUpdateConversations(input.ids: [<conversation>, \"nope\"])", query: Q.bulk, variables: (f) => ({ input: { action: "CLOSE", ids: [f.conversation, "nope"] } }), code: "BAD_USER_INPUT", field: ["input.ids", "input.ids.1"] },
  ]);

  test("malformed and wrong-type ids in queries", async () => {
    const f = await fixture();
    const t = f.tenant.token;
    for (const id of ["nope", "", `con_${"x".repeat(36)}`]) {
      expectRejected(await server.gql(`query($id: ID!) { node(id: $id) { id } }`, { id }, t), "BAD_USER_INPUT");
    }
    expectRejected(await server.gql(`query($a: ID) { conversations(agentId: $a) { totalCount } }`, { a: f.channel }, t), "BAD_USER_INPUT");
    expectRejected(await server.gql(`query($c: ID) { bookings(contactId: $c) { totalCount } }`, { c: "nope" }, t), "BAD_USER_INPUT");
    expectRejected(await server.gql(`query($t: [ID!]) { conversations(tagIds: $t) { totalCount } }`, { t: [f.tag, f.contact] }, t), "BAD_USER_INPUT");
  });
});

describe("ids that are well formed but name nothing of this tenant", () => {
  /** Each case gets the id to use: an unknown one, or another tenant's real one. */
  type Pick = (other: Fixture, prefix: string, key: "contact" | "lead" | "conversation" | "booking" | "apiToken" | "agent" | "channel" | "tag") => string;
  const cases = (id: Pick): Case[] => [
    { name: "updateContact", query: Q.updateContact, variables: (f, other) => ({ id: id(other, "con", "contact"), input: { firstName: "Changed" } }), code: "NOT_FOUND" },
    { name: "deleteContact", query: Q.deleteContact, variables: (f, other) => ({ id: id(other, "con", "contact") }), code: "NOT_FOUND" },
    { name: "updateLeadStatus", query: Q.updateLeadStatus, variables: (f, other) => ({ id: id(other, "lead", "lead"), status: "WON" }), code: "NOT_FOUND" },
    { name: "updateConversation", query: Q.updateConversation, variables: (f, other) => ({ id: id(other, "conv", "conversation"), input: { status: "CLOSED" } }), code: "NOT_FOUND" },
    { name: "addMessage", query: Q.addMessage, variables: (f, other) => ({ input: { conversationId: id(other, "conv", "conversation"), role: "USER", content: "x" } }), code: "NOT_FOUND" },
    { name: "sendOperatorMessage", query: Q.sendOperatorMessage, variables: (f, other) => ({ id: id(other, "conv", "conversation"), content: "x" }), code: "NOT_FOUND" },
    { name: "updateBooking", query: Q.updateBooking, variables: (f, other) => ({ id: id(other, "bkg", "booking"), input: { service: "Changed" } }), code: "NOT_FOUND" },
    { name: "cancelBooking", query: Q.cancelBooking, variables: (f, other) => ({ id: id(other, "bkg", "booking") }), code: "NOT_FOUND" },
    { name: "revokeApiToken", query: Q.revokeApiToken, variables: (f, other) => ({ id: id(other, "tok", "apiToken") }), code: "NOT_FOUND" },
    { name: "createBooking contactId", query: Q.createBooking, variables: (f, other) => ({ input: { ...booking(f).input, contactId: id(other, "con", "contact") } }), code: "NOT_FOUND", field: "input.contactId" },
    { name: "createLead contactId", query: Q.createLead, variables: (f, other) => ({ input: { contactId: id(other, "con", "contact") } }), code: "NOT_FOUND", field: "input.contactId" },
    { name: "createLead conversationId", query: Q.createLead, variables: (f, other) => ({ input: { contactId: f.contact, conversationId: id(other, "conv", "conversation") } }), code: "NOT_FOUND", field: "input.conversationId" },
    { name: "createConversation agentId", query: Q.createConversation, variables: (f, other) => ({ input: { channelType: "SMS", customerIdentifier: "+48999", agentId: id(other, "agt", "agent") } }), code: "NOT_FOUND", field: "input.agentId" },
    { name: "createConversation contactId", query: Q.createConversation, variables: (f, other) => ({ input: { channelType: "SMS", customerIdentifier: "+48999", contactId: id(other, "con", "contact") } }), code: "NOT_FOUND", field: "input.contactId" },
    { name: "createConversation channelId", query: Q.createConversation, variables: (f, other) => ({ input: { channelType: "WHATSAPP", customerIdentifier: "+48999", channelId: id(other, "chn", "channel") } }), code: "NOT_FOUND", field: "input.channelId" },
    { name: "updateConversation agentId", query: Q.updateConversation, variables: (f, other) => ({ id: f.conversation, input: { status: "CLOSED", agentId: id(other, "agt", "agent") } }), code: "NOT_FOUND", field: "input.agentId" },
    { name: "updateConversation contactId", query: Q.updateConversation, variables: (f, other) => ({ id: f.conversation, input: { status: "CLOSED", contactId: id(other, "con", "contact") } }), code: "NOT_FOUND", field: "input.contactId" },
    { name: "createChannel agentId", query: Q.createChannel, variables: (f, other) => ({ input: { type: "SMS", name: "SMS", agentId: id(other, "agt", "agent") } }), code: "NOT_FOUND", field: "input.agentId" },
    { name: "createApiToken agentId", query: Q.createApiToken, variables: (f, other) => ({ input: { name: "agent token", format: "VELENTS_AGENT", scopes: ["CONVERSATIONS_READ"], agentId: id(other, "agt", "agent") } }), code: "NOT_FOUND", field: "input.agentId" },
    { name: "bulk TAG tagIds", query: Q.bulk, variables: (f, other) => ({ input: { action: "TAG", ids: [f.conversation], tagIds: [id(other, "tag", "tag")] } }), code: "NOT_FOUND", field: "input.tagIds" },
    { name: "bulk UNTAG with a known and an unknown tag", query: Q.bulk, variables: (f, other) => ({ input: { action: "UNTAG", ids: [f.conversation], tagIds: [f.tag, id(other, "tag", "tag")] } }), code: "NOT_FOUND", field: "input.tagIds" },
  ];

  // Each case twice, on the same tenants: with an unknown id, then with the other tenant's
  // real one. Neither tenant's rows may change.
  const unknown = cases((_other, prefix) => unknownId(prefix));
  const theirs = cases((other, _prefix, key) => other[key]);
  test.each(unknown.map((c, i) => [c.name, c, theirs[i]!] as const))("%s", async (_name, unknownCase, theirCase) => {
    const f = await fixture();
    const other = await fixture("Other tenant");
    await check({ ...unknownCase, name: `${unknownCase.name} (unknown id)` }, f, other);
    await check({ ...theirCase, name: `${theirCase.name} (another tenant's id)` }, f, other);
  });

  test("node() of an unknown id or another tenant's is null, at most with NOT_FOUND", async () => {
    const f = await fixture();
    const theirs = await fixture("Other tenant");
    for (const id of [unknownId("con"), unknownId("conv"), unknownId("ten"), theirs.contact, theirs.conversation, theirs.apiToken, `ten_${theirs.tenant.id}`]) {
      const result = await server.gql(`query($id: ID!) { node(id: $id) { id } }`, { id }, f.tenant.token);
      expect(result.status).toBe(200);
      expect(result.data?.node ?? null, id).toBeNull();
      for (const error of result.errors ?? []) expect(error.extensions?.code, id).toBe("NOT_FOUND");
    }
  });
});

describe("times", () => {
  runCases([
    { name: "endsAt before startsAt", query: Q.createBooking, variables: (f) => booking(f, { startsAt: "2030-02-01T10:00:00Z", endsAt: "2030-02-01T09:59:59Z" }), code: "BAD_USER_INPUT", field: "input.endsAt" },
    { name: "endsAt equal to startsAt", query: Q.createBooking, variables: (f) => booking(f, { startsAt: "2030-02-01T10:00:00Z", endsAt: "2030-02-01T12:00:00+02:00" }), code: "BAD_USER_INPUT", field: "input.endsAt" },
    { name: "updateBooking endsAt before the stored startsAt", query: Q.updateBooking, variables: (f) => ({ id: f.booking, input: { service: "Changed", endsAt: "2030-01-01T09:00:00Z" } }), code: "BAD_USER_INPUT", field: "input.endsAt" },
    { name: "updateBooking startsAt after the stored endsAt", query: Q.updateBooking, variables: (f) => ({ id: f.booking, input: { service: "Changed", startsAt: "2030-01-01T12:00:00Z" } }), code: "BAD_USER_INPUT", field: ["input.startsAt", "input.endsAt"] },
    { name: "expiresAt in the past", query: Q.createApiToken, variables: () => ({ input: { name: "old", format: "CONVO", scopes: ["CONTACTS_READ"], expiresAt: "2020-01-01T00:00:00Z" } }), code: "BAD_USER_INPUT", field: "input.expiresAt" },
    { name: "expiresAt a second ago", query: Q.createApiToken, variables: () => ({ input: { name: "old", format: "CONVO", scopes: ["CONTACTS_READ"], expiresAt: new Date(Date.now() - 1000).toISOString() } }), code: "BAD_USER_INPUT", field: "input.expiresAt" },
    // Dates that do not exist on the calendar, or that the database cannot store.
    { name: "February 30th", query: Q.createBooking, variables: (f) => booking(f, { startsAt: "2030-02-30T10:00:00Z", endsAt: "2030-02-30T11:00:00Z" }), code: "BAD_USER_INPUT" },
    { name: "April 31st on update", query: Q.updateBooking, variables: (f) => ({ id: f.booking, input: { endsAt: "2030-04-31T11:00:00Z" } }), code: "BAD_USER_INPUT" },
    { name: "month 13", query: Q.createBooking, variables: (f) => booking(f, { startsAt: "2030-13-01T10:00:00Z", endsAt: "2030-13-01T11:00:00Z" }), code: "BAD_USER_INPUT" },
    { name: "year 0000", query: Q.createBooking, variables: (f) => booking(f, { startsAt: "0000-01-01T10:00:00Z", endsAt: "0000-01-01T11:00:00Z" }), code: "BAD_USER_INPUT" },
    { name: "past year 9999 in UTC", query: Q.createBooking, variables: (f) => booking(f, { startsAt: "9999-12-31T10:00:00Z", endsAt: "9999-12-31T23:00:00-12:00" }), code: "BAD_USER_INPUT" },
    { name: "expiresAt past year 9999 in UTC", query: Q.createApiToken, variables: () => ({ input: { name: "forever", format: "CONVO", scopes: ["CONTACTS_READ"], expiresAt: "9999-12-31T23:00:00-12:00" } }), code: "BAD_USER_INPUT" },
  ]);

  test("a time past year 9999 cannot break the tenant's bookings list afterwards", async () => {
    const f = await fixture();
    await server.gql(Q.createBooking, booking(f, { startsAt: "9999-12-31T10:00:00Z", endsAt: "9999-12-31T23:00:00-12:00" }), f.tenant.token);
    const list = await server.gql(`{ bookings { totalCount edges { node { id startsAt endsAt } } } }`, {}, f.tenant.token);
    expect(list.errors, JSON.stringify(list.errors)).toBeUndefined();
    expect(list.data?.bookings.totalCount).toBe(1);
  });

  test("a date filter the database cannot hold", async () => {
    const tenant = await server.createTenant("Date filter");
    for (const from of ["0000-01-01T00:00:00Z", "9999-12-31T23:00:00-12:00", "2030-02-30T00:00:00Z"]) {
      expectRejected(await server.gql(`query($from: DateTime) { bookings(from: $from) { totalCount } }`, { from }, tenant.token), "BAD_USER_INPUT", undefined, from);
    }
  });
});

describe("limits", () => {
  const deepQuery = `{ conversations(first: 1) { edges { node { messages(first: 1) { edges { node { conversation { messages(first: 1) { edges { node { conversation { messages(first: 1) { edges { node { id } } } } } } } } } } } } } } }`;

  test("a query deeper than the depth limit gets QUERY_TOO_COMPLEX", async () => {
    const f = await fixture();
    const result = await server.gql(deepQuery, {}, f.tenant.token);
    expectRejected(result, "QUERY_TOO_COMPLEX");
    // Ten levels is allowed.
    const allowed = await server.gql(
      `{ conversations(first: 1) { edges { node { messages(first: 1) { edges { node { conversation { contact { id } } } } } } } } }`,
      {},
      f.tenant.token,
    );
    expect(allowed.errors).toBeUndefined();
  });

  test("a mutation whose selection is too deep writes nothing, not even its earlier fields", async () => {
    const f = await fixture();
    const before = await snapshot(server, f.tenant.id);
    const result = await server.gql(
      `mutation {
        createTag(name: "first") { id }
        createConversation(input: { channelType: SMS, customerIdentifier: "deep" }) {
          messages { edges { node { conversation { messages { edges { node { conversation { messages { edges { node { id } } } } } } } } } } }
        }
      }`,
      {},
      f.tenant.token,
    );
    expectRejected(result, "QUERY_TOO_COMPLEX");
    expect(await snapshot(server, f.tenant.id)).toEqual(before);
  });

  const padded = (size: number) =>
    JSON.stringify({
      query: `mutation($input: ContactInput!) { createContact(input: $input) { id } }`,
      variables: { input: { firstName: "Padded" }, padding: "x".repeat(size) },
    });

  test("a request body over 1 MB gets HTTP 413 and writes nothing", async () => {
    const f = await fixture();
    const before = await snapshot(server, f.tenant.id);
    const body = padded(1_100_000);
    const response = await fetch(server.url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json", authorization: `Bearer ${f.tenant.token}` },
      body,
    });
    expect(response.status).toBe(413);
    const json = (await response.json()) as GraphQLResponse;
    expect(json.errors?.[0]?.extensions?.code).toBe("PAYLOAD_TOO_LARGE");
    expect(await snapshot(server, f.tenant.id)).toEqual(before);
    // The server is fine afterwards.
    expect((await server.ok(f.tenant.token, `{ viewer { tenant { name } } }`)).viewer.tenant.name).toBe("Bad input");
  });

  test("a request body over 1 MB sent without Content-Length (chunked) also gets HTTP 413 and writes nothing", async () => {
    const f = await fixture();
    const before = await snapshot(server, f.tenant.id);
    const bytes = new TextEncoder().encode(padded(1_100_000));
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let offset = 0; offset < bytes.length; offset += 64 * 1024) controller.enqueue(bytes.subarray(offset, offset + 64 * 1024));
        controller.close();
      },
    });
    const response = await fetch(server.url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json", authorization: `Bearer ${f.tenant.token}` },
      body: stream,
      duplex: "half",
    } as RequestInit);
    const text = await response.text();
    expect(response.status, text.slice(0, 300)).toBe(413);
    expect(await snapshot(server, f.tenant.id)).toEqual(before);
  });

  test("a body just under 1 MB is accepted", async () => {
    const f = await fixture();
    const response = await fetch(server.url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json", authorization: `Bearer ${f.tenant.token}` },
      body: padded(900_000),
    });
    expect(response.status).toBe(200);
    const json = (await response.json()) as GraphQLResponse;
    expect(json.errors).toBeUndefined();
    expect(json.data?.createContact.id).toMatch(/^con_/);
  });
});
