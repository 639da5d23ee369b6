// The Vorel REST dialect (src/rest/dialects/vorel.ts) on a real server: the documented
// example requests, every rule of POST /api/v1/conversations, leads that require an existing
// conversation, Vorel's error envelope, and every success checked against the served OpenAPI.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { toCanonicalScopes } from "../src/auth/scopes.js";
import { snapshot } from "./fixtures.js";
import type { TestServer, TestTenant } from "./harness.js";
import { restRequest, startRestTestServer, type OpenApiDocument, type OpenApiOracle, type Reply } from "./openapi-oracle.js";

let server: TestServer;
let origin: string;
let oracle: OpenApiOracle;
let openApi: OpenApiDocument;

beforeAll(async () => {
  ({ server, origin, oracle } = await startRestTestServer(["vorel"]));
  openApi = oracle.documents.get("vorel")!;
});
afterAll(() => server?.close());

const call = (method: string, path: string, token: string | null, body?: unknown) => restRequest(origin, method, path, token, body);

/** Checks a reply against the served OpenAPI document: its route's success schema, or the Error schema. */
const expectDocumented = (method: string, path: string, reply: Reply) => oracle.expectDocumented("vorel", method, path, reply.status, reply.body);

const post = (path: string, token: string | null, body?: unknown) => call("POST", `/api/v1${path}`, token, body);

/** Vorel's documented example request, with real values. */
const example = (overrides: Record<string, unknown> = {}) => ({
  channel: "whatsapp",
  customer_identifier: `+9715${randomBytes(4).readUInt32BE() % 100_000_000}`,
  customer_name: "Amira Haddad",
  customer_language: "ar",
  ...overrides,
});

const vorelRead = toCanonicalScopes("VOREL", ["read"]);

let tenant: TestTenant;
let writer: string;
beforeAll(async () => {
  tenant = await server.createTenant("Vorel");
  writer = await tenant.tokenWith([...toCanonicalScopes("VOREL", ["read", "leads:write"]), "conversations:write"], "VOREL");
});

/** A conversation created over Vorel, for the lead tests. */
async function createConversation(token = writer, overrides: Record<string, unknown> = {}) {
  const reply = await post("/conversations", token, example(overrides));
  expect(reply.status, JSON.stringify(reply.body)).toBe(201);
  return reply.body;
}

describe("OpenAPI document", () => {
  test("serves its routes under /api/v1 with the error envelope", () => {
    expect(openApi.openapi).toBe("3.1.0");
    expect(openApi.servers).toEqual([{ url: "/api/v1" }]);
    expect(Object.keys(openApi.paths).sort()).toEqual([
      "/appointments",
      "/appointments/{id}",
      "/conversations",
      "/conversations/{id}",
      "/conversations/{id}/send",
      "/leads",
      "/leads/{id}",
      "/leads/{id}/handoff",
      "/offerings",
      "/offerings/{id}",
    ]);
    expect(openApi.paths["/conversations"]!.post.responses["201"]).toBeDefined();
    expect(openApi.paths["/leads"]!.post.security).toEqual([{ bearerAuth: ["leads:write"] }]);
    expect(openApi.paths["/offerings"]!.post.security).toEqual([{ bearerAuth: ["offerings:write"] }]);
    expect(openApi.components.schemas.Error.required).toEqual(["error"]);
  });
});

describe("POST /api/v1/conversations", () => {
  test("the documented example answers 201 with exactly the documented fields", async () => {
    const body = example();
    const reply = await post("/conversations", writer, body);
    expect(reply.status, JSON.stringify(reply.body)).toBe(201);
    expectDocumented("POST", "/conversations", reply);
    expect(Object.keys(reply.body).sort()).toEqual(
      [
        "id",
        "channel",
        "customer_identifier",
        "status",
        "created_at",
        "customer_name",
        "customer_language",
        "first_message_at",
        "last_message_at",
      ].sort(),
    );
    expect(reply.body).toMatchObject({
      channel: "whatsapp",
      customer_identifier: body.customer_identifier,
      status: "active",
      customer_name: "Amira Haddad",
      customer_language: "ar",
      first_message_at: null,
      last_message_at: null,
    });
    expect(reply.body.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(Date.now() - Date.parse(reply.body.created_at)).toBeLessThan(60_000);
  });

  test("every documented channel, and the optional fields omitted or null", async () => {
    for (const channel of ["whatsapp", "voice", "webform", "instagram", "email"]) {
      const reply = await post("/conversations", writer, { channel, customer_identifier: `id-${randomBytes(4).toString("hex")}` });
      expect(reply.status, JSON.stringify(reply.body)).toBe(201);
      expectDocumented("POST", "/conversations", reply);
      expect(reply.body).toMatchObject({ channel, status: "active", customer_name: null, customer_language: null });
    }
    const nulls = await post("/conversations", writer, example({ customer_name: null, customer_language: null }));
    expect(nulls.status).toBe(201);
    expectDocumented("POST", "/conversations", nulls);
    expect(nulls.body).toMatchObject({ customer_name: null, customer_language: null });
  });

  test("the limits themselves are accepted", async () => {
    for (const overrides of [
      { customer_identifier: "x".repeat(255) },
      { customer_identifier: "1" },
      { customer_name: "n".repeat(200) },
      { customer_language: "en" },
      { customer_language: "en-US" },
    ]) {
      const reply = await post("/conversations", writer, example(overrides));
      expect(reply.status, JSON.stringify({ overrides, body: reply.body })).toBe(201);
      expectDocumented("POST", "/conversations", reply);
    }
  });

  const invalid: [string, Record<string, unknown>, string][] = [
    ["an undocumented channel", { channel: "telegram" }, "channel"],
    ["a channel in another case", { channel: "WhatsApp" }, "channel"],
    ["a GraphQL enum name", { channel: "WHATSAPP" }, "channel"],
    ["a GraphQL-only channel", { channel: "TELEGRAM" }, "channel"],
    ["a channel that is not a string", { channel: 5 }, "channel"],
    ["a null channel", { channel: null }, "channel"],
    ["no channel", { channel: undefined }, "channel"],
    ["an empty customer_identifier", { customer_identifier: "" }, "customer_identifier"],
    ["a blank customer_identifier", { customer_identifier: "   " }, "customer_identifier"],
    ["a 256-character customer_identifier", { customer_identifier: "x".repeat(256) }, "customer_identifier"],
    ["no customer_identifier", { customer_identifier: undefined }, "customer_identifier"],
    ["a customer_identifier that is not a string", { customer_identifier: 971500000001 }, "customer_identifier"],
    ["a 201-character customer_name", { customer_name: "n".repeat(201) }, "customer_name"],
    ["a language name", { customer_language: "english" }, "customer_language"],
    ["an upper-case language", { customer_language: "EN" }, "customer_language"],
    ["a lower-case region", { customer_language: "en-us" }, "customer_language"],
  ];
  test.each(invalid)("%s answers 422 naming the field", async (_label, overrides, field) => {
    const before = await snapshot(server, tenant.id);
    const reply = await post("/conversations", writer, example(overrides));
    expect(reply.status, JSON.stringify(reply.body)).toBe(422);
    expectDocumented("POST", "/conversations", reply);
    expect(reply.body.error.code).toBe("validation_error");
    expect(Object.keys(reply.body.error.fields)).toEqual([field]);
    expect(reply.body.error.message).toMatch(new RegExp(`^${field}: `));
    // Nothing of GraphQL's vocabulary reaches a Vorel caller.
    expect(JSON.stringify(reply.body)).not.toMatch(/Variable|\$|ChannelType|customerIdentifier|customerName|customerLanguage|WHATSAPP|TELEGRAM/);
    expect(await snapshot(server, tenant.id)).toEqual(before);
  });

  test("messages say what is wrong in Vorel's terms", async () => {
    const channel = await post("/conversations", writer, example({ channel: "telegram" }));
    expect(channel.body.error.fields.channel).toEqual(["must be one of: whatsapp, voice, webform, instagram, email"]);
    const missing = await post("/conversations", writer, { channel: "voice" });
    expect(missing.body.error).toEqual({
      code: "validation_error",
      message: "customer_identifier: is required",
      fields: { customer_identifier: ["is required"] },
    });
  });

  test("409 for an existing channel + customer_identifier pair; another channel with the same identifier is a new conversation", async () => {
    const body = example({ channel: "voice" });
    const first = await post("/conversations", writer, body);
    expect(first.status).toBe(201);
    const before = await snapshot(server, tenant.id);
    const again = await post("/conversations", writer, { ...body, customer_name: "Someone else" });
    expect(again.status).toBe(409);
    expectDocumented("POST", "/conversations", again);
    expect(again.body).toEqual({ error: { code: "conflict", message: expect.stringContaining("already exists") } });
    expect(await snapshot(server, tenant.id)).toEqual(before);

    const other = await post("/conversations", writer, { ...body, channel: "whatsapp" });
    expect(other.status).toBe(201);
    expect(other.body.id).not.toBe(first.body.id);
    expect(other.body).toMatchObject({ channel: "whatsapp", customer_identifier: body.customer_identifier });
  });

  test("the same pair in another tenant is no conflict", async () => {
    const body = example();
    expect((await post("/conversations", writer, body)).status).toBe(201);
    const other = await server.createTenant("Other");
    const reply = await post("/conversations", await other.tokenWith(["conversations:write"], "VOREL"), body);
    expect(reply.status).toBe(201);
  });
});

describe("POST /api/v1/leads", () => {
  test("creates a lead on an existing conversation: 201 with Vorel's lead object", async () => {
    const conversation = await createConversation();
    const reply = await post("/leads", writer, {
      conversation_id: conversation.id,
      status: "qualified",
      name: "Amira Haddad",
      email: "amira@example.com",
      phone: "+971500000001",
      intent: "buy",
      timeline: "3 months",
      attributes: { bedrooms: 2, budget_min: 900000 },
      source: "webform",
      qualification_score: 80,
    });
    expect(reply.status, JSON.stringify(reply.body)).toBe(201);
    expectDocumented("POST", "/leads", reply);
    expect(reply.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      conversation_id: conversation.id,
      attributes: { bedrooms: 2, budget_min: 900000 },
      status: "qualified",
      name: "Amira Haddad",
      email: "amira@example.com",
      phone: "+971500000001",
      intent: "buy",
      timeline: "3 months",
      qualification_score: 80,
      source: "webform",
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
    const row = await server.db.prisma.lead.findUniqueOrThrow({ where: { id: reply.body.id } });
    expect(row).toMatchObject({ tenantId: tenant.id, conversationId: conversation.id, score: 80, source: "webform", status: "QUALIFIED" });
    // One model: the named fields and the attributes are the lead's captured fields, as Convo and GraphQL see them.
    expect(row.fields).toEqual({ name: "Amira Haddad", email: "amira@example.com", phone: "+971500000001", intent: "buy", timeline: "3 months", bedrooms: 2, budget_min: 900000 });
  });

  test("conversation_id alone is enough", async () => {
    const conversation = await createConversation();
    const reply = await post("/leads", writer, { conversation_id: conversation.id });
    expect(reply.status, JSON.stringify(reply.body)).toBe(201);
    expectDocumented("POST", "/leads", reply);
    expect(reply.body).toMatchObject({ status: "new", name: null, email: null, phone: null, attributes: {}, source: null, qualification_score: null });
  });

  test("strict: a second lead for the same conversation is a 409, nothing written", async () => {
    const conversation = await createConversation();
    expect((await post("/leads", writer, { conversation_id: conversation.id })).status).toBe(201);
    const before = await snapshot(server, tenant.id);
    const again = await post("/leads", writer, { conversation_id: conversation.id, name: "Again" });
    expect(again.status).toBe(409);
    expectDocumented("POST", "/leads", again);
    expect(again.body).toEqual({ error: { code: "conflict", message: "This conversation already has a lead" } });
    expect(await snapshot(server, tenant.id)).toEqual(before);
  });

  test("strict under a race: of concurrent creates for one conversation exactly one succeeds", async () => {
    const conversation = await createConversation();
    const replies = await Promise.all(Array.from({ length: 5 }, (_, i) => post("/leads", writer, { conversation_id: conversation.id, name: `Racer ${i}` })));
    expect(replies.map((reply) => reply.status).sort()).toEqual([201, 409, 409, 409, 409]);
    expect(await server.db.prisma.lead.count({ where: { conversationId: conversation.id } })).toBe(1);
  });

  test("without conversation_id, or with null: 422 naming conversation_id, nothing written", async () => {
    const before = await snapshot(server, tenant.id);
    for (const body of [{ name: "No conversation" }, { conversation_id: null, name: "Null conversation" }, {}]) {
      const reply = await post("/leads", writer, body);
      expect(reply.status, JSON.stringify(reply.body)).toBe(422);
      expectDocumented("POST", "/leads", reply);
      expect(Object.keys(reply.body.error.fields)).toEqual(["conversation_id"]);
      expect(reply.body.error.message).toMatch(/^conversation_id: /);
    }
    expect(await snapshot(server, tenant.id)).toEqual(before);
  });

  test("an unknown conversation_id and another tenant's answer the same 404; a malformed one 422", async () => {
    const other = await server.createTenant("Other");
    const foreign = await createConversation(await other.tokenWith(["conversations:write"], "VOREL"));
    const before = await snapshot(server, tenant.id);
    const otherBefore = await snapshot(server, other.id);

    const unknown = await post("/leads", writer, { conversation_id: "3c90c3cc-0d44-4b50-8888-8dd25736052a", name: "X" });
    const foreignReply = await post("/leads", writer, { conversation_id: foreign.id, name: "X" });
    expect(unknown.status).toBe(404);
    expectDocumented("POST", "/leads", unknown);
    expect(foreignReply.status).toBe(404);
    expect(foreignReply.body).toEqual(unknown.body);
    expect(unknown.body).toEqual({ error: { code: "not_found", message: "conversation_id: Conversation not found" } });

    const malformed = await post("/leads", writer, { conversation_id: "not-a-uuid" });
    expect(malformed.status).toBe(422);
    expect(malformed.body.error.fields).toEqual({ conversation_id: ["must be a valid id"] });

    expect(await snapshot(server, tenant.id)).toEqual(before);
    expect(await snapshot(server, other.id)).toEqual(otherBefore);
  });

  test("schema rules on the other fields: 422 naming them", async () => {
    const conversation = await createConversation();
    const before = await snapshot(server, tenant.id);
    for (const [body, field] of [
      [{ qualification_score: 101 }, "qualification_score"],
      [{ qualification_score: "high" }, "qualification_score"],
      [{ attributes: "not an object" }, "attributes"],
      [{ attributes: { name: "not here" } }, "attributes"],
      [{ source: "s".repeat(41) }, "source"],
      [{ name: "n".repeat(201) }, "name"],
      [{ phone: "1".repeat(33) }, "phone"],
      [{ email: "not-an-email" }, "email"],
      [{ intent: "i".repeat(41) }, "intent"],
      [{ timeline: "t".repeat(41) }, "timeline"],
      [{ status: "won" }, "status"],
    ] as const) {
      const reply = await post("/leads", writer, { conversation_id: conversation.id, ...body });
      expect(reply.status, JSON.stringify(reply.body)).toBe(422);
      expect(Object.keys(reply.body.error.fields)).toEqual([field]);
    }
    expect(await snapshot(server, tenant.id)).toEqual(before);
  });
});

describe("auth and errors", () => {
  test("401 without a token: Vorel's body on POST /conversations, which only Vorel serves", async () => {
    const reply = await post("/conversations", null, example());
    expect(reply.status).toBe(401);
    expect(reply.headers.get("www-authenticate")).toBe("Bearer");
    expect(reply.body.error.code).toBe("unauthenticated");
    expect(reply.body.error.message).toContain("vapk_live_");
  });

  test("401 for an unknown Vorel key: Vorel's body", async () => {
    const reply = await post("/conversations", `vapk_live_${randomBytes(24).toString("hex")}`, example());
    expect(reply.status).toBe(401);
    expectDocumented("POST", "/conversations", reply);
    expect(reply.body).toEqual({ error: { code: "unauthenticated", message: "The API token is invalid, revoked or expired" } });
  });

  test("403 for a read-only key names the missing scope in Vorel's name; nothing written", async () => {
    const reader = await tenant.tokenWith(vorelRead, "VOREL");
    const conversation = await createConversation();
    const before = await snapshot(server, tenant.id);
    const lead = await post("/leads", reader, { conversation_id: conversation.id, name: "X" });
    expect(lead.status).toBe(403);
    expectDocumented("POST", "/leads", lead);
    expect(lead.body).toEqual({ error: { code: "forbidden", message: "This token lacks the leads:write scope", scope: "leads:write" } });
    const created = await post("/conversations", reader, example());
    expect(created.status).toBe(403);
    expect(created.body.error).toMatchObject({ code: "forbidden", scope: "conversations:write" });
    expect(await snapshot(server, tenant.id)).toEqual(before);
  });

  test("a key with Vorel's leads:write (and nothing to create conversations) creates leads", async () => {
    const conversation = await createConversation();
    const leadsOnly = await tenant.tokenWith(toCanonicalScopes("VOREL", ["leads:write"]), "VOREL");
    const reply = await post("/leads", leadsOnly, { conversation_id: conversation.id });
    expect(reply.status, JSON.stringify(reply.body)).toBe(201);
    const refused = await post("/conversations", leadsOnly, example());
    expect(refused.body.error.scope).toBe("conversations:write");
  });

  test("400 for a body that is not JSON, or not an object", async () => {
    const before = await snapshot(server, tenant.id);
    for (const raw of ['{"channel": "whatsapp",', "[1, 2]", '"text"']) {
      const reply = await post("/conversations", writer, raw);
      expect(reply.status).toBe(400);
      expectDocumented("POST", "/conversations", reply);
      expect(reply.body.error.code).toBe("malformed_body");
    }
    expect(await snapshot(server, tenant.id)).toEqual(before);
  });

  test("404 for an unknown path, in Vorel's envelope", async () => {
    for (const path of ["/api/v1/nothing-here", "/api/v1/conversations/x/y/z", "/v1/conversations"]) {
      const reply = await call("POST", path, writer, example());
      expect(reply.status, path).toBe(404);
      expect(reply.body.error.code).toBe("not_found");
      expect(Object.keys(reply.body)).toEqual(["error"]);
    }
  });
});

describe("one store with GraphQL", () => {
  test("a conversation created over Vorel is in GraphQL's conversations", async () => {
    const created = await createConversation(writer, { channel: "webform", customer_identifier: `amira-${randomBytes(3).toString("hex")}@example.com` });
    const data = await server.ok(tenant, `{ conversations(first: 100) { edges { node { id channelType customerIdentifier customerName customerLanguage status } } } }`);
    const node = data.conversations.edges.map((edge: any) => edge.node).find((each: any) => each.id === `conv_${created.id}`);
    expect(node).toEqual({
      id: `conv_${created.id}`,
      channelType: "WEBFORM",
      customerIdentifier: created.customer_identifier,
      customerName: "Amira Haddad",
      customerLanguage: "ar",
      status: "OPEN",
    });
  });

  test("a conversation created in GraphQL is the one Vorel conflicts with and attaches leads to", async () => {
    const identifier = `+4811122${randomBytes(2).readUInt16BE()}`;
    const data = await server.ok(
      tenant,
      `mutation($input: CreateConversationInput!) { createConversation(input: $input) { id } }`,
      { input: { channelType: "INSTAGRAM", customerIdentifier: identifier } },
    );
    const id = data.createConversation.id.replace(/^conv_/, "");
    const conflict = await post("/conversations", writer, { channel: "instagram", customer_identifier: identifier });
    expect(conflict.status).toBe(409);
    const lead = await post("/leads", writer, { conversation_id: id, name: "From GraphQL" });
    expect(lead.status).toBe(201);
    expect(lead.body.conversation_id).toBe(id);
    const leads = await server.ok(tenant, `{ leads(first: 100) { edges { node { id conversationId fields } } } }`);
    expect(leads.leads.edges.map((edge: any) => edge.node)).toContainEqual({
      id: `lead_${lead.body.id}`,
      conversationId: `conv_${id}`,
      fields: { name: "From GraphQL" },
    });
  });
});

describe("conversations beyond create: list, get, PATCH, send", () => {
  let reader: string;
  let own: { id: string }[];
  beforeAll(async () => {
    const other = await server.createTenant("Vorel list");
    const otherWriter = await other.tokenWith(["conversations:write", "conversations:read"], "VOREL");
    // Three of this tenant's conversations, and one of another tenant created in between.
    own = [await createConversation(), await createConversation()];
    await createConversation(otherWriter);
    own.push(await createConversation());
    reader = await tenant.tokenWith(toCanonicalScopes("VOREL", ["read"]), "VOREL");
  });

  test("GET /conversations walks cursor pages, newest first, this tenant's only", async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const reply = await call("GET", `/api/v1/conversations?limit=2${cursor ? `&cursor=${cursor}` : ""}`, reader);
      expect(reply.status, JSON.stringify(reply.body)).toBe(200);
      expectDocumented("GET", "/conversations", reply);
      expect(reply.body.data.length).toBeLessThanOrEqual(2);
      expect(reply.body.has_more).toBe(reply.body.next_cursor !== null);
      seen.push(...reply.body.data.map((row: { id: string }) => row.id));
      cursor = reply.body.next_cursor;
      pages += 1;
    } while (cursor && pages < 20);
    // Newest first: the last created comes first; the other tenant's never shows.
    const mine = own.map((row) => row.id);
    expect(seen.filter((id) => mine.includes(id))).toEqual([...mine].reverse());
    expect(new Set(seen).size).toBe(seen.length);
    const all = await server.db.prisma.conversation.count({ where: { tenantId: tenant.id } });
    expect(seen.length).toBe(all);
  });

  test.each([
    ["limit=0", "limit"],
    ["limit=abc", "limit"],
    ["cursor=nope", "cursor"],
  ])("GET /conversations?%s: 422 naming %s", async (query, field) => {
    const reply = await call("GET", `/api/v1/conversations?${query}`, reader);
    expect(reply.status).toBe(422);
    expect(reply.body.error.code).toBe("validation_error");
    expect(Object.keys(reply.body.error.fields)).toEqual([field]);
  });

  test("GET /conversations?limit=500 serves 100 at most", async () => {
    const reply = await call("GET", "/api/v1/conversations?limit=500", reader);
    expect(reply.status).toBe(200);
    expect(reply.body.data.length).toBeLessThanOrEqual(100);
  });

  test("GET /conversations/{id}: the header; another tenant's or an unknown id: the same 404", async () => {
    const reply = await call("GET", `/api/v1/conversations/${own[0]!.id}`, reader);
    expect(reply.status).toBe(200);
    expectDocumented("GET", "/conversations/{id}", reply);
    expect(reply.body).toEqual(own[0]);
    const unknown = await call("GET", `/api/v1/conversations/${"0".repeat(8)}-0000-4000-8000-${"0".repeat(12)}`, reader);
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe("not_found");
  });

  test("PATCH /conversations/{id}: customer_name and customer_language; null clears; nothing else changes", async () => {
    const target = await createConversation();
    const renamed = await call("PATCH", `/api/v1/conversations/${target.id}`, writer, { customer_name: "Amira H.", customer_language: null });
    expect(renamed.status, JSON.stringify(renamed.body)).toBe(200);
    expectDocumented("PATCH", "/conversations/{id}", renamed);
    expect(renamed.body).toMatchObject({ id: target.id, customer_name: "Amira H.", customer_language: null, channel: target.channel, status: "active" });
  });

  test.each([
    ["an empty body", {}, "body"],
    ["the routing tuple", { customer_identifier: "+1" }, "customer_identifier"],
    ["the status", { status: "closed" }, "status"],
    ["a language Vorel does not accept", { customer_language: "english" }, "customer_language"],
  ])("PATCH with %s: 422 naming %s, nothing written", async (_name, body, field) => {
    const target = await createConversation();
    const before = await snapshot(server, tenant.id);
    const reply = await call("PATCH", `/api/v1/conversations/${target.id}`, writer, body);
    expect(reply.status, JSON.stringify(reply.body)).toBe(422);
    expect(Object.keys(reply.body.error.fields)).toEqual([field]);
    expect(await snapshot(server, tenant.id)).toEqual(before);
  });

  test("POST /conversations/{id}/send: 201 with the message's id, sequence and time; mocked, since no provider is connected", async () => {
    const target = await createConversation();
    const first = await call("POST", `/api/v1/conversations/${target.id}/send`, writer, { text: "  Your appointment is confirmed  ", language: "en" });
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    expectDocumented("POST", "/conversations/{id}/send", first);
    expect(first.body).toMatchObject({ sequence_number: 1, mocked: true });
    const second = await call("POST", `/api/v1/conversations/${target.id}/send`, writer, { text: "See you" });
    expect(second.body.sequence_number).toBe(2);
    const stored = await server.db.prisma.message.findUniqueOrThrow({ where: { id: first.body.message_id } });
    expect(stored).toMatchObject({ role: "ASSISTANT", deliveryStatus: "QUEUED", sequence: 1 });
  });

  test.each([
    ["no text", {}, "text"],
    ["empty text", { text: "" }, "text"],
    ["text over 4,096 characters", { text: "x".repeat(4_097) }, "text"],
    ["a language outside ar, en, mixed", { text: "Hi", language: "fr" }, "language"],
  ])("send with %s: 422 naming %s, nothing written", async (_name, body, field) => {
    const target = await createConversation();
    const before = await snapshot(server, tenant.id);
    const reply = await call("POST", `/api/v1/conversations/${target.id}/send`, writer, body);
    expect(reply.status, JSON.stringify(reply.body)).toBe(422);
    expect(Object.keys(reply.body.error.fields)).toEqual([field]);
    expect(await snapshot(server, tenant.id)).toEqual(before);
  });

  test("a key with only read cannot send or PATCH: 403 before the body is looked at", async () => {
    const target = await createConversation();
    for (const [method, path] of [["POST", `/api/v1/conversations/${target.id}/send`], ["PATCH", `/api/v1/conversations/${target.id}`]] as const) {
      const reply = await call(method, path, reader, { text: 42, customer_name: 42 });
      expect(reply.status).toBe(403);
      expect(reply.body.error.code).toBe("forbidden");
    }
  });
});
