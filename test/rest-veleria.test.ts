// The Veleria REST dialect over HTTP on a real server: the documented paths under /api/v1 and
// /v1 for vela_live_sk_ tokens, the { success, data, pagination } envelope, snake_case and
// lower-case enums, and its error bodies. Every body is checked against the served OpenAPI.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { DATA_SCOPES } from "../src/auth/scopes.js";
import { restRequest, startRestTestServer, type OpenApiDocument, type OpenApiOracle, type Reply } from "./openapi-oracle.js";
import { snapshot } from "./fixtures.js";
import type { TestServer, TestTenant } from "./harness.js";

let server: TestServer;
let origin: string;
// CommonJS modules: their default export is the module object under NodeNext.
let oracle: OpenApiOracle;
let spec: OpenApiDocument;

beforeAll(async () => {
  ({ server, origin, oracle } = await startRestTestServer(["veleria"]));
  spec = oracle.documents.get("veleria")!;
});
afterAll(() => server?.close());

// ---------------------------------------------------------------------------------------
// Helpers.
// ---------------------------------------------------------------------------------------

/** The served OpenAPI operation for a request path, e.g. "/v1/contacts/con_…" -> "/contacts/{id}". */
function specPath(path: string): string {
  const relative = path.replace(/\?.*$/, "").replace(/^\/(api\/)?v1/, "");
  return relative.replace(/^\/contacts\/[^/]+$/, "/contacts/{id}");
}

/** Checks a body against the response schema the OpenAPI document gives for it. */
function expectDocumented(method: string, path: string, reply: Reply) {
  if (!spec.paths[specPath(path)]?.[method.toLowerCase()]) return; // an unknown path: its 404 is checked by hand
  oracle.expectDocumented("veleria", method, specPath(path), reply.status, reply.body);
}

/** A REST request; never a 5xx, and every body matches the OpenAPI document. */
async function rest(method: string, path: string, token: string | null, body?: unknown): Promise<Reply> {
  const reply = await restRequest(origin, method, path, token, body);
  expect(reply.status, JSON.stringify(reply.body)).toBeLessThan(500);
  if (token) expectDocumented(method, path, reply);
  return reply;
}

const veleria = (tenant: TestTenant) => tenant.tokenWith(DATA_SCOPES, "VELERIA");
const ids = (reply: Reply) => reply.body.data.map((row: { id: string }) => row.id);

async function createContact(tenant: TestTenant, input: Record<string, unknown>): Promise<string> {
  return (await server.ok(tenant, `mutation($input: ContactInput!) { createContact(input: $input) { id } }`, { input })).createContact.id;
}

function expectError(reply: Reply, status: number, code: string) {
  expect(reply.status, JSON.stringify(reply.body)).toBe(status);
  expect(reply.body).toMatchObject({ success: false, error: { code, message: expect.any(String) } });
}

const counts = (tenant: TestTenant) =>
  Promise.all([
    server.db.prisma.contact.count({ where: { tenantId: tenant.id } }),
    server.db.prisma.booking.count({ where: { tenantId: tenant.id } }),
  ]);

// ---------------------------------------------------------------------------------------
// Contacts.
// ---------------------------------------------------------------------------------------

describe("contacts", () => {
  let tenant: TestTenant;
  let token: string;
  beforeAll(async () => {
    tenant = await server.createTenant("Veleria contacts");
    token = await veleria(tenant);
    await createContact(tenant, { firstName: "Sarah", email: "sarah@example.com.au" });
    await createContact(tenant, { firstName: "Tom", lastName: "Lee", phone: "+61 400 000 000" });
  });

  test("the quick start's request answers the documented shape", async () => {
    const response = await fetch(`${origin}/v1/contacts`, {
      method: "GET",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    const body = (await response.json()) as any;
    expect(body.success).toBe(true);
    expect(body.data[0].id).toMatch(/^con_[0-9a-f-]{36}$/);
    expect(body.data[0]).toMatchObject({ first_name: "Tom", last_name: "Lee", email: null, phone: "+61 400 000 000", tags: [], custom_fields: {} });
    expect(body.data[1]).toMatchObject({ first_name: "Sarah", email: "sarah@example.com.au" });
    expect(body.pagination).toEqual({ total: 2, page: 1, per_page: 20, total_pages: 1 });
    expectDocumented("GET", "/v1/contacts", { status: 200, body, headers: response.headers });
  });

  test("both base paths answer the same", async () => {
    const documented = await rest("GET", "/api/v1/contacts", token);
    const short = await rest("GET", "/v1/contacts", token);
    expect(documented.status).toBe(200);
    expect(short.body).toEqual(documented.body);
    expect(spec.servers.map((each) => each.url)).toEqual(["/api/v1", "/v1"]);
    // The OpenAPI check is not vacuous: a body off the documented shape fails it.
    expect(() => expectDocumented("GET", "/v1/contacts", { ...short, body: { success: true, data: [{ id: "con_abc123" }] } })).toThrow();
  });

  test("create, get, update and delete round trip, visible to GraphQL both ways", async () => {
    const created = await rest("POST", "/api/v1/contacts", token, {
      first_name: "Mia",
      last_name: "Wong",
      email: "mia@example.com.au",
      phone: "+61 411 222 333",
      tags: ["vip"],
      custom_fields: { plan: "gold" },
      language: "en-AU",
    });
    expect(created.status).toBe(201);
    const id: string = created.body.data.id;
    expect(id).toMatch(/^con_/);
    expect(created.body).toEqual({
      success: true,
      data: {
        id,
        first_name: "Mia",
        last_name: "Wong",
        email: "mia@example.com.au",
        phone: "+61 411 222 333",
        tags: ["vip"],
        custom_fields: { plan: "gold" },
        language: "en-AU",
        created_at: expect.any(String),
        updated_at: expect.any(String),
      },
    });

    const fetched = await rest("GET", `/v1/contacts/${id}`, token);
    expect(fetched.status).toBe(200);
    expect(fetched.body).toEqual(created.body);

    // Fields sent change, others stay; null clears.
    const updated = await rest("PUT", `/v1/contacts/${id}`, token, { email: "mia@new.example", phone: null });
    expect(updated.status).toBe(200);
    expect(updated.body.data).toMatchObject({ first_name: "Mia", last_name: "Wong", email: "mia@new.example", phone: null, tags: ["vip"] });

    const CONTACT = `query($id: ID!) { node(id: $id) { ... on Contact { firstName email phone } } }`;
    expect((await server.ok(tenant, CONTACT, { id })).node).toEqual({ firstName: "Mia", email: "mia@new.example", phone: null });

    await server.ok(tenant, `mutation($id: ID!) { updateContact(id: $id, input: { firstName: "Maya" }) { id } }`, { id });
    expect((await rest("GET", `/api/v1/contacts/${id}`, token)).body.data).toMatchObject({ first_name: "Maya", email: "mia@new.example" });

    const deleted = await rest("DELETE", `/api/v1/contacts/${id}`, token);
    expect(deleted.status).toBe(200);
    expect(deleted.body).toEqual({ success: true, data: { id, deleted: true } });
    const gone = await server.gql(`query($id: ID!) { node(id: $id) { id } }`, { id }, tenant.token);
    expect(gone.data?.node ?? null).toBeNull();
    expectError(await rest("GET", `/v1/contacts/${id}`, token), 404, "not_found");
    expectError(await rest("DELETE", `/v1/contacts/${id}`, token), 404, "not_found");
  });

  test("pages, page sizes and search", async () => {
    const paged = await server.createTenant("Veleria pages");
    await server.db.prisma.contact.createMany({
      data: Array.from({ length: 25 }, (_, i) => ({
        tenantId: paged.id,
        firstName: i === 7 ? "Zelda" : `Person${i}`,
        createdAt: new Date(Date.UTC(2026, 0, 1, 0, i)),
      })),
    });
    const pagedToken = await veleria(paged);

    const pages = await Promise.all([1, 2, 3].map((page) => rest("GET", `/v1/contacts?page=${page}&per_page=10`, pagedToken)));
    expect(pages.map((page) => page.body.data.length)).toEqual([10, 10, 5]);
    expect(pages.map((page) => page.body.pagination)).toEqual([1, 2, 3].map((page) => ({ total: 25, page, per_page: 10, total_pages: 3 })));
    const all = pages.flatMap(ids);
    expect(new Set(all).size).toBe(25);
    expect(pages[0]!.body.data[0].first_name).toBe("Person24"); // newest first

    const byDefault = await rest("GET", "/v1/contacts", pagedToken);
    expect(byDefault.body.data).toHaveLength(20);
    expect(byDefault.body.pagination).toEqual({ total: 25, page: 1, per_page: 20, total_pages: 2 });
    expect(ids(byDefault)).toEqual(all.slice(0, 20));

    const capped = await rest("GET", "/v1/contacts?per_page=500", pagedToken);
    expect(capped.body.pagination).toEqual({ total: 25, page: 1, per_page: 100, total_pages: 1 });
    expect(capped.body.data).toHaveLength(25);

    for (const query of ["page=0", "per_page=0", "page=-1"]) {
      const refused = await rest("GET", `/v1/contacts?${query}`, pagedToken);
      expectError(refused, 422, "unprocessable_entity");
      expect(refused.body.error.message).toBe(`${query.split("=")[0]}: must be 1 or more`);
    }
    const beyond = await rest("GET", "/v1/contacts?page=9&per_page=10", pagedToken);
    expect(beyond.body).toEqual({ success: true, data: [], pagination: { total: 25, page: 9, per_page: 10, total_pages: 3 } });

    const found = await rest("GET", "/v1/contacts?search=zelda", pagedToken);
    expect(found.body.data.map((row: { first_name: string }) => row.first_name)).toEqual(["Zelda"]);
    expect(found.body.pagination).toEqual({ total: 1, page: 1, per_page: 20, total_pages: 1 });
  });
});

// ---------------------------------------------------------------------------------------
// Bookings.
// ---------------------------------------------------------------------------------------

describe("bookings", () => {
  let tenant: TestTenant;
  let token: string;
  let ada: string;
  let bob: string;
  beforeAll(async () => {
    tenant = await server.createTenant("Veleria bookings");
    token = await veleria(tenant);
    ada = await createContact(tenant, { firstName: "Ada" });
    bob = await createContact(tenant, { firstName: "Bob" });
  });

  test("create answers 201 with lower-case status, and GraphQL sees it", async () => {
    const created = await rest("POST", "/v1/bookings", token, {
      contact_id: ada,
      service: "Personal Training",
      starts_at: "2026-03-29T14:30:00+11:00",
      ends_at: "2026-03-29T15:30:00+11:00",
      status: "confirmed",
      notes: "Bring water",
    });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      success: true,
      data: {
        id: expect.stringMatching(/^bkg_[0-9a-f-]{36}$/),
        contact_id: ada,
        service: "Personal Training",
        status: "confirmed",
        starts_at: "2026-03-29T03:30:00.000Z",
        ends_at: "2026-03-29T04:30:00.000Z",
        notes: "Bring water",
        created_at: expect.any(String),
        updated_at: expect.any(String),
      },
    });
    const BOOKING = `query($id: ID!) { node(id: $id) { ... on Booking { status service contactId } } }`;
    expect((await server.ok(tenant, BOOKING, { id: created.body.data.id })).node).toEqual({
      status: "CONFIRMED",
      service: "Personal Training",
      contactId: ada,
    });

    const plain = await rest("POST", "/api/v1/bookings", token, {
      contact_id: bob,
      service: "Massage",
      starts_at: "2026-04-02T09:00:00Z",
      ends_at: "2026-04-02T10:00:00Z",
    });
    expect(plain.status).toBe(201);
    expect(plain.body.data).toMatchObject({ status: "pending", notes: null, contact_id: bob });
  });

  test("list filters by status, contact, and start time; pages", async () => {
    const filtered = await server.createTenant("Veleria booking filters");
    const filteredToken = await veleria(filtered);
    const [carol, dan] = [await createContact(filtered, { firstName: "Carol" }), await createContact(filtered, { firstName: "Dan" })];
    const book = (contactId: string, day: number, status: string) =>
      server.ok(filtered, `mutation($input: CreateBookingInput!) { createBooking(input: $input) { id } }`, {
        input: {
          contactId,
          service: "Yoga",
          startsAt: `2026-05-${String(day).padStart(2, "0")}T09:00:00Z`,
          endsAt: `2026-05-${String(day).padStart(2, "0")}T10:00:00Z`,
          status,
        },
      });
    for (const [contact, day, status] of [
      [carol, 1, "CONFIRMED"],
      [carol, 2, "CANCELLED"],
      [dan, 3, "CONFIRMED"],
      [dan, 4, "PENDING"],
      [carol, 5, "COMPLETED"],
    ] as const) {
      await book(contact, day, status);
    }
    const days = (reply: Reply) => reply.body.data.map((row: { starts_at: string }) => Number(row.starts_at.slice(8, 10)));

    const all = await rest("GET", "/v1/bookings", filteredToken);
    expect(days(all)).toEqual([1, 2, 3, 4, 5]);
    expect(all.body.pagination).toEqual({ total: 5, page: 1, per_page: 20, total_pages: 1 });

    expect(days(await rest("GET", "/v1/bookings?status=confirmed", filteredToken))).toEqual([1, 3]);
    expect(days(await rest("GET", `/v1/bookings?contact_id=${carol}`, filteredToken))).toEqual([1, 2, 5]);
    expect(days(await rest("GET", "/v1/bookings?from=2026-05-02T00:00:00Z&to=2026-05-04T09:00:00Z", filteredToken))).toEqual([2, 3]);
    const combined = await rest("GET", `/api/v1/bookings?status=confirmed&contact_id=${dan}&from=2026-05-01T00:00:00%2B02:00`, filteredToken);
    expect(days(combined)).toEqual([3]);
    expect(combined.body.data[0]).toMatchObject({ contact_id: dan, status: "confirmed" });

    const second = await rest("GET", "/v1/bookings?per_page=2&page=2", filteredToken);
    expect(days(second)).toEqual([3, 4]);
    expect(second.body.pagination).toEqual({ total: 5, page: 2, per_page: 2, total_pages: 3 });

    // Another tenant's bookings never show.
    expect((await rest("GET", `/v1/bookings?contact_id=${ada}`, filteredToken)).body.data).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------
// Conversations.
// ---------------------------------------------------------------------------------------

describe("conversations", () => {
  test("list with status, channel, contact and agent filters, and pages", async () => {
    const tenant = await server.createTenant("Veleria conversations");
    const token = await veleria(tenant);
    const contact = await createContact(tenant, { firstName: "Eve" });
    const agent = (await server.ok(tenant, `mutation { createAgent(input: { name: "Receptionist" }) { id } }`)).createAgent.id;
    const open = async (input: Record<string, unknown>) =>
      (await server.ok(tenant, `mutation($input: CreateConversationInput!) { createConversation(input: $input) { id } }`, { input }))
        .createConversation.id as string;
    const whatsapp = await open({ channelType: "WHATSAPP", customerIdentifier: "+61400000001", customerName: "Eve", contactId: contact, agentId: agent });
    const sms = await open({ channelType: "SMS", customerIdentifier: "+61400000002" });
    const closed = await open({ channelType: "WHATSAPP", customerIdentifier: "+61400000003" });
    await server.ok(tenant, `mutation($id: ID!) { updateConversation(id: $id, input: { status: CLOSED }) { id } }`, { id: closed });

    const all = await rest("GET", "/v1/conversations", token);
    expect(all.status).toBe(200);
    expect(new Set(ids(all))).toEqual(new Set([whatsapp, sms, closed]));
    expect(all.body.pagination).toEqual({ total: 3, page: 1, per_page: 20, total_pages: 1 });
    expect(all.body.data.find((row: { id: string }) => row.id === whatsapp)).toEqual({
      id: expect.stringMatching(/^conv_/),
      channel: "whatsapp",
      status: "open",
      customer_identifier: "+61400000001",
      customer_name: "Eve",
      contact_id: contact,
      agent_id: agent,
      last_message_at: null,
      created_at: expect.any(String),
    });

    expect(new Set(ids(await rest("GET", "/v1/conversations?status=open", token)))).toEqual(new Set([whatsapp, sms]));
    expect(ids(await rest("GET", "/v1/conversations?status=closed", token))).toEqual([closed]);
    expect(new Set(ids(await rest("GET", "/api/v1/conversations?channel=whatsapp", token)))).toEqual(new Set([whatsapp, closed]));
    expect(ids(await rest("GET", "/v1/conversations?channel=whatsapp&status=open", token))).toEqual([whatsapp]);
    expect(ids(await rest("GET", `/v1/conversations?contact_id=${contact}`, token))).toEqual([whatsapp]);
    expect(ids(await rest("GET", `/v1/conversations?agent_id=${agent}`, token))).toEqual([whatsapp]);

    const pages = await Promise.all([1, 2].map((page) => rest("GET", `/v1/conversations?per_page=2&page=${page}`, token)));
    expect(pages.map((page) => page.body.pagination)).toEqual([
      { total: 3, page: 1, per_page: 2, total_pages: 2 },
      { total: 3, page: 2, per_page: 2, total_pages: 2 },
    ]);
    expect(new Set(pages.flatMap(ids))).toEqual(new Set([whatsapp, sms, closed]));
  });
});

// ---------------------------------------------------------------------------------------
// Errors.
// ---------------------------------------------------------------------------------------

describe("POST /messages/send", () => {
  test("opens the contact's email conversation once, queues the message there, and numbers each one", async () => {
    const tenant = await server.createTenant("Veleria send");
    const token = await veleria(tenant);
    const contact = await createContact(tenant, { firstName: "Eve", email: "eve@example.com" });
    const first = await rest("POST", "/v1/messages/send", token, { contact_id: contact, channel: "email", content: "Your booking is confirmed" });
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    expect(first.body).toMatchObject({
      success: true,
      data: { contact_id: contact, channel: "email", role: "assistant", content: "Your booking is confirmed", sequence: 1, status: "queued" },
    });
    const second = await rest("POST", "/api/v1/messages/send", token, { contact_id: contact, channel: "EMAIL", content: "See you soon" });
    expect(second.body.data).toMatchObject({ conversation_id: first.body.data.conversation_id, sequence: 2 });
    // The conversation is visible as Veleria lists it, at the contact's email.
    const listed = await rest("GET", `/v1/conversations?contact_id=${contact}`, token);
    expect(listed.body.data).toEqual([expect.objectContaining({ id: first.body.data.conversation_id, customer_identifier: "eve@example.com", channel: "email" })]);
  });

  test.each([
    ["a contact without a phone, on whatsapp", { channel: "whatsapp", content: "Hi" }, "channel"],
    ["an unknown channel", { channel: "pigeon", content: "Hi" }, "channel"],
    ["no content", { channel: "email" }, "content"],
    ["blank content", { channel: "email", content: "   " }, "content"],
  ])("%s: 422 naming %s, nothing written", async (_name, body, field) => {
    const tenant = await server.createTenant("Veleria send refused");
    const token = await veleria(tenant);
    const contact = await createContact(tenant, { firstName: "Eve", email: "eve@example.com" });
    const before = await snapshot(server, tenant.id);
    const reply = await rest("POST", "/v1/messages/send", token, { contact_id: contact, ...body });
    expectError(reply, 422, "unprocessable_entity");
    expect(Object.keys(reply.body.error.fields)).toEqual([field]);
    expect(await snapshot(server, tenant.id)).toEqual(before);
  });

  test("another tenant's contact: the same 404 as an unknown one", async () => {
    const tenant = await server.createTenant("Veleria send A");
    const other = await server.createTenant("Veleria send B");
    const theirs = await createContact(other, { firstName: "Bob", email: "bob@example.com" });
    const reply = await rest("POST", "/v1/messages/send", await veleria(tenant), { contact_id: theirs, channel: "email", content: "Hi" });
    expectError(reply, 404, "not_found");
  });
});

describe("errors", () => {
  let tenant: TestTenant;
  let token: string;
  let contact: string;
  let other: string;
  beforeAll(async () => {
    tenant = await server.createTenant("Veleria errors");
    token = await veleria(tenant);
    contact = await createContact(tenant, { firstName: "Ivy", email: "ivy@example.com" });
    const neighbour = await server.createTenant("Veleria neighbour");
    other = await createContact(neighbour, { firstName: "Other" });
  });

  test("400 for a body that is not JSON, writing nothing", async () => {
    const before = await counts(tenant);
    const reply = await rest("POST", "/v1/contacts", token, '{"first_name": "Broken"');
    expectError(reply, 400, "bad_request");
    expectError(await rest("PUT", `/v1/contacts/${contact}`, token, "[1, 2]"), 400, "bad_request");
    expect(await counts(tenant)).toEqual(before);
  });

  test("401: no token and a wrong Veleria token both get the Veleria body; a path Convo shares, the generic one", async () => {
    const none = await rest("GET", "/v1/contacts", null);
    expectError(none, 401, "unauthorized");
    expect(none.headers.get("www-authenticate")).toBe("Bearer");
    expect(none.body.error.message).toContain("vela_live_sk_");
    const shared = await rest("GET", "/api/v1/conversations", null);
    expect(shared.status).toBe(401);
    expect(shared.body).toEqual({ error: { code: "UNAUTHENTICATED", message: expect.stringContaining("vela_live_sk_") } });

    const wrong = await rest("GET", "/api/v1/contacts", `vela_live_sk_${"x".repeat(40)}`);
    expectError(wrong, 401, "unauthorized");
    expect(wrong.headers.get("www-authenticate")).toBe("Bearer");
  });

  test("a value outside an enum: the 422 lists the values in Veleria's lower case", async () => {
    const reply = await rest("GET", "/v1/conversations?channel=pigeon", await veleria(tenant));
    expectError(reply, 422, "unprocessable_entity");
    expect(reply.body.error.fields.channel[0]).toMatch(/^must be one of: (\w+, )+\w+$/);
    expect(reply.body.error.fields.channel[0]).toContain("whatsapp");
    expect(reply.body.error.fields.channel[0]).not.toMatch(/[A-Z]/);
  });

  test("403 names the missing scope, writing nothing", async () => {
    const readOnly = await tenant.tokenWith(["contacts:read"], "VELERIA");
    const before = await counts(tenant);
    const refused = await rest("POST", "/v1/contacts", readOnly, { first_name: "Nope" });
    expectError(refused, 403, "forbidden");
    expect(refused.body.error).toMatchObject({ scope: "contacts:write", message: expect.stringContaining("contacts:write") });
    expect((await rest("DELETE", `/v1/contacts/${contact}`, readOnly)).body.error.scope).toBe("contacts:write");
    expect((await rest("GET", "/v1/bookings", readOnly)).body.error).toMatchObject({ code: "forbidden", scope: "bookings:read" });
    expect((await rest("GET", "/v1/conversations", readOnly)).body.error).toMatchObject({ code: "forbidden", scope: "conversations:read" });
    expect((await rest("GET", `/v1/contacts/${contact}`, readOnly)).status).toBe(200);
    expect(await counts(tenant)).toEqual(before);
  });

  test("404: unknown, another tenant's and malformed ids answer alike; so do unknown paths", async () => {
    const unknown = `con_${randomUUID()}`;
    const bodies = [];
    for (const id of [unknown, other, "abc", randomUUID(), `bkg_${randomUUID()}`, `con_${randomUUID().toUpperCase()}`]) {
      for (const [method, body] of [["GET"], ["PUT", { first_name: "X" }], ["DELETE"]] as const) {
        const reply = await rest(method, `/v1/contacts/${encodeURIComponent(id)}`, token, body);
        expectError(reply, 404, "not_found");
        bodies.push(reply.body);
      }
    }
    expect(new Set(bodies.map((body) => JSON.stringify(body))).size).toBe(1);
    expect(bodies[0]).toEqual({ success: false, error: { code: "not_found", message: "Not found" } });

    expectError(await rest("GET", "/v1/widgets", token), 404, "not_found");
    expectError(await rest("GET", "/api/v1/contacts/x/y", token), 404, "not_found");
    const wrongMethod = await rest("PATCH", "/v1/contacts", token, {});
    expectError(wrongMethod, 405, "method_not_allowed");
    expect(wrongMethod.headers.get("allow")).toBe("GET, POST");
  });

  /**
   * The DateTime scalar's refusal carries its own code, and the server's maskError adds the
   * argument path only to errors without one, so the field arrives unnamed ("body"). Expect
   * the Veleria name, or "body" until the schema names it.
   */
  const dateField = (name: string) => [name, "body"];

  test("422 maps each rejected field to its Veleria name, writing nothing", async () => {
    const before = await counts(tenant);
    const invalid = async (method: string, path: string, body: unknown, field: string | string[]) => {
      const reply = await rest(method, path, token, body);
      expectError(reply, 422, "unprocessable_entity");
      const named = Object.keys(reply.body.error.fields);
      expect(named.some((name) => [field].flat().includes(name)), JSON.stringify(reply.body)).toBe(true);
      return reply;
    };
    const email = await invalid("POST", "/v1/contacts", { first_name: "Bad", email: "not-an-email" }, "email");
    expect(email.body.error.fields.email[0]).toMatch(/email/);
    await invalid("PUT", `/v1/contacts/${contact}`, { email: "still-not-an-email" }, "email");
    await invalid("POST", "/v1/contacts", { first_name: 42 }, "first_name");
    await invalid("POST", "/v1/contacts", { first_name: "Lang", language: "English" }, "language");
    await invalid("POST", "/v1/contacts", { first_name: "Fields", custom_fields: [1] }, "custom_fields");
    await invalid("POST", "/v1/contacts", {}, "body");
    await invalid("PUT", `/v1/contacts/${contact}`, { first_name: null, email: null }, "body");

    const booking = { contact_id: contact, service: "Yoga", starts_at: "2026-06-01T10:00:00Z", ends_at: "2026-06-01T11:00:00Z" };
    await invalid("POST", "/v1/bookings", { ...booking, ends_at: "2026-06-01T09:00:00Z" }, "ends_at");
    await invalid("POST", "/v1/bookings", { ...booking, status: "maybe" }, "status");
    // A DateTime the schema refuses: see dateField.
    await invalid("POST", "/v1/bookings", { ...booking, starts_at: "next tuesday" }, dateField("starts_at"));
    await invalid("POST", "/v1/bookings", { ...booking, service: undefined }, "service");
    await invalid("POST", "/v1/bookings", { ...booking, contact_id: "abc" }, "contact_id");

    await invalid("GET", "/v1/bookings?status=maybe", undefined, "status");
    await invalid("GET", "/v1/bookings?from=yesterday", undefined, dateField("from"));
    await invalid("GET", "/v1/bookings?contact_id=abc", undefined, "contact_id");
    await invalid("GET", "/v1/conversations?status=pending", undefined, "status");
    await invalid("GET", "/v1/conversations?channel=fax", undefined, "channel");
    await invalid("GET", "/v1/contacts?per_page=ten", undefined, "per_page");
    await invalid("GET", "/v1/contacts?page=0", undefined, "page");

    expect(await counts(tenant)).toEqual(before);
    expect((await rest("GET", `/v1/contacts/${contact}`, token)).body.data).toMatchObject({ first_name: "Ivy", email: "ivy@example.com" });
  });

  test("a booking for another tenant's contact is refused like an unknown one", async () => {
    const before = await counts(tenant);
    const booking = { service: "Yoga", starts_at: "2026-06-01T10:00:00Z", ends_at: "2026-06-01T11:00:00Z" };
    const foreign = await rest("POST", "/v1/bookings", token, { ...booking, contact_id: other });
    const unknown = await rest("POST", "/v1/bookings", token, { ...booking, contact_id: `con_${randomUUID()}` });
    expect(foreign.status).toBeGreaterThanOrEqual(400);
    expect(foreign.body).toEqual(unknown.body);
    expect(foreign.status).toBe(unknown.status);
    expect(await counts(tenant)).toEqual(before);
  });
});
