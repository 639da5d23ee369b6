// Vorel's offerings (src/rest/dialects/vorel.ts, src/graphql/types/offering.ts): create, list,
// get and patch with the platform's own kind of request; the price as a number in and an exact
// decimal string out; strict bodies; soft delete through GraphQL; cursor pages; scopes; tenants;
// appointments that name an offering; and the offering.* webhooks, whose data is what
// GET /offerings/{id} answers. Every answer is checked against the served OpenAPI document.
import { createHmac, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { toCanonicalScopes, UnknownScopeError } from "../src/auth/scopes.js";
import { offeringEvent } from "../src/events/events.js";
import { createRenderer } from "../src/webhooks/render.js";
import { snapshot } from "./fixtures.js";
import { waitUntil, type TestServer, type TestTenant } from "./harness.js";
import { restRequest, startRestTestServer, type OpenApiOracle, type Reply } from "./openapi-oracle.js";
import { startReceiver, type Receiver } from "./webhook-receiver.js";

let server: TestServer;
let origin: string;
let oracle: OpenApiOracle;

beforeAll(async () => {
  ({ server, origin, oracle } = await startRestTestServer(["vorel"]));
});
afterAll(() => server?.close());

const UNKNOWN = "3c90c3cc-0d44-4b50-8888-8dd25736052a";

/** A Vorel call under /api/v1; its answer must be the documented one for its route and status. */
async function vorel(token: string, method: string, path: string, body?: unknown): Promise<Reply> {
  const reply = await restRequest(origin, method, `/api/v1${path}`, token, body);
  oracle.expectDocumented("vorel", method, path.split("?")[0]!.replace(/\/[0-9a-f-]{36}(?=\/|$)/g, "/{id}"), reply.status, reply.body);
  return reply;
}

/** A key holding every Vorel scope: read, leads:write, appointments:write, offerings:write. */
const vorelKey = (tenant: TestTenant) => tenant.tokenWith(toCanonicalScopes("VOREL", ["read", "leads:write", "appointments:write", "offerings:write"]), "VOREL");

let tenant: TestTenant;
let key: string;
beforeAll(async () => {
  tenant = await server.createTenant("Vorel offerings");
  key = await vorelKey(tenant);
});

/** A listing as a real-estate integration would send it. */
const listing = (overrides: Record<string, unknown> = {}) => ({
  title: "2BR apartment, Dubai Marina",
  title_ar: "شقة بغرفتي نوم في دبي مارينا",
  description: "Sea view, high floor, walking distance to the tram.",
  description_ar: "إطلالة على البحر، طابق مرتفع.",
  price: 1250.5,
  price_currency: "AED",
  external_id: "LST-1042",
  reference_number: "REF-2026-118",
  address: "Marina Walk, Dubai",
  photos: ["https://cdn.example.com/listings/1042/1.jpg", "https://cdn.example.com/listings/1042/2.jpg"],
  status: "available",
  available_from: "2026-06-01",
  attributes: { bedrooms: 2, size_sqft: 1150, furnished: true },
  ...overrides,
});

async function create(body: Record<string, unknown> = listing(), token = key) {
  const reply = await vorel(token, "POST", "/offerings", body);
  expect(reply.status, JSON.stringify(reply.body)).toBe(201);
  return reply.body;
}

const gql = (query: string, variables: Record<string, unknown> = {}, on = tenant) => server.ok(on, query, variables);
const deleteOffering = (id: string, on = tenant) => gql(`mutation($id: ID!) { deleteOffering(id: $id) }`, { id: `off_${id}` }, on);

describe("create and read", () => {
  test("POST /offerings: the listing as sent, the price as an exact decimal string; GET answers the same", async () => {
    const created = await vorel(key, "POST", "/offerings", listing());
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/),
      title: "2BR apartment, Dubai Marina",
      price: "1250.50",
      price_currency: "AED",
      photos: ["https://cdn.example.com/listings/1042/1.jpg", "https://cdn.example.com/listings/1042/2.jpg"],
      status: "available",
      created_at: expect.any(String),
      updated_at: expect.any(String),
      external_id: "LST-1042",
      reference_number: "REF-2026-118",
      title_ar: "شقة بغرفتي نوم في دبي مارينا",
      description: "Sea view, high floor, walking distance to the tram.",
      description_ar: "إطلالة على البحر، طابق مرتفع.",
      address: "Marina Walk, Dubai",
      available_from: "2026-06-01",
      attributes: { bedrooms: 2, size_sqft: 1150, furnished: true },
    });
    expect((await vorel(key, "GET", `/offerings/${created.body.id}`)).body).toEqual(created.body);

    // Stored as an exact decimal, in this tenant.
    const row = await server.db.prisma.offering.findUniqueOrThrow({ where: { id: created.body.id } });
    expect(row).toMatchObject({ tenantId: tenant.id, priceCurrency: "AED", deletedAt: null });
    expect(row.price.toFixed(2)).toBe("1250.50");
    expect(row.availableFrom?.toISOString()).toBe("2026-06-01T00:00:00.000Z");
    // GraphQL shows the same offering.
    const node = await gql(`query($id: ID!) { node(id: $id) { ... on Offering { title price priceCurrency availableFrom attributes } } }`, { id: `off_${created.body.id}` });
    expect(node.node).toEqual({ title: "2BR apartment, Dubai Marina", price: "1250.50", priceCurrency: "AED", availableFrom: "2026-06-01", attributes: { bedrooms: 2, size_sqft: 1150, furnished: true } });
  });

  test("only title and price are required: AED, status active, no photos, empty attributes, nulls", async () => {
    const created = await create({ title: "Consultation", price: 0 });
    expect(created).toEqual({
      id: expect.any(String),
      title: "Consultation",
      price: "0.00",
      price_currency: "AED",
      photos: [],
      status: "active",
      created_at: expect.any(String),
      updated_at: expect.any(String),
      external_id: null,
      reference_number: null,
      title_ar: null,
      description: null,
      description_ar: null,
      address: null,
      available_from: null,
      attributes: {},
    });
  });

  test("prices: a number in, two decimals out, nothing rounded", async () => {
    for (const [price, answered] of [
      [1250, "1250.00"],
      [19.99, "19.99"],
      [0.1, "0.10"],
      [999_999_999_999.99, "999999999999.99"],
    ] as const) {
      expect((await create({ title: `Priced ${price}`, price, price_currency: "USD" })).price, String(price)).toBe(answered);
    }
  });

  test("refusals: 422 naming the field, for each rule Vorel documents; nothing written", async () => {
    const before = await snapshot(server, tenant.id);
    const cases: [Record<string, unknown>, string][] = [
      [{ price: -1 }, "price"],
      [{ price: 1e12 }, "price"],
      [{ price: 1e21 }, "price"],
      [{ price: 12.345 }, "price"],
      [{ price: 1e-7 }, "price"],
      [{ price: "1250.50" }, "price"],
      [{ price: undefined }, "price"],
      [{ price: null }, "price"],
      [{ title: undefined }, "title"],
      [{ title: "" }, "title"],
      [{ title: "t".repeat(501) }, "title"],
      [{ title: 42 }, "title"],
      [{ price_currency: "aed" }, "price_currency"],
      [{ price_currency: "DIRHAM" }, "price_currency"],
      [{ external_id: "e".repeat(121) }, "external_id"],
      [{ reference_number: "r".repeat(121) }, "reference_number"],
      [{ title_ar: "ع".repeat(501) }, "title_ar"],
      [{ description: "d".repeat(10_001) }, "description"],
      [{ description_ar: "d".repeat(10_001) }, "description_ar"],
      [{ address: "a".repeat(501) }, "address"],
      [{ photos: Array.from({ length: 21 }, (_, i) => `https://cdn.example.com/${i}.jpg`) }, "photos"],
      [{ photos: ["javascript:alert(1)"] }, "photos"],
      [{ photos: ["not a url"] }, "photos"],
      [{ photos: [`https://cdn.example.com/${"p".repeat(2048)}.jpg`] }, "photos"],
      [{ status: "s".repeat(41) }, "status"],
      [{ available_from: "2026-02-30" }, "available_from"],
      [{ available_from: "01/06/2026" }, "available_from"],
      [{ attributes: "sea view" }, "attributes"],
      [{ attributes: [1, 2] }, "attributes"],
      // Strict: a field Vorel does not document.
      [{ bedrooms: 2 }, "bedrooms"],
      [{ assigned_user_id: UNKNOWN }, "assigned_user_id"],
      [{ id: UNKNOWN }, "id"],
    ];
    for (const [fields, field] of cases) {
      const reply = await vorel(key, "POST", "/offerings", listing(fields));
      expect(reply.status, JSON.stringify([fields, reply.body]).slice(0, 300)).toBe(422);
      expect(reply.body.error.code).toBe("validation_error");
      expect(Object.keys(reply.body.error.fields), JSON.stringify(reply.body)).toEqual([field]);
      expect(reply.body.error.message.startsWith(`${field}: `)).toBe(true);
    }
    expect(await snapshot(server, tenant.id)).toEqual(before);
  });
});

describe("PATCH /offerings/{id}", () => {
  test("a strict partial: attributes shallow-merged, a null attribute removed, null clears, the price a number", async () => {
    const created = await create();
    const patched = await vorel(key, "PATCH", `/offerings/${created.id}`, {
      price: 1300,
      description: null,
      status: "reserved",
      photos: ["https://cdn.example.com/listings/1042/3.jpg"],
      attributes: { bedrooms: 3, furnished: null, parking: true },
    });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(patched.body).toEqual({
      ...created,
      price: "1300.00",
      description: null,
      status: "reserved",
      photos: ["https://cdn.example.com/listings/1042/3.jpg"],
      attributes: { bedrooms: 3, size_sqft: 1150, parking: true },
      updated_at: expect.any(String),
    });
    expect(Date.parse(patched.body.updated_at)).toBeGreaterThanOrEqual(Date.parse(created.updated_at));
    expect((await vorel(key, "GET", `/offerings/${created.id}`)).body).toEqual(patched.body);

    // attributes alone change the offering too.
    const merged = await vorel(key, "PATCH", `/offerings/${created.id}`, { attributes: { view: "sea" } });
    expect(merged.body.attributes).toEqual({ bedrooms: 3, size_sqft: 1150, parking: true, view: "sea" });
    const cleared = await vorel(key, "PATCH", `/offerings/${created.id}`, { available_from: null, external_id: null, price_currency: "USD" });
    expect(cleared.body).toMatchObject({ available_from: null, external_id: null, price_currency: "USD", price: "1300.00" });
  });

  test("refusals: fixed and unknown fields, cleared required ones, an empty body: 422; an unknown id: 404; nothing written", async () => {
    const created = await create();
    const before = await snapshot(server, tenant.id);
    for (const [body, field, message] of [
      [{}, "body", undefined],
      [{ assigned_user_id: UNKNOWN }, "assigned_user_id", "cannot be changed"],
      [{ deleted_at: "2026-01-01T00:00:00Z" }, "deleted_at", "cannot be changed"],
      [{ metadata: { source: "crm" } }, "metadata", "cannot be changed"],
      [{ created_at: "2026-01-01T00:00:00Z" }, "created_at", "is not a known field"],
      [{ title: null }, "title", "cannot be cleared"],
      [{ price: null }, "price", "cannot be cleared"],
      [{ price_currency: null }, "price_currency", "cannot be cleared"],
      [{ status: null }, "status", "cannot be cleared"],
      [{ photos: null }, "photos", "cannot be cleared"],
      [{ attributes: null }, "attributes", undefined],
      [{ price: -5 }, "price", "must be 0 or more"],
      [{ price: 10.001 }, "price", "must have at most 2 decimal places"],
      [{ price_currency: "usd" }, "price_currency", undefined],
      [{ title: "" }, "title", "must not be empty"],
    ] as const) {
      const reply = await vorel(key, "PATCH", `/offerings/${created.id}`, body);
      expect(reply.status, JSON.stringify([body, reply.body])).toBe(422);
      expect(Object.keys(reply.body.error.fields)).toEqual([field]);
      if (message) expect(reply.body.error.fields[field][0]).toContain(message);
    }
    const unknown = await vorel(key, "PATCH", `/offerings/${UNKNOWN}`, { title: "x" });
    expect(unknown).toMatchObject({ status: 404, body: { error: { code: "not_found", message: "Not found" } } });
    const malformed = await restRequest(origin, "PATCH", "/api/v1/offerings/not-a-uuid", key, { title: "x" });
    oracle.expectDocumented("vorel", "PATCH", "/offerings/{id}", malformed.status, malformed.body);
    expect(malformed).toMatchObject({ status: 404, body: unknown.body });
    expect(await snapshot(server, tenant.id)).toEqual(before);
  });
});

describe("soft delete (GraphQL deleteOffering)", () => {
  test("a deleted offering is the same 404 as an unknown one, left out of lists, and cannot be changed, deleted again or booked", async () => {
    const own = await server.createTenant("Deleted offerings");
    const token = await vorelKey(own);
    const kept = await create(listing({ title: "Kept" }), token);
    const gone = await create(listing({ title: "Gone" }), token);
    const booked = await vorel(token, "POST", "/appointments", {
      customer_name: "Amira Haddad",
      customer_phone: "+971501234567",
      scheduled_start: "2026-05-15T14:00:00+04:00",
      scheduled_end: "2026-05-15T15:00:00+04:00",
      offering_id: gone.id,
    });
    expect(booked.status, JSON.stringify(booked.body)).toBe(201);

    const deleted = await deleteOffering(gone.id, own);
    expect(deleted.deleteOffering).toBe(`off_${gone.id}`);
    const row = await server.db.prisma.offering.findUniqueOrThrow({ where: { id: gone.id } });
    expect(row.deletedAt).not.toBeNull();

    const got = await vorel(token, "GET", `/offerings/${gone.id}`);
    expect(got.status).toBe(404);
    expect(got.body).toEqual((await vorel(token, "GET", `/offerings/${UNKNOWN}`)).body);
    const listed = await vorel(token, "GET", "/offerings");
    expect(listed.body.data.map((each: { id: string }) => each.id)).toEqual([kept.id]);
    expect((await vorel(token, "PATCH", `/offerings/${gone.id}`, { title: "Back" })).status).toBe(404);
    const rebook = await vorel(token, "POST", "/appointments", {
      customer_name: "Omar",
      customer_phone: "+971501234568",
      scheduled_start: "2026-05-16T14:00:00+04:00",
      scheduled_end: "2026-05-16T15:00:00+04:00",
      offering_id: gone.id,
    });
    expect(rebook).toMatchObject({ status: 404, body: { error: { code: "not_found", message: "offering_id: Offering not found" } } });

    // GraphQL: NOT_FOUND everywhere, as an unknown id.
    const again = await server.gql(`mutation($id: ID!) { deleteOffering(id: $id) }`, { id: `off_${gone.id}` }, own.token);
    expect(again.errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
    const update = await server.gql(`mutation($id: ID!) { updateOffering(id: $id, input: { title: "Back" }) { id } }`, { id: `off_${gone.id}` }, own.token);
    expect(update.errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
    const node = await server.gql(`query($id: ID!) { node(id: $id) { id } }`, { id: `off_${gone.id}` }, own.token);
    expect(node.data?.node ?? null).toBeNull();
    for (const error of node.errors ?? []) expect(error.extensions?.code).toBe("NOT_FOUND");
    const list = await gql(`{ offerings { totalCount edges { node { id title } } } }`, {}, own);
    expect(list.offerings).toEqual({ totalCount: 1, edges: [{ node: { id: `off_${kept.id}`, title: "Kept" } }] });

    // The appointment keeps the offering's id; the offering itself is not shown.
    expect((await vorel(token, "GET", `/appointments/${booked.body.id}`)).body.offering_id).toBe(gone.id);
    const booking = await gql(`query($id: ID!) { node(id: $id) { ... on Booking { offeringId offering { id } } } }`, { id: `bkg_${booked.body.id}` }, own);
    expect(booking.node).toEqual({ offeringId: `off_${gone.id}`, offering: null });
  });
});

describe("GET /offerings", () => {
  test("cursor pages, newest first, this tenant's only; limit and cursor are checked", async () => {
    const own = await server.createTenant("Offering pages");
    const token = await vorelKey(own);
    const created = [];
    for (let i = 0; i < 3; i += 1) created.push(await create({ title: `Offering ${i}`, price: 100 + i }, token));
    await create({ title: "Someone else's", price: 1 });

    const first = await vorel(token, "GET", "/offerings?limit=2");
    expect(first.status).toBe(200);
    expect(first.body.data.map((row: { title: string }) => row.title)).toEqual(["Offering 2", "Offering 1"]);
    expect(first.body).toMatchObject({ has_more: true, next_cursor: created[1].id });
    const second = await vorel(token, "GET", `/offerings?limit=2&cursor=${first.body.next_cursor}`);
    expect(second.body).toEqual({ data: [created[0]], next_cursor: null, has_more: false });
    const all = await vorel(token, "GET", "/offerings");
    expect(all.body).toEqual({ data: [...created].reverse(), next_cursor: null, has_more: false });

    for (const query of ["limit=0", "limit=abc", "cursor=nope"]) {
      const refused = await vorel(token, "GET", `/offerings?${query}`);
      expect(refused.status, query).toBe(422);
    }
    expect((await vorel(token, "GET", "/offerings?limit=500")).body.data).toHaveLength(3);
  });
});

describe("scopes", () => {
  test("read reads, offerings:write writes; each refusal is a 403 in Vorel's shape naming Vorel's scope; nothing written", async () => {
    const mine = await create();
    const reader = await tenant.tokenWith(toCanonicalScopes("VOREL", ["read"]), "VOREL");
    const writer = await tenant.tokenWith(toCanonicalScopes("VOREL", ["offerings:write"]), "VOREL");
    const appointments = await tenant.tokenWith(toCanonicalScopes("VOREL", ["appointments:write"]), "VOREL");

    expect((await vorel(reader, "GET", "/offerings")).status).toBe(200);
    expect((await vorel(reader, "GET", `/offerings/${mine.id}`)).status).toBe(200);
    const before = await snapshot(server, tenant.id);
    for (const [method, path, body] of [
      ["POST", "/offerings", listing()],
      ["PATCH", `/offerings/${mine.id}`, { title: "Mine now" }],
    ] as const) {
      const refused = await vorel(reader, method, path, body);
      expect(refused).toMatchObject({ status: 403, body: { error: { code: "forbidden", scope: "offerings:write" } } });
    }
    expect(await snapshot(server, tenant.id)).toEqual(before);
    for (const path of ["/offerings", `/offerings/${mine.id}`]) {
      const refused = await vorel(appointments, "GET", path);
      expect(refused).toMatchObject({ status: 403, body: { error: { code: "forbidden", scope: "read" } } });
    }

    // A write-only key may create and read back what it created, but not list or get others.
    const written = await vorel(writer, "POST", "/offerings", listing({ title: "Write only" }));
    expect(written.status).toBe(201);
    expect(written.body.title).toBe("Write only");
    expect((await vorel(writer, "PATCH", `/offerings/${written.body.id}`, { status: "sold" })).body.status).toBe("sold");
    expect((await vorel(writer, "GET", "/offerings")).status).toBe(403);
  });

  test("Vorel's offerings:write names offerings:write, its read includes offerings:read; crm:write is still refused", async () => {
    expect(toCanonicalScopes("VOREL", ["offerings:write"])).toEqual(["offerings:write"]);
    expect(toCanonicalScopes("VOREL", ["read"])).toContain("offerings:read");
    expect(() => toCanonicalScopes("VOREL", ["crm:write"])).toThrow(UnknownScopeError);
    const issued = await gql(
      `mutation { createApiToken(input: { name: "listings sync", format: VOREL, dialectScopes: ["read", "offerings:write"] }) { secret token { scopes } } }`,
    );
    expect(issued.createApiToken.token.scopes).toEqual(expect.arrayContaining(["OFFERINGS_READ", "OFFERINGS_WRITE"]));
    expect((await vorel(issued.createApiToken.secret, "POST", "/offerings", listing())).status).toBe(201);
  });
});

describe("tenants", () => {
  test("another tenant's offering is the same 404 as an unknown one, for GET and PATCH; nothing written", async () => {
    const other = await server.createTenant("Other offerings");
    const theirs = await create(listing({ title: "Theirs" }), await vorelKey(other));
    const before = { mine: await snapshot(server, tenant.id), theirs: await snapshot(server, other.id) };
    for (const [method, body] of [
      ["GET", undefined],
      ["PATCH", { title: "Hijacked", attributes: { owner: "me" } }],
    ] as const) {
      const foreign = await vorel(key, method, `/offerings/${theirs.id}`, body);
      const unknown = await vorel(key, method, `/offerings/${UNKNOWN}`, body);
      expect(foreign.status, method).toBe(404);
      expect(foreign.body).toEqual(unknown.body);
    }
    expect((await vorel(key, "GET", "/offerings?limit=100")).body.data.map((row: { id: string }) => row.id)).not.toContain(theirs.id);
    expect({ mine: await snapshot(server, tenant.id), theirs: await snapshot(server, other.id) }).toEqual(before);
    expect((await vorel(await vorelKey(other), "GET", `/offerings/${theirs.id}`)).body.title).toBe("Theirs");
  });
});

describe("appointments", () => {
  const appointment = (overrides: Record<string, unknown> = {}) => ({
    customer_name: "Amira Haddad",
    customer_phone: "+971501234567",
    scheduled_start: "2026-05-15T14:00:00+04:00",
    scheduled_end: "2026-05-15T15:00:00+04:00",
    ...overrides,
  });

  test("offering_id is stored and answered, and GraphQL's Booking.offering is the offering", async () => {
    const offered = await create(listing({ title: "Viewing slot" }));
    const created = await vorel(key, "POST", "/appointments", appointment({ offering_id: offered.id }));
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.offering_id).toBe(offered.id);
    expect((await vorel(key, "GET", `/appointments/${created.body.id}`)).body).toEqual(created.body);
    const listed = await vorel(key, "GET", "/appointments?limit=100");
    expect(listed.body.data).toContainEqual(created.body);
    expect((await server.db.prisma.booking.findUniqueOrThrow({ where: { id: created.body.id } })).offeringId).toBe(offered.id);
    const node = await gql(`query($id: ID!) { node(id: $id) { ... on Booking { offeringId offering { title price } } } }`, { id: `bkg_${created.body.id}` });
    expect(node.node).toEqual({ offeringId: `off_${offered.id}`, offering: { title: "Viewing slot", price: "1250.50" } });
    // Without offerings:read the offering is refused, its id is not.
    const bookingsOnly = await tenant.tokenWith(["bookings:read"]);
    const refused = await server.gql(`query($id: ID!) { node(id: $id) { ... on Booking { offeringId offering { title } } } }`, { id: `bkg_${created.body.id}` }, bookingsOnly);
    expect(refused.errors?.[0]?.extensions).toMatchObject({ code: "FORBIDDEN", scope: "offerings:read" });
    expect(JSON.stringify(refused.data)).not.toContain("Viewing slot");
  });

  test("an unknown or another tenant's offering_id is a 404 naming it; a malformed one a 422; nothing written", async () => {
    const other = await server.createTenant("Other appointment offerings");
    const theirs = await create(listing(), await vorelKey(other));
    const before = await snapshot(server, tenant.id);
    for (const offeringId of [UNKNOWN, theirs.id]) {
      const reply = await vorel(key, "POST", "/appointments", appointment({ offering_id: offeringId }));
      expect(reply).toMatchObject({ status: 404, body: { error: { code: "not_found", message: "offering_id: Offering not found" } } });
    }
    const malformed = await vorel(key, "POST", "/appointments", appointment({ offering_id: "off-1042" }));
    expect(malformed.status).toBe(422);
    expect(Object.keys(malformed.body.error.fields)).toEqual(["offering_id"]);
    expect(await snapshot(server, tenant.id)).toEqual(before);
  });
});

describe("webhooks", () => {
  let receiver: Receiver;
  beforeAll(async () => {
    receiver = await startReceiver();
  });
  afterAll(() => receiver?.close());

  test("offering.created and offering.updated reach a Vorel endpoint, signed, with data equal to GET /offerings/{id}", { timeout: 60_000 }, async () => {
    const own = await server.createTenant("Offering hooks");
    const token = await vorelKey(own);
    const registered = await gql(
      `mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { signingSecret } }`,
      { input: { dialect: "VOREL", url: `${receiver.url}/offerings`, events: ["offering.created", "offering.updated"] } },
      own,
    );
    const secret: string = registered.createWebhookEndpoint.signingSecret;

    const created = await create(listing(), token);
    await waitUntil(() => receiver.at("/offerings").length >= 1, () => "offering.created", 20_000);
    const first = receiver.at("/offerings")[0]!;
    expect(first.headers["x-webhook-signature"]).toBe(createHmac("sha256", secret).update(first.body).digest("hex"));
    expect(first.json).toEqual({ id: expect.any(String), event: "offering.created", created_at: expect.any(String), data: (await vorel(token, "GET", `/offerings/${created.id}`)).body });

    await vorel(token, "PATCH", `/offerings/${created.id}`, { price: 1199.99, attributes: { furnished: null } });
    await waitUntil(() => receiver.at("/offerings").length >= 2, () => "offering.updated", 20_000);
    const second = receiver.at("/offerings")[1]!;
    const current = (await vorel(token, "GET", `/offerings/${created.id}`)).body;
    expect(second.json).toMatchObject({ event: "offering.updated", data: current });
    expect(second.json.data.price).toBe("1199.99");
    expect(second.json.id).not.toBe(first.json.id);
  });

  test("a deletion has no name in Vorel's catalogue: nothing is rendered for it", async () => {
    const created = await create();
    await deleteOffering(created.id);
    const events = await server.db.prisma.event.findMany({ where: { tenantId: tenant.id, topic: "offering", type: "DELETED" } });
    expect(events.map((event) => (event.facts as { offeringId: string }).offeringId)).toContain(created.id);
    const renderer = createRenderer(server.db.prisma);
    const target = { id: randomUUID(), dialect: "VOREL" as const, events: ["offering.created", "offering.updated"], extraBody: null };
    expect(await renderer.render(target, offeringEvent("DELETED", { id: created.id, tenantId: tenant.id }), new Date())).toEqual([]);
    // An offering deleted before its update is fanned out is sent as { id }.
    const [late] = await renderer.render(target, offeringEvent("UPDATED", { id: created.id, tenantId: tenant.id }), new Date());
    expect(JSON.parse(late!.body)).toMatchObject({ event: "offering.updated", data: { id: created.id } });
  });
});
