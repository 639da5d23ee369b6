// The Convo (Avelto) REST dialect against its own documentation (seeds/002): every documented
// path with the seed's own example request, the filters and pagination, every bulk action,
// and every way a request can be refused (401, 403 naming the scope, 404 for another
// workspace's id exactly as for an unknown one, 400, 405, 413, 422), never a 500 and never
// a partial write. Every answer is checked against the OpenAPI document the service serves
// (GET /openapi/convo.json): successes against their operation's response schema, errors
// against the dialect's error schema.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { DATA_SCOPES, type Scope } from "../src/auth/scopes.js";
import { hashToken } from "../src/auth/tokens.js";
import { convo } from "../src/rest/dialects/convo.js";
import { seedTenant, snapshot, type Seed } from "./fixtures.js";
import { startTestServer, type TestServer } from "./harness.js";
import { openApiOracle, type OpenApiDocument, type OpenApiOracle, type Reply } from "./openapi-oracle.js";

let server: TestServer;
let base: string;
let oracle: OpenApiOracle;
let spec: OpenApiDocument;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const UNKNOWN = "00000000-0000-4000-8000-000000000000";

beforeAll(async () => {
  server = await startTestServer();
  base = server.url.replace(/\/graphql$/, "");
  oracle = await openApiOracle(base, ["convo"]);
  expect(oracle.documents.has("convo"), "GET /openapi/convo.json").toBe(true);
  spec = oracle.documents.get("convo")!;
});
afterAll(() => server?.close());

// ---------------------------------------------------------------------------------------
// The served OpenAPI document as an oracle.
// ---------------------------------------------------------------------------------------

/** The documented path template ("/leads/{id}/status") a concrete request path answers to. */
function templateOf(method: string, path: string): string | undefined {
  const server = spec.servers[0]!.url;
  const relative = path.split("?")[0]!.slice(server.length) || "/";
  const candidates = Object.keys(spec.paths).filter(
    (template) =>
      spec.paths[template]![method.toLowerCase()] &&
      new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{\w+\}/g, "[^/]+")}/?$`).test(relative),
  );
  // A literal segment wins over a parameter (/conversations/bulk over /conversations/{id}).
  return candidates.sort((a, b) => (a.match(/\{/g)?.length ?? 0) - (b.match(/\{/g)?.length ?? 0))[0];
}

/** Checks a body against the document: the operation's response for a success, else the Error schema. */
function expectDocumented(method: string, path: string, status: number, body: unknown) {
  const template = templateOf(method, path);
  if (status < 300) expect(template, `${method} ${path} is not in the OpenAPI document`).toBeDefined();
  oracle.expectDocumented("convo", method, template, status, body);
}

// ---------------------------------------------------------------------------------------
// Requests.
// ---------------------------------------------------------------------------------------

interface Options {
  /** Sent as JSON. */
  json?: unknown;
  /** Sent as is (malformed bodies). */
  raw?: BodyInit;
  headers?: Record<string, string>;
}

/**
 * One REST request, as the seed's curl sends it. Every answer is JSON, never a 5xx, and
 * matches the OpenAPI document (a dialect-less 401 aside: its body is the service's own).
 */
async function rest(token: string | null, method: string, path: string, { json, raw, headers = {} }: Options = {}): Promise<Reply> {
  const sent: Record<string, string> = { ...headers };
  if (token) sent.authorization = `Bearer ${token}`;
  if (json !== undefined || raw !== undefined) sent["content-type"] ??= "application/json";
  const init: RequestInit & { duplex?: string } = { method, headers: sent };
  if (json !== undefined) init.body = JSON.stringify(json);
  if (raw !== undefined) init.body = raw;
  if (raw instanceof ReadableStream) init.duplex = "half";
  const response = await fetch(`${base}${path}`, init);
  const text = await response.text();
  expect(response.status, `${method} ${path} answered ${response.status}: ${text.slice(0, 300)}`).toBeLessThan(500);
  // HEAD, and yoga's CORS preflight answer to OPTIONS, carry no body.
  if (method === "HEAD" || response.status === 204) return { status: response.status, headers: response.headers, body: undefined };
  expect(String(response.headers.get("content-type")), `${method} ${path} → ${response.status}: ${text.slice(0, 200)}`).toMatch(/^application\/json/);
  const body = JSON.parse(text);
  const generic = response.status === 401 && "error" in body && typeof body.error === "object";
  if (!generic) expectDocumented(method, path, response.status, body);
  return { status: response.status, headers: response.headers, body };
}

const bare = (globalId: string) => globalId.slice(globalId.indexOf("_") + 1);

/** Runs a refused request and proves it wrote nothing in the tenant (and, if given, another). */
async function refusedWithoutWrites(tenantIds: string[], request: () => Promise<Reply>, status: number): Promise<Reply> {
  const before = await Promise.all(tenantIds.map((id) => snapshot(server, id)));
  const reply = await request();
  expect(reply.status, JSON.stringify(reply.body)).toBe(status);
  expect(await Promise.all(tenantIds.map((id) => snapshot(server, id)))).toEqual(before);
  return reply;
}

/** A Convo error body: NestJS's {statusCode, error, message}. */
function expectConvoError(reply: Reply, status: number, error: string) {
  expect(reply.status).toBe(status);
  expect(reply.body).toMatchObject({ statusCode: status, error });
  expect(typeof reply.body.message).toBe("string");
}

/** Every key camelCase, every id a bare uuid, every timestamp ISO 8601 (leads' free-form `fields` aside). */
function expectConvoShape(value: unknown, key = "") {
  if (Array.isArray(value)) return value.forEach((item) => expectConvoShape(item, key));
  if (value === null || typeof value !== "object") {
    if ((key === "id" || (/Id$/.test(key) && key !== "crmExternalId")) && value !== null) expect(value, key).toMatch(UUID);
    if (/At$/.test(key) && value !== null) expect(value, key).toMatch(ISO);
    return;
  }
  for (const [name, inner] of Object.entries(value)) {
    expect(name).toMatch(/^[a-z][a-zA-Z0-9]*$/);
    if (name !== "fields") expectConvoShape(inner, name);
  }
}

const createLead = async (tenant: Seed["tenant"], input: Record<string, unknown>) =>
  (await server.ok(tenant, `mutation($input: CreateLeadInput!) { createLead(input: $input) { id } }`, { input })).createLead.id as string;

/** What an escalation does before an operator writes: Convo's operator messages need it. */
const handOff = (id: string) => server.db.prisma.conversation.update({ where: { id }, data: { status: "HANDED_OFF" } });

const conversationRow = (id: string) => server.db.prisma.conversation.findUniqueOrThrow({ where: { id }, include: { tags: true } });

// ---------------------------------------------------------------------------------------
// The seed's own examples.
// ---------------------------------------------------------------------------------------

describe("the documented examples", () => {
  let seed: Seed;
  let token: string;
  beforeAll(async () => {
    seed = await seedTenant(server, "Examples", { closed: true });
    token = seed.tenant.token;
  });

  test("tokens look like convo_ followed by 32 hex characters", () => {
    expect(token).toMatch(/^convo_[0-9a-f]{32}$/);
  });

  test('GET /api/v1/leads?sort=score: a bare array of leads', async () => {
    const reply = await rest(token, "GET", "/api/v1/leads?sort=score");
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual([
      {
        id: seed.raw.lead.id,
        status: "NEW",
        fields: {},
        score: 70,
        source: "whatsapp-lead",
        conversationId: seed.raw.conversation.id,
        crmExternalId: null,
        createdAt: seed.raw.lead.createdAt.toISOString(),
        updatedAt: seed.raw.lead.updatedAt.toISOString(),
      },
    ]);
    expectConvoShape(reply.body);
  });

  test('POST /api/v1/leads {"fields":{"name":"Anna","email":"anna@example.com"}}: 201 and the new lead', async () => {
    const reply = await rest(token, "POST", "/api/v1/leads", { json: { fields: { name: "Anna", email: "anna@example.com" } } });
    expect(reply.status).toBe(201);
    expect(reply.body).toMatchObject({
      status: "NEW",
      fields: { name: "Anna", email: "anna@example.com" },
      score: null,
      conversationId: null,
    });
    expectConvoShape(reply.body);
    const row = await server.db.prisma.lead.findUniqueOrThrow({ where: { id: reply.body.id } });
    expect(row).toMatchObject({ tenantId: seed.tenant.id, status: "NEW", fields: { name: "Anna", email: "anna@example.com" } });
    expect(reply.body.createdAt).toBe(row.createdAt.toISOString());
  });

  test("the documented create body (fields with phone, source) is kept as sent", async () => {
    const json = { fields: { name: "Anna Nowak", email: "anna@example.com", phone: "+48 111 222 333" }, source: "external-form" };
    const reply = await rest(token, "POST", "/api/v1/leads", { json });
    expect(reply.status).toBe(201);
    expect(reply.body).toMatchObject({ ...json, status: "NEW", score: null, conversationId: null, crmExternalId: null });
  });

  test('PATCH /api/v1/leads/:id/status {"status":"WON"}: the updated row', async () => {
    const id = await createLead(seed.tenant, { fields: { name: "Won" } });
    const reply = await rest(token, "PATCH", `/api/v1/leads/${bare(id)}/status`, { json: { status: "WON" } });
    expect(reply.status).toBe(200);
    const row = await server.db.prisma.lead.findUniqueOrThrow({ where: { id: bare(id) } });
    expect(reply.body).toEqual({ id: bare(id), status: "WON", updatedAt: row.updatedAt.toISOString() });
    expect(row.status).toBe("WON");
  });

  test("every pipeline stage is accepted", async () => {
    const id = bare(await createLead(seed.tenant, {}));
    for (const status of ["QUALIFIED", "CONTACTED", "LOST", "NEW", "WON"]) {
      const reply = await rest(token, "PATCH", `/api/v1/leads/${id}/status`, { json: { status } });
      expect(reply.body.status).toBe(status);
    }
  });

  test("GET /api/v1/conversations?status=OPEN&limit=50: bare rows", async () => {
    const reply = await rest(token, "GET", "/api/v1/conversations?status=OPEN&limit=50");
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual([
      {
        id: seed.raw.conversation.id,
        agentId: seed.raw.agent.id,
        channelId: seed.raw.channel.id,
        status: "OPEN",
        createdAt: seed.raw.conversation.createdAt.toISOString(),
      },
    ]);
    expectConvoShape(reply.body);
  });

  test("GET /api/v1/conversations/:id: the conversation with its transcript, sentiment, tags and operator", async () => {
    const reply = await rest(token, "GET", `/api/v1/conversations/${seed.raw.conversation.id}`);
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({
      id: seed.raw.conversation.id,
      agentId: seed.raw.agent.id,
      channelId: seed.raw.channel.id,
      status: "OPEN",
      createdAt: seed.raw.conversation.createdAt.toISOString(),
      updatedAt: expect.stringMatching(ISO),
      sentiment: null,
      assignedOperator: "olga",
      tags: [{ id: seed.raw.tag.id, name: "vip" }],
      messages: [{ id: seed.raw.message.id, role: "USER", content: "Hello there", createdAt: seed.raw.message.createdAt.toISOString() }],
    });
    expectConvoShape(reply.body);
  });

  test("POST /api/v1/conversations/:id/operator-message on a conversation not handed off: 409, nothing written", async () => {
    const path = `/api/v1/conversations/${seed.raw.conversation.id}`;
    const reply = await refusedWithoutWrites([seed.tenant.id], () => rest(token, "POST", `${path}/operator-message`, { json: { content: "Hi there" } }), 409);
    expect(reply.body).toEqual({ statusCode: 409, error: "Conflict", message: "The conversation is OPEN, not HANDED_OFF" });
  });

  test('POST /api/v1/conversations/:id/operator-message {"content":"Hi there"}: 201, an ASSISTANT message in the transcript', async () => {
    const path = `/api/v1/conversations/${seed.raw.conversation.id}`;
    await handOff(seed.raw.conversation.id);
    const reply = await rest(token, "POST", `${path}/operator-message`, { json: { content: "Hi there" } });
    expect(reply.status).toBe(201);
    expect(reply.body).toEqual({ id: expect.stringMatching(UUID), role: "ASSISTANT", content: "Hi there", createdAt: expect.stringMatching(ISO) });
    const transcript = (await rest(token, "GET", path)).body.messages;
    expect(transcript.map((m: any) => [m.role, m.content])).toEqual([
      ["USER", "Hello there"],
      ["ASSISTANT", "Hi there"],
    ]);
    expect(transcript[1]).toEqual(reply.body);
    const row = await server.db.prisma.message.findUniqueOrThrow({ where: { id: reply.body.id } });
    expect(row).toMatchObject({ tenantId: seed.tenant.id, conversationId: seed.raw.conversation.id, role: "OPERATOR" });
  });

  test('POST /api/v1/conversations/bulk {"ids":[…],"action":"close"}: {updated, skipped}', async () => {
    const ids = [seed.raw.conversation.id, seed.raw.closed!.id];
    const reply = await rest(token, "POST", "/api/v1/conversations/bulk", { json: { ids, action: "close" } });
    expect(reply.status).toBe(200);
    // The second was closed already.
    expect(reply.body).toEqual({ updated: 1, skipped: 1 });
    expect((await conversationRow(seed.raw.conversation.id)).status).toBe("CLOSED");
  });

  test("GET /api/v1/agents: workspace agents and their publish status", async () => {
    const reply = await rest(token, "GET", "/api/v1/agents");
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual([{ id: seed.raw.agent.id, name: "Sales agent", status: "DRAFT", modelProvider: null, modelName: null }]);
    expectConvoShape(reply.body);
  });

  test("GET /api/v1/agents/:id: the agent with its system prompt and model", async () => {
    const created = await server.ok(
      seed.tenant,
      `mutation { createAgent(input: { name: "Support agent", status: PUBLISHED, systemPrompt: "Be kind.", modelProvider: "openai", modelName: "gpt-4o-mini" }) { id } }`,
    );
    const id = bare(created.createAgent.id);
    const reply = await rest(token, "GET", `/api/v1/agents/${id}`);
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({
      id,
      name: "Support agent",
      status: "PUBLISHED",
      systemPrompt: "Be kind.",
      modelProvider: "openai",
      modelName: "gpt-4o-mini",
      createdAt: expect.stringMatching(ISO),
      updatedAt: expect.stringMatching(ISO),
    });
  });

  test("GET /api/v1/channels: inbound channels", async () => {
    const reply = await rest(token, "GET", "/api/v1/channels");
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual([
      { id: seed.raw.channel.id, type: "WHATSAPP", name: "Studio WhatsApp", agentId: seed.raw.agent.id, createdAt: seed.raw.channel.createdAt.toISOString() },
    ]);
    expectConvoShape(reply.body);
  });

  test("a trailing slash names the same path", async () => {
    expect((await rest(token, "GET", "/api/v1/agents/")).body).toEqual((await rest(token, "GET", "/api/v1/agents")).body);
  });
});

// ---------------------------------------------------------------------------------------
// Filters, sorting and pagination.
// ---------------------------------------------------------------------------------------

describe("lead filters and sorting", () => {
  let seed: Seed;
  let ids: Record<string, string>;
  beforeAll(async () => {
    seed = await seedTenant(server, "Leads");
    ids = { seeded: seed.raw.lead.id };
    for (const [name, input] of Object.entries({
      low: { score: 10, status: "QUALIFIED" },
      none: { status: "QUALIFIED" },
      high: { score: 95, status: "WON" },
      mid: { score: 50 },
      none2: {},
      top: { score: 95 },
    })) {
      ids[name] = bare(await createLead(seed.tenant, { ...input, fields: { name } }));
    }
  });

  const list = async (query = "") => {
    const reply = await rest(seed.tenant.token, "GET", `/api/v1/leads${query}`);
    expect(reply.status).toBe(200);
    return reply.body as any[];
  };

  test("newest first by default, and with sort=newest", async () => {
    const leads = await list();
    expect(leads).toHaveLength(7);
    const times = leads.map((lead) => Date.parse(lead.createdAt));
    expect(times).toEqual([...times].sort((a, b) => b - a));
    expect(await list("?sort=newest")).toEqual(leads);
  });

  test("sort=score: highest first, unscored leads last, ties newest first", async () => {
    const leads = await list("?sort=score");
    expect(leads.map((lead) => lead.score)).toEqual([95, 95, 70, 50, 10, null, null]);
    // Of the two 95s, "top" was created last.
    expect(leads.slice(0, 2).map((lead) => lead.id)).toEqual([ids.top, ids.high]);
    const unscored = leads.slice(5).map((lead) => Date.parse(lead.createdAt));
    expect(unscored[0]).toBeGreaterThanOrEqual(unscored[1]!);
  });

  test("status filters, alone and with the score order", async () => {
    expect((await list("?status=QUALIFIED")).map((lead) => lead.id).sort()).toEqual([ids.low, ids.none].sort());
    expect((await list("?status=QUALIFIED&sort=score")).map((lead) => lead.id)).toEqual([ids.low, ids.none]);
    expect((await list("?status=WON")).map((lead) => lead.id)).toEqual([ids.high]);
    expect(await list("?status=LOST")).toEqual([]);
  });

  test("limit and offset page through the same order", async () => {
    const all = await list("?sort=score");
    expect(await list("?sort=score&limit=2")).toEqual(all.slice(0, 2));
    expect(await list("?sort=score&limit=3&offset=2")).toEqual(all.slice(2, 5));
    expect(await list("?sort=score&offset=5")).toEqual(all.slice(5));
    expect(await list("?offset=50")).toEqual([]);
  });

  test("bad filters are 422s naming the parameter", async () => {
    for (const [query, field] of [
      ["?status=BOGUS", "status"],
      ["?sort=bogus", "sort"],
      ["?limit=abc", "limit"],
      ["?limit=1.5", "limit"],
      ["?offset=-1", "offset"],
      ["?offset=99999999999", "offset"],
      ["?limit=0", "limit"],
    ] as const) {
      const reply = await rest(seed.tenant.token, "GET", `/api/v1/leads${query}`);
      expectConvoError(reply, 422, "Unprocessable Entity");
      expect(Object.keys(reply.body.errors), query).toEqual([field]);
      expect(reply.body.message, query).toMatch(new RegExp(`^${field}: `));
      // Plain words, never a validation library's ("Too small: expected number to be >=0").
      expect(reply.body.message, query).not.toMatch(/expected|>=/);
      if (field === "status") expect(reply.body.message.replace("status: must be one of: ", "").split(", ").sort()).toEqual(["CONTACTED", "LOST", "NEW", "QUALIFIED", "WON"]);
    }
  });
});

describe("conversation filters", () => {
  let seed: Seed;
  let extra: { id: string; agentId: string | null; channelId: string | null; tagId: string }[];
  beforeAll(async () => {
    seed = await seedTenant(server, "Conversations", { closed: true, extra: 2 });
    const rows = await server.db.prisma.conversation.findMany({
      where: { tenantId: seed.tenant.id, number: { in: [903, 904] } },
      include: { tags: true },
      orderBy: { number: "asc" },
    });
    extra = rows.map((row) => ({ id: row.id, agentId: row.agentId, channelId: row.channelId, tagId: row.tags[0]!.tagId }));
  });

  const list = async (query = "") => {
    const reply = await rest(seed.tenant.token, "GET", `/api/v1/conversations${query}`);
    expect(reply.status).toBe(200);
    return (reply.body as any[]).map((row) => row.id as string);
  };
  const sorted = (ids: string[]) => [...ids].sort();

  test("every conversation, newest first", async () => {
    const rows = (await rest(seed.tenant.token, "GET", "/api/v1/conversations")).body as any[];
    expect(sorted(rows.map((row) => row.id))).toEqual(sorted([seed.raw.conversation.id, seed.raw.closed!.id, ...extra.map((c) => c.id)]));
    const times = rows.map((row) => Date.parse(row.createdAt));
    expect(times).toEqual([...times].sort((a, b) => b - a));
  });

  test("status", async () => {
    expect(await list("?status=CLOSED")).toEqual([seed.raw.closed!.id]);
    expect(sorted(await list("?status=OPEN"))).toEqual(sorted([seed.raw.conversation.id, ...extra.map((c) => c.id)]));
    expect(await list("?status=HANDED_OFF")).toEqual([]);
  });

  test("agentId and channelId", async () => {
    expect(await list(`?agentId=${seed.raw.agent.id}`)).toEqual([seed.raw.conversation.id]);
    expect(await list(`?agentId=${extra[1]!.agentId}`)).toEqual([extra[1]!.id]);
    expect(await list(`?channelId=${extra[0]!.channelId}`)).toEqual([extra[0]!.id]);
    expect(await list(`?agentId=${seed.raw.agent.id}&channelId=${seed.raw.channel.id}&status=OPEN`)).toEqual([seed.raw.conversation.id]);
    expect(await list(`?agentId=${seed.raw.agent.id}&status=CLOSED`)).toEqual([]);
    expect(await list(`?agentId=${UNKNOWN}`)).toEqual([]);
  });

  test("comma-separated tagIds match conversations with any of them", async () => {
    expect(await list(`?tagIds=${seed.raw.tag.id}`)).toEqual([seed.raw.conversation.id]);
    expect(sorted(await list(`?tagIds=${seed.raw.tag.id},${extra[1]!.tagId}`))).toEqual(sorted([seed.raw.conversation.id, extra[1]!.id]));
    expect(sorted(await list(`?tagIds=${seed.raw.tag.id}, ${extra[0]!.tagId}`))).toEqual(sorted([seed.raw.conversation.id, extra[0]!.id]));
    expect(await list(`?tagIds=${extra[0]!.tagId}&status=CLOSED`)).toEqual([]);
    expect(await list(`?tagIds=${UNKNOWN}`)).toEqual([]);
  });

  test("another workspace's agent, channel or tag filters to nothing", async () => {
    const other = await seedTenant(server, "Other");
    expect(await list(`?agentId=${other.raw.agent.id}`)).toEqual([]);
    expect(await list(`?channelId=${other.raw.channel.id}`)).toEqual([]);
    expect(await list(`?tagIds=${other.raw.tag.id}`)).toEqual([]);
  });

  test("limit and offset", async () => {
    const all = await list();
    expect(all).toHaveLength(4);
    expect(await list("?limit=2")).toEqual(all.slice(0, 2));
    expect(await list("?limit=2&offset=1")).toEqual(all.slice(1, 3));
    expect(await list("?offset=3")).toEqual(all.slice(3));
    expect(await list("?status=OPEN&limit=1&offset=1")).toEqual(all.filter((id) => id !== seed.raw.closed!.id).slice(1, 2));
  });

  test("bad filters are 422s naming the parameter", async () => {
    for (const [query, field] of [
      ["?agentId=nope", "agentId"],
      ["?channelId=12345", "channelId"],
      ["?status=open", "status"],
      ["?limit=x", "limit"],
      ["?offset=1e3", "offset"],
      [`?tagIds=${Array.from({ length: 51 }, () => UNKNOWN).join(",")}`, "tagIds"],
    ] as const) {
      const reply = await rest(seed.tenant.token, "GET", `/api/v1/conversations${query}`);
      expectConvoError(reply, 422, "Unprocessable Entity");
      expect(Object.keys(reply.body.errors), query).toEqual([field]);
    }
  });

  test("a malformed tag id is a 422 naming tagIds, in the caller's id format", async () => {
    const reply = await rest(seed.tenant.token, "GET", `/api/v1/conversations?tagIds=${seed.raw.tag.id},nope`);
    expectConvoError(reply, 422, "Unprocessable Entity");
    // The request's own parameter, not the GraphQL argument path ("tagIds.1").
    expect(Object.keys(reply.body.errors)).toEqual(["tagIds"]);
    // Convo ids are bare uuids: the message must not ask for GraphQL's "tag_…" ids.
    expect(reply.body.message).not.toMatch(/tag_/);
  });
});

describe("pagination bounds", () => {
  test("limit defaults to 50 and never exceeds 100", async () => {
    const seed = await seedTenant(server, "Many");
    await server.db.prisma.lead.createMany({ data: Array.from({ length: 120 }, (_, i) => ({ tenantId: seed.tenant.id, score: i % 100 })) });
    expect((await rest(seed.tenant.token, "GET", "/api/v1/leads")).body).toHaveLength(50);
    expect((await rest(seed.tenant.token, "GET", "/api/v1/leads?limit=100")).body).toHaveLength(100);
    const over = await rest(seed.tenant.token, "GET", "/api/v1/leads?limit=101");
    if (over.status === 200) expect(over.body.length).toBeLessThanOrEqual(100);
    else expectConvoError(over, 422, "Unprocessable Entity");
    expect((await rest(seed.tenant.token, "GET", "/api/v1/leads?offset=100")).body).toHaveLength(21);
  });
});

// ---------------------------------------------------------------------------------------
// Bulk actions.
// ---------------------------------------------------------------------------------------

describe("POST /api/v1/conversations/bulk", () => {
  let seed: Seed;
  let other: Seed;
  let open: string;
  let closed: string;
  const bulk = (json: unknown, token = seed.tenant.token) => rest(token, "POST", "/api/v1/conversations/bulk", { json });
  beforeAll(async () => {
    seed = await seedTenant(server, "Bulk", { closed: true });
    other = await seedTenant(server, "Bulk other", { closed: true });
    open = seed.raw.conversation.id;
    closed = seed.raw.closed!.id;
  });

  test("close, then reopen: each counts what changed", async () => {
    expect((await bulk({ ids: [open, closed], action: "close" })).body).toEqual({ updated: 1, skipped: 1 });
    expect((await conversationRow(open)).status).toBe("CLOSED");
    expect((await bulk({ ids: [open, closed], action: "close" })).body).toEqual({ updated: 0, skipped: 2 });
    expect((await bulk({ ids: [open, closed], action: "reopen" })).body).toEqual({ updated: 2, skipped: 0 });
    expect((await conversationRow(open)).status).toBe("OPEN");
    expect((await conversationRow(closed)).status).toBe("OPEN");
    expect((await bulk({ ids: [open], action: "reopen" })).body).toEqual({ updated: 0, skipped: 1 });
    expect((await bulk({ ids: [closed], action: "close" })).body).toEqual({ updated: 1, skipped: 0 });
  });

  test("assign an operator, and null unassigns", async () => {
    expect((await bulk({ ids: [open, closed], action: "assign", operator: "ian" })).body).toEqual({ updated: 2, skipped: 0 });
    expect((await conversationRow(open)).assignedOperator).toBe("ian");
    expect((await rest(seed.tenant.token, "GET", `/api/v1/conversations/${closed}`)).body.assignedOperator).toBe("ian");
    expect((await bulk({ ids: [open, closed], action: "assign", operator: "ian" })).body).toEqual({ updated: 0, skipped: 2 });
    expect((await bulk({ ids: [open], action: "assign", operator: null })).body).toEqual({ updated: 1, skipped: 0 });
    expect((await conversationRow(open)).assignedOperator).toBeNull();
  });

  test("tag and untag", async () => {
    const tag = seed.raw.tag.id;
    const second = bare((await server.ok(seed.tenant, `mutation { createTag(name: "urgent") { id } }`)).createTag.id);
    // The open conversation carries "vip" already.
    expect((await bulk({ ids: [open, closed], action: "tag", tagIds: [tag] })).body).toEqual({ updated: 1, skipped: 1 });
    expect((await bulk({ ids: [open, closed], action: "tag", tagIds: [tag, second] })).body).toEqual({ updated: 2, skipped: 0 });
    const tags = (await rest(seed.tenant.token, "GET", `/api/v1/conversations/${closed}`)).body.tags.map((t: any) => t.name);
    expect(tags.sort()).toEqual(["urgent", "vip"]);
    expect((await rest(seed.tenant.token, "GET", `/api/v1/conversations?tagIds=${second}`)).body.map((c: any) => c.id).sort()).toEqual(
      [open, closed].sort(),
    );
    expect((await bulk({ ids: [open, closed], action: "untag", tagIds: [second] })).body).toEqual({ updated: 2, skipped: 0 });
    expect((await bulk({ ids: [open, closed], action: "untag", tagIds: [second] })).body).toEqual({ updated: 0, skipped: 2 });
    expect((await conversationRow(closed)).tags.map((link) => link.tagId)).toEqual([tag]);
    expect((await bulk({ ids: [closed], action: "untag", tagIds: [tag] })).body).toEqual({ updated: 1, skipped: 0 });
  });

  test("unknown ids and another workspace's ids are skipped, and the other workspace is untouched", async () => {
    await bulk({ ids: [open], action: "reopen" });
    const before = await snapshot(server, other.tenant.id);
    const ids = [open, UNKNOWN, other.raw.conversation.id];
    expect((await bulk({ ids, action: "close" })).body).toEqual({ updated: 1, skipped: 2 });
    expect((await bulk({ ids: [other.raw.closed!.id], action: "reopen" })).body).toEqual({ updated: 0, skipped: 1 });
    expect((await bulk({ ids: [other.raw.conversation.id], action: "assign", operator: "mallory" })).body).toEqual({ updated: 0, skipped: 1 });
    expect((await bulk({ ids: [other.raw.conversation.id], action: "untag", tagIds: [seed.raw.tag.id] })).body).toEqual({ updated: 0, skipped: 1 });
    expect(await snapshot(server, other.tenant.id)).toEqual(before);
  });

  test("200 ids are accepted; 201 are a 422 naming ids, with nothing written", async () => {
    await bulk({ ids: [open], action: "reopen" });
    const many = (n: number) => [open, ...Array.from({ length: n - 1 }, () => crypto.randomUUID())];
    const refused = await refusedWithoutWrites([seed.tenant.id], () => bulk({ ids: many(201), action: "close" }), 422);
    expectConvoError(refused, 422, "Unprocessable Entity");
    expect(Object.keys(refused.body.errors)).toEqual(["ids"]);
    expect(refused.body.message).toMatch(/^ids: /);
    expect((await bulk({ ids: many(200), action: "close" })).body).toEqual({ updated: 1, skipped: 199 });
  });

  test("tag or untag without tagIds, assign without an operator: 422 naming the field, nothing written", async () => {
    for (const [json, field] of [
      [{ ids: [open], action: "tag" }, "tagIds"],
      [{ ids: [open], action: "tag", tagIds: [] }, "tagIds"],
      [{ ids: [open], action: "untag" }, "tagIds"],
      [{ ids: [open], action: "assign" }, "operator"],
    ] as const) {
      const reply = await refusedWithoutWrites([seed.tenant.id], () => bulk(json), 422);
      expect(Object.keys(reply.body.errors), JSON.stringify(json)).toEqual([field]);
    }
  });

  test("other invalid bodies: 422 naming the field, nothing written", async () => {
    for (const [json, fields] of [
      [{ ids: [], action: "close" }, ["ids"]],
      [{ ids: [open], action: "explode" }, ["action"]],
      [{ ids: [open], action: 5 }, ["action"]],
      [{ ids: [open] }, ["action"]],
      [{ action: "close" }, ["ids"]],
      [{}, ["action", "ids"]],
      [{ ids: [open], action: "assign", operator: 5 }, ["operator"]],
      [{ ids: [open], action: "assign", operator: "x".repeat(201) }, ["operator"]],
    ] as const) {
      const reply = await refusedWithoutWrites([seed.tenant.id], () => bulk(json), 422);
      expect(Object.keys(reply.body.errors).sort(), JSON.stringify(json)).toEqual(fields);
    }
  });

  test("a malformed id among the ids is a 422 naming ids, in the caller's id format", async () => {
    for (const ids of [[open, "nope"], ["nope"], [5], "nope"]) {
      const reply = await refusedWithoutWrites([seed.tenant.id], () => bulk({ ids, action: "close" }), 422);
      // The request's own field name, not the GraphQL argument path ("input.ids.1").
      expect(Object.keys(reply.body.errors), JSON.stringify(ids)).toEqual(["ids"]);
      expect(reply.body.message).toMatch(/^ids: /);
      // Convo ids are bare uuids: the message must not ask for GraphQL's "conv_…" ids.
      expect(reply.body.message).not.toMatch(/conv_/);
    }
    const tags = await refusedWithoutWrites([seed.tenant.id], () => bulk({ ids: [open], action: "tag", tagIds: ["nope"] }), 422);
    expect(Object.keys(tags.body.errors)).toEqual(["tagIds"]);
  });

  test("another workspace's tag answers exactly as an unknown tag, nothing written anywhere", async () => {
    const tenants = [seed.tenant.id, other.tenant.id];
    const foreign = await refusedWithoutWrites(tenants, () => bulk({ ids: [open, closed], action: "tag", tagIds: [seed.raw.tag.id, other.raw.tag.id] }), 404);
    const unknown = await refusedWithoutWrites(tenants, () => bulk({ ids: [open, closed], action: "tag", tagIds: [seed.raw.tag.id, UNKNOWN] }), 404);
    expectConvoError(foreign, 404, "Not Found");
    expect(foreign.body).toEqual(unknown.body);
  });
});

// ---------------------------------------------------------------------------------------
// Scopes.
// ---------------------------------------------------------------------------------------

describe("403 names the missing scope", () => {
  let seed: Seed;
  beforeAll(async () => {
    seed = await seedTenant(server, "Scopes", { closed: true });
    // Operator messages go to handed-off conversations only.
    await handOff(seed.raw.conversation.id);
  });

  /** The seed's example request for each route, with this tenant's ids. */
  const EXAMPLES: Record<string, (s: Seed) => [method: string, path: string, json?: unknown]> = {
    "GET /leads": () => ["GET", "/api/v1/leads?sort=score"],
    "POST /leads": () => ["POST", "/api/v1/leads", { fields: { name: "Anna", email: "anna@example.com" } }],
    "PATCH /leads/:id/status": (s) => ["PATCH", `/api/v1/leads/${s.raw.lead.id}/status`, { status: "WON" }],
    "GET /conversations": () => ["GET", "/api/v1/conversations?status=OPEN&limit=50"],
    "GET /conversations/:id": (s) => ["GET", `/api/v1/conversations/${s.raw.conversation.id}`],
    "POST /conversations/:id/operator-message": (s) => ["POST", `/api/v1/conversations/${s.raw.conversation.id}/operator-message`, { content: "Hi there" }],
    "POST /conversations/bulk": (s) => ["POST", "/api/v1/conversations/bulk", { ids: [s.raw.conversation.id, s.raw.closed!.id], action: "close" }],
    "GET /agents": () => ["GET", "/api/v1/agents"],
    "GET /agents/:id": (s) => ["GET", `/api/v1/agents/${s.raw.agent.id}`],
    "GET /channels": () => ["GET", "/api/v1/channels"],
    "POST /integrations/webhook": () => ["POST", "/api/v1/integrations/webhook", { type: "WEBHOOK", url: "https://hooks.example.com/avelto", events: ["lead.created"] }],
    "GET /integrations": () => ["GET", "/api/v1/integrations"],
  };

  test("every Convo route has an example here", () => {
    expect(Object.keys(EXAMPLES).sort()).toEqual(convo.routes.map((route) => `${route.method} ${route.path}`).sort());
  });

  // channels:read is not among them: GET /channels needs no scope (Convo documents none).
  const SCOPES_UNDER_TEST: Scope[] = ["leads:read", "leads:write", "conversations:read", "conversations:write", "agents:read", "webhooks:read", "webhooks:write"];

  test("GET /channels answers a Convo token that holds no scope at all", async () => {
    const reply = await rest(await seed.tenant.tokenWith([]), "GET", "/api/v1/channels");
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual([expect.objectContaining({ id: seed.raw.channel.id, type: "WHATSAPP" })]);
  });

  test.each(SCOPES_UNDER_TEST)("a token with every scope but %s", async (scope) => {
    const routes = convo.routes.filter((route) => route.scopes.includes(scope));
    expect(routes.length).toBeGreaterThan(0);
    const token = await seed.tenant.tokenWith(DATA_SCOPES.filter((each) => each !== scope));
    for (const route of routes) {
      const [method, path, json] = EXAMPLES[`${route.method} ${route.path}`]!(seed);
      const reply = await refusedWithoutWrites([seed.tenant.id], () => rest(token, method, path, { json }), 403);
      expect(reply.body, `${method} ${path}`).toEqual({
        statusCode: 403,
        error: "Forbidden",
        message: expect.stringContaining(scope),
        scope,
      });
    }
  });

  test("each route is served with exactly the scopes it documents", async () => {
    for (const route of convo.routes) {
      const token = await seed.tenant.tokenWith(route.scopes as Scope[]);
      const [method, path, json] = EXAMPLES[`${route.method} ${route.path}`]!(seed);
      const reply = await rest(token, method, path, { json });
      expect(reply.status, `${method} ${path} with ${route.scopes.join(", ")}: ${JSON.stringify(reply.body)}`).toBe(route.status ?? 200);
    }
  });
});

// ---------------------------------------------------------------------------------------
// Tenancy and ids in paths.
// ---------------------------------------------------------------------------------------

describe("ids in paths", () => {
  let mine: Seed;
  let theirs: Seed;
  beforeAll(async () => {
    mine = await seedTenant(server, "Mine");
    theirs = await seedTenant(server, "Theirs");
    await handOff(theirs.raw.conversation.id);
  });

  interface PathRoute {
    name: string;
    method: string;
    path: (id: string) => string;
    theirId: (s: Seed) => string;
    json?: unknown;
  }
  const ROUTES: PathRoute[] = [
    { name: "PATCH /leads/:id/status", method: "PATCH", path: (id) => `/api/v1/leads/${id}/status`, theirId: (s) => s.raw.lead.id, json: { status: "WON" } },
    { name: "GET /conversations/:id", method: "GET", path: (id) => `/api/v1/conversations/${id}`, theirId: (s) => s.raw.conversation.id },
    {
      name: "POST /conversations/:id/operator-message",
      method: "POST",
      path: (id) => `/api/v1/conversations/${id}/operator-message`,
      theirId: (s) => s.raw.conversation.id,
      json: { content: "Hi there" },
    },
    { name: "GET /agents/:id", method: "GET", path: (id) => `/api/v1/agents/${id}`, theirId: (s) => s.raw.agent.id },
  ];

  test("covers every Convo route with a path id", () => {
    expect(ROUTES.map((route) => route.name).sort()).toEqual(
      convo.routes.filter((route) => route.path.includes("/:")).map((route) => `${route.method} ${route.path}`).sort(),
    );
  });

  test.each(ROUTES)("$name: another workspace's id is exactly an unknown id, and writes nothing", async ({ method, path, theirId, json }) => {
    const tenants = [mine.tenant.id, theirs.tenant.id];
    const foreign = await refusedWithoutWrites(tenants, () => rest(mine.tenant.token, method, path(theirId(theirs)), { json }), 404);
    const unknown = await refusedWithoutWrites(tenants, () => rest(mine.tenant.token, method, path(UNKNOWN), { json }), 404);
    expectConvoError(foreign, 404, "Not Found");
    expect(foreign.body).toEqual(unknown.body);
    expect(foreign.headers.get("content-type")).toBe(unknown.headers.get("content-type"));
    // The id is theirs indeed.
    const own = await rest(theirs.tenant.token, method, path(theirId(theirs)), { json });
    expect(own.status).toBeLessThan(300);
  });

  const MALFORMED = ["not-a-uuid", "12345", `conv_${UNKNOWN}`, `${UNKNOWN}x`, UNKNOWN.toUpperCase().replace(/0/g, "G"), "%20"];

  test.each(ROUTES)("$name: a malformed id is a 404, with nothing written", async ({ method, path, json }) => {
    for (const id of MALFORMED) {
      const reply = await refusedWithoutWrites([mine.tenant.id], () => rest(mine.tenant.token, method, path(id), { json }), 404);
      expectConvoError(reply, 404, "Not Found");
    }
  });

  test.each(ROUTES)("$name: a malformed id answers exactly as an unknown id", async ({ method, path, json }) => {
    const unknown = await rest(mine.tenant.token, method, path(UNKNOWN), { json });
    for (const id of MALFORMED) {
      expect((await rest(mine.tenant.token, method, path(id), { json })).body, `${method} ${path(id)}`).toEqual(unknown.body);
    }
  });

  test.each(ROUTES)("$name: an id with broken percent-encoding is a 404, not a 500", async ({ method, path, json }) => {
    for (const id of ["%E0%A4%A", "%", "%zz"]) {
      const reply = await refusedWithoutWrites([mine.tenant.id], () => rest(mine.tenant.token, method, path(id), { json }), 404);
      expectConvoError(reply, 404, "Not Found");
    }
  });
});

// ---------------------------------------------------------------------------------------
// Authentication and malformed requests.
// ---------------------------------------------------------------------------------------

describe("refusals before GraphQL", () => {
  let seed: Seed;
  beforeAll(async () => {
    seed = await seedTenant(server, "Refusals");
  });

  test("401 without a token: Convo's body on a path only Convo serves, and WWW-Authenticate: Bearer", async () => {
    const attempts: Record<string, string>[] = [{}, { authorization: "Basic dXNlcjpwYXNz" }, { authorization: "Bearer" }, { authorization: "Bearer not-a-token" }];
    for (const headers of attempts) {
      const reply = await rest(null, "GET", "/api/v1/agents", { headers });
      expect(reply.status).toBe(401);
      expect(reply.headers.get("www-authenticate")).toBe("Bearer");
      // GET /api/v1/agents is Convo's alone, so a caller without a token is answered in Convo's shape.
      expect(reply.body).toEqual({ statusCode: 401, error: "Unauthorized", message: expect.stringMatching(/Bearer <token> \(convo_/) });
    }
  });

  test("401 for a wrong, revoked or expired Convo token: the Convo body and WWW-Authenticate: Bearer", async () => {
    const revoked = await seed.tenant.tokenWith(["leads:read"]);
    const expired = await seed.tenant.tokenWith(["leads:read"]);
    await server.db.prisma.apiToken.update({ where: { secretHash: hashToken(revoked) }, data: { revokedAt: new Date() } });
    await server.db.prisma.apiToken.update({ where: { secretHash: hashToken(expired) }, data: { expiresAt: new Date(Date.now() - 1000) } });
    for (const token of [`convo_${"0".repeat(32)}`, revoked, expired]) {
      for (const [method, path, json] of [
        ["GET", "/api/v1/leads"],
        ["POST", "/api/v1/leads", { fields: { name: "Anna" } }],
        ["GET", `/api/v1/agents/${seed.raw.agent.id}`],
      ] as const) {
        const reply = await refusedWithoutWrites([seed.tenant.id], () => rest(token, method, path, { json }), 401);
        expect(reply.headers.get("www-authenticate")).toBe("Bearer");
        expectConvoError(reply, 401, "Unauthorized");
        expect(Object.keys(reply.body).sort()).toEqual(["error", "message", "statusCode"]);
      }
    }
  });

  test("400 for a body that is not JSON, or not a JSON object, with nothing written", async () => {
    const writes: [string, string][] = [
      ["POST", "/api/v1/leads"],
      ["PATCH", `/api/v1/leads/${seed.raw.lead.id}/status`],
      ["POST", `/api/v1/conversations/${seed.raw.conversation.id}/operator-message`],
      ["POST", "/api/v1/conversations/bulk"],
    ];
    for (const [method, path] of writes) {
      for (const raw of ['{"fields":', "{nope}", '[{"status":"WON"}]', "null", '"WON"', "42", "true"]) {
        const reply = await refusedWithoutWrites([seed.tenant.id], () => rest(seed.tenant.token, method, path, { raw }), 400);
        expectConvoError(reply, 400, "Bad Request");
      }
    }
  });

  test("413 for an oversized body, declared or streamed, with nothing written", async () => {
    const big = JSON.stringify({ fields: { name: "x".repeat(1_100_000) } });
    const declared = await refusedWithoutWrites([seed.tenant.id], () => rest(seed.tenant.token, "POST", "/api/v1/leads", { raw: big }), 413);
    expectConvoError(declared, 413, "Payload Too Large");
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        const bytes = new TextEncoder().encode(big);
        for (let at = 0; at < bytes.length; at += 64 * 1024) controller.enqueue(bytes.slice(at, at + 64 * 1024));
        controller.close();
      },
    });
    const streamed = await refusedWithoutWrites([seed.tenant.id], () => rest(seed.tenant.token, "POST", "/api/v1/leads", { raw: stream }), 413);
    expectConvoError(streamed, 413, "Payload Too Large");
  });

  test("405 for a method the path does not serve, with Allow", async () => {
    for (const [method, path, allow] of [
      ["DELETE", "/api/v1/leads", "GET, POST"],
      ["PUT", "/api/v1/leads", "GET, POST"],
      ["GET", `/api/v1/leads/${seed.raw.lead.id}/status`, "PATCH"],
      ["POST", `/api/v1/leads/${seed.raw.lead.id}/status`, "PATCH"],
      ["DELETE", `/api/v1/conversations/${seed.raw.conversation.id}`, "GET"],
      ["GET", `/api/v1/conversations/${seed.raw.conversation.id}/operator-message`, "POST"],
      ["POST", "/api/v1/agents", "GET"],
      ["PATCH", `/api/v1/agents/${seed.raw.agent.id}`, "GET"],
      ["POST", "/api/v1/channels", "GET"],
    ] as const) {
      const reply = await refusedWithoutWrites([seed.tenant.id], () => rest(seed.tenant.token, method, path, { json: method === "GET" ? undefined : {} }), 405);
      expectConvoError(reply, 405, "Method Not Allowed");
      const allowed = (reply.headers.get("allow") ?? "").split(",").map((each) => each.trim()).sort();
      expect(allowed, `${method} ${path}`).toEqual(allow.split(", ").sort());
    }
  });

  test("404 for a path Convo does not document", async () => {
    for (const path of ["/api/v1", "/api/v1/", "/api/v1/nope", "/api/v1/leads/x/y/z", `/api/v1/leads/${seed.raw.lead.id}/nope`]) {
      const reply = await rest(seed.tenant.token, "GET", path);
      expectConvoError(reply, 404, "Not Found");
    }
  });

  test("422 bodies map each field to its messages; nothing is written", async () => {
    for (const [method, path, json, field] of [
      ["POST", "/api/v1/leads", { fields: "Anna" }, "fields"],
      ["POST", "/api/v1/leads", { fields: { blob: "x".repeat(20_000) } }, "fields"],
      ["POST", "/api/v1/leads", { score: 101 }, "score"],
      ["POST", "/api/v1/leads", { score: "7" }, "score"],
      ["POST", "/api/v1/leads", { status: "ARCHIVED" }, "status"],
      ["POST", "/api/v1/leads", { conversationId: "nope" }, "conversationId"],
      ["POST", "/api/v1/leads", { source: "x".repeat(201) }, "source"],
      ["PATCH", `/api/v1/leads/${seed.raw.lead.id}/status`, {}, "status"],
      ["PATCH", `/api/v1/leads/${seed.raw.lead.id}/status`, { status: "won" }, "status"],
      ["POST", `/api/v1/conversations/${seed.raw.conversation.id}/operator-message`, {}, "content"],
      ["POST", `/api/v1/conversations/${seed.raw.conversation.id}/operator-message`, { content: "   " }, "content"],
      ["POST", `/api/v1/conversations/${seed.raw.conversation.id}/operator-message`, { content: 5 }, "content"],
      ["POST", `/api/v1/conversations/${seed.raw.conversation.id}/operator-message`, { content: "x".repeat(10_001) }, "content"],
    ] as const) {
      const reply = await refusedWithoutWrites([seed.tenant.id], () => rest(seed.tenant.token, method, path, { json }), 422);
      expectConvoError(reply, 422, "Unprocessable Entity");
      expect(Object.keys(reply.body.errors), JSON.stringify(json).slice(0, 80)).toEqual([field]);
      expect(reply.body.errors[field].length).toBeGreaterThan(0);
      // REST callers never sent GraphQL variables or types: messages do not name them.
      expect(reply.body.message).not.toMatch(/\$input|Variable "|non-nullable|LeadStatus!/);
    }
  });

  test("422 messages about ids speak of the ids Convo uses (bare uuids), not GraphQL's", async () => {
    for (const [path, json, field] of [
      ["/api/v1/leads", { conversationId: "nope" }, "conversationId"],
      ["/api/v1/conversations/bulk", { ids: ["nope"], action: "close" }, "ids"],
      ["/api/v1/conversations/bulk", { ids: [seed.raw.conversation.id], action: "tag", tagIds: ["nope"] }, "tagIds"],
    ] as const) {
      const reply = await refusedWithoutWrites([seed.tenant.id], () => rest(seed.tenant.token, "POST", path, { json }), 422);
      const messages = [reply.body.message, ...Object.values<string[]>(reply.body.errors).flat()].join(" | ");
      expect(messages, `${path} ${field}`).not.toMatch(/\b(conv|tag|lead|agt|chn)_/);
    }
  });

  test("a lead pointing at another workspace's conversation is refused exactly as an unknown one", async () => {
    const other = await seedTenant(server, "Refusals other");
    const tenants = [seed.tenant.id, other.tenant.id];
    const foreign = await refusedWithoutWrites(tenants, () => rest(seed.tenant.token, "POST", "/api/v1/leads", { json: { conversationId: other.raw.conversation.id } }), 404);
    const unknown = await refusedWithoutWrites(tenants, () => rest(seed.tenant.token, "POST", "/api/v1/leads", { json: { conversationId: UNKNOWN } }), 404);
    expect(foreign.body).toEqual(unknown.body);
    const own = await rest(seed.tenant.token, "POST", "/api/v1/leads", { json: { conversationId: seed.raw.conversation.id, score: 5 } });
    expect(own.status).toBe(201);
    expect(own.body).toMatchObject({ conversationId: seed.raw.conversation.id, score: 5 });
  });

  test("odd but harmless inputs never cause a 500", async () => {
    const requests: [string, string, Options?][] = [
      ["GET", "/api/v1/leads?limit=&offset=&status=&sort="],
      ["GET", "/api/v1/leads?status=NEW&status=WON"],
      ["GET", "/api/v1/conversations?tagIds=,"],
      ["GET", "/api/v1/conversations?tagIds=%00"],
      ["GET", `/api/v1/conversations?agentId=${"a".repeat(5000)}`],
      ["GET", "/api/v1/conversations/%2e%2e"],
      ["GET", `/api/v1/conversations/${"9".repeat(3000)}`],
      ["GET", "/api/v1/agents/%00"],
      ["POST", "/api/v1/leads", { json: { fields: { nested: { deep: [1, { a: null }] } }, crmExternalId: "" } }],
      ["POST", "/api/v1/leads", { json: { fields: null, status: null, score: null } }],
      ["POST", "/api/v1/leads", { json: { conversationId: 5 } }],
      ["POST", "/api/v1/leads", { raw: "" }],
      ["POST", "/api/v1/leads", { raw: "\u0000" }],
      ["POST", "/api/v1/leads", { raw: '{"fields":{"name":"Anna"}}', headers: { "content-type": "text/plain" } }],
      ["POST", "/api/v1/conversations/bulk", { json: { ids: [null], action: "close" } }],
      ["POST", "/api/v1/conversations/bulk", { json: { ids: [{}], action: "close" } }],
      ["POST", "/api/v1/conversations/bulk", { json: { ids: [seed.raw.conversation.id], action: "CLOSE" } }],
      ["POST", "/api/v1/conversations/bulk", { json: { ids: [seed.raw.conversation.id], action: "tag", tagIds: "nope" } }],
      ["PATCH", `/api/v1/leads/${seed.raw.lead.id}/status`, { json: { status: ["WON"] } }],
      ["HEAD", "/api/v1/leads"],
      ["OPTIONS", "/api/v1/leads"],
    ];
    for (const [method, path, options] of requests) await rest(seed.tenant.token, method, path, options);
  });
});
