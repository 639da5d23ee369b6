// Vorel's leads and appointments beyond create (src/rest/dialects/vorel.ts): cursor lists,
// stale_for_days, strict partial PATCH with attribute merging, the handoff, the appointment
// lifecycle, the vocabulary shared with Convo and Veleria, and the events GraphQL
// subscribers see. Every answer is checked against the served OpenAPI document.
import { randomBytes } from "node:crypto";
import { createClient } from "graphql-ws";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import WebSocket from "ws";
import { toCanonicalScopes } from "../src/auth/scopes.js";
import { snapshot } from "./fixtures.js";
import { waitUntil, type TestServer, type TestTenant } from "./harness.js";
import { restRequest, startRestTestServer, type OpenApiOracle, type Reply } from "./openapi-oracle.js";

let server: TestServer;
let origin: string;
let oracle: OpenApiOracle;

beforeAll(async () => {
  ({ server, origin, oracle } = await startRestTestServer(["vorel"]));
});
afterAll(() => server?.close());

const UNKNOWN = "3c90c3cc-0d44-4b50-8888-8dd25736052a";
const DAY = 86_400_000;

/** A Vorel call under /api/v1; its answer must be the documented one for its route and status. */
async function vorel(token: string, method: string, path: string, body?: unknown): Promise<Reply> {
  const reply = await restRequest(origin, method, `/api/v1${path}`, token, body);
  oracle.expectDocumented("vorel", method, path.split("?")[0]!.replace(/\/[0-9a-f-]{36}(?=\/|$)/g, "/{id}"), reply.status, reply.body);
  return reply;
}

/** Subscribes over graphql-ws; returns the payloads received so far, in order. */
function subscribe<T>(token: string, query: string) {
  const events: T[] = [];
  const client = createClient({ url: server.url.replace(/^http/, "ws"), webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${token}` }, retryAttempts: 0 });
  client.subscribe<Record<string, T>>({ query }, { next: ({ data }) => void (data && events.push(Object.values(data)[0]!)), error: () => {}, complete: () => {} });
  return { events, dispose: () => client.dispose() };
}

let tenant: TestTenant;
/** Every Vorel scope, as a Vorel key would hold them. */
let key: string;
beforeAll(async () => {
  tenant = await server.createTenant("Vorel CRM");
  key = await tenant.tokenWith([...toCanonicalScopes("VOREL", ["read", "leads:write", "appointments:write"]), "conversations:write"], "VOREL");
});

async function conversation(token = key) {
  const reply = await vorel(token, "POST", "/conversations", { channel: "whatsapp", customer_identifier: `+9715${randomBytes(4).readUInt32BE() % 100_000_000}` });
  expect(reply.status, JSON.stringify(reply.body)).toBe(201);
  return reply.body.id as string;
}

async function lead(body: Record<string, unknown> = {}, token = key) {
  const reply = await vorel(token, "POST", "/leads", { conversation_id: await conversation(token), ...body });
  expect(reply.status, JSON.stringify(reply.body)).toBe(201);
  return reply.body;
}

const appointmentExample = (overrides: Record<string, unknown> = {}) => ({
  customer_name: "Amira Haddad",
  customer_phone: "+971501234567",
  scheduled_start: "2026-05-15T14:00:00+04:00",
  scheduled_end: "2026-05-15T15:00:00+04:00",
  ...overrides,
});

describe("leads", () => {
  test("GET /leads walks cursor pages newest first, this tenant's only", async () => {
    const own = await server.createTenant("Lead pages");
    const token = await own.tokenWith([...toCanonicalScopes("VOREL", ["read", "leads:write"]), "conversations:write"], "VOREL");
    const created = [];
    for (let i = 0; i < 3; i += 1) created.push(await lead({ name: `Lead ${i}` }, token));
    await lead({ name: "Someone else's" });

    const first = await vorel(token, "GET", "/leads?limit=2");
    expect(first.status).toBe(200);
    expect(first.body.data.map((row: { name: string }) => row.name)).toEqual(["Lead 2", "Lead 1"]);
    expect(first.body).toMatchObject({ has_more: true, next_cursor: created[1].id });
    const second = await vorel(token, "GET", `/leads?limit=2&cursor=${first.body.next_cursor}`);
    expect(second.body).toEqual({ data: [created[0]], next_cursor: null, has_more: false });
  });

  test("stale_for_days: qualified leads whose conversation went quiet before then, or never spoke", async () => {
    const own = await server.createTenant("Stale leads");
    const token = await own.tokenWith([...toCanonicalScopes("VOREL", ["read", "leads:write"]), "conversations:write"], "VOREL");
    const quiet = await lead({ status: "qualified", name: "Quiet" }, token);
    const silent = await lead({ status: "qualified", name: "Never spoke" }, token);
    const recent = await lead({ status: "qualified", name: "Recent" }, token);
    await lead({ status: "new", name: "New and quiet" }, token);
    const at = (days: number) => new Date(Date.now() - days * DAY);
    const p = server.db.prisma;
    await p.conversation.update({ where: { id: quiet.conversation_id }, data: { lastMessageAt: at(5) } });
    await p.conversation.update({ where: { id: recent.conversation_id }, data: { lastMessageAt: at(1) } });
    await p.conversation.updateMany({ where: { tenantId: own.id, id: { notIn: [quiet.conversation_id, recent.conversation_id, silent.conversation_id] } }, data: { lastMessageAt: at(30) } });

    const stale = await vorel(token, "GET", "/leads?stale_for_days=3");
    expect(stale.status).toBe(200);
    expect(stale.body.data.map((row: { name: string }) => row.name)).toEqual(["Never spoke", "Quiet"]);
    const all = await vorel(token, "GET", "/leads?stale_for_days=365");
    expect(all.body.data.map((row: { name: string }) => row.name)).toEqual(["Never spoke"]);

    for (const days of ["0", "366", "-1", "3.5", "soon"]) {
      const refused = await vorel(token, "GET", `/leads?stale_for_days=${days}`);
      expect(refused.status, days).toBe(400);
      expect(refused.body).toEqual({ error: { code: "bad_request", message: "stale_for_days must be a whole number from 1 to 365" } });
    }
  });

  test("GET /leads/{id}: the lead; another tenant's or an unknown id: the same 404", async () => {
    const mine = await lead({ name: "Mine", attributes: { preferred_stylist: "Lina" } });
    const got = await vorel(key, "GET", `/leads/${mine.id}`);
    expect(got).toMatchObject({ status: 200, body: mine });

    const other = await server.createTenant("Other leads");
    const theirs = await lead({}, await other.tokenWith([...toCanonicalScopes("VOREL", ["read", "leads:write"]), "conversations:write"], "VOREL"));
    const foreign = await vorel(key, "GET", `/leads/${theirs.id}`);
    const unknown = await vorel(key, "GET", `/leads/${UNKNOWN}`);
    expect(foreign.status).toBe(404);
    expect(foreign.body).toEqual(unknown.body);
  });

  test("PATCH /leads/{id}: a strict partial; attributes shallow-merged, a null attribute removed, a null field cleared", async () => {
    const created = await lead({ name: "Amira", email: "amira@example.com", attributes: { bedrooms: 2, budget_min: 900000, area: "Marina" } });
    const patched = await vorel(key, "PATCH", `/leads/${created.id}`, {
      email: null,
      intent: "rent",
      attributes: { bedrooms: 3, area: null, parking: true },
      qualification_score: 64,
    });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(patched.body).toEqual({
      ...created,
      email: null,
      intent: "rent",
      attributes: { bedrooms: 3, budget_min: 900000, parking: true },
      qualification_score: 64,
      updated_at: expect.any(String),
    });
    expect(Date.parse(patched.body.updated_at)).toBeGreaterThanOrEqual(Date.parse(created.updated_at));
    expect((await vorel(key, "GET", `/leads/${created.id}`)).body).toEqual(patched.body);

    const converted = await vorel(key, "PATCH", `/leads/${created.id}`, { status: "converted" });
    expect(converted.body.status).toBe("converted");
    expect((await server.db.prisma.lead.findUniqueOrThrow({ where: { id: created.id } })).status).toBe("WON");
  });

  test("PATCH refusals: 422 naming the field, 404 for an unknown lead; nothing written", async () => {
    const created = await lead({ name: "Fixed" });
    const before = await snapshot(server, tenant.id);
    for (const [body, field] of [
      [{}, "body"],
      [{ conversation_id: UNKNOWN }, "conversation_id"],
      [{ notes: "hello" }, "notes"],
      [{ status: null }, "status"],
      [{ status: "contacted" }, "status"],
      [{ name: "n".repeat(201) }, "name"],
      [{ attributes: null }, "attributes"],
      [{ qualification_score: -1 }, "qualification_score"],
    ] as const) {
      const reply = await vorel(key, "PATCH", `/leads/${created.id}`, body);
      expect(reply.status, JSON.stringify([body, reply.body])).toBe(422);
      expect(Object.keys(reply.body.error.fields)).toEqual([field]);
    }
    expect((await vorel(key, "PATCH", `/leads/${UNKNOWN}`, { name: "x" })).status).toBe(404);
    expect(await snapshot(server, tenant.id)).toEqual(before);
  });

  test("POST /leads/{id}/handoff: awaiting_human, an audit row per call, and a HANDOFF_REQUESTED event with the reason", async () => {
    const created = await lead({ name: "Escalate me" });
    const watcher = subscribe<{ type: string; conversation: { id: string; status: string }; handoff: { reason: string; summary: string | null } | null }>(
      tenant.token,
      "subscription { conversationEvents(types: [HANDOFF_REQUESTED]) { type conversation { id status } handoff { reason summary } } }",
    );
    try {
      await waitUntil(() => server.app.live.stats().streams >= 1, () => "the subscription to start");
      const first = await vorel(key, "POST", `/leads/${created.id}/handoff`, { reason: "no-response-7d", summary: "Asked twice about price." });
      expect(first.status, JSON.stringify(first.body)).toBe(201);
      expect(first.body).toEqual({
        handoff_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        lead_id: created.id,
        conversation_id: created.conversation_id,
        conversation_status: "awaiting_human",
        notified_channel: null,
      });
      expect((await vorel(key, "GET", `/conversations/${created.conversation_id}`)).body.status).toBe("awaiting_human");
      await waitUntil(() => watcher.events.length === 1, () => `HANDOFF_REQUESTED; have ${JSON.stringify(watcher.events)}`);
      expect(watcher.events[0]).toEqual({
        type: "HANDOFF_REQUESTED",
        conversation: { id: `conv_${created.conversation_id}`, status: "HANDED_OFF" },
        handoff: { reason: "no-response-7d", summary: "Asked twice about price." },
      });

      // Not idempotent: a new audit row and id, the status as it was.
      const second = await vorel(key, "POST", `/leads/${created.id}/handoff`, {});
      expect(second.status).toBe(201);
      expect(second.body.handoff_id).not.toBe(first.body.handoff_id);
      const rows = await server.db.prisma.handoff.findMany({ where: { leadId: created.id }, orderBy: { createdAt: "asc" } });
      expect(rows.map((row) => [row.id, row.reason])).toEqual([
        [first.body.handoff_id, "no-response-7d"],
        [second.body.handoff_id, null],
      ]);
    } finally {
      await watcher.dispose();
    }
  });

  test("handoff refusals: a lead without a conversation is a 409, an overlong reason a 422, a read-only key a 403; nothing written", async () => {
    const orphan = await server.ok(tenant, `mutation { createLead(input: { fields: { name: "No conversation" } }) { id } }`);
    const orphanId = orphan.createLead.id.replace(/^lead_/, "");
    const created = await lead();
    const reader = await tenant.tokenWith(toCanonicalScopes("VOREL", ["read"]), "VOREL");
    const before = await snapshot(server, tenant.id);
    const noConversation = await vorel(key, "POST", `/leads/${orphanId}/handoff`, {});
    expect(noConversation).toMatchObject({ status: 409, body: { error: { code: "conflict", message: "This lead has no conversation to hand off" } } });
    const long = await vorel(key, "POST", `/leads/${created.id}/handoff`, { reason: "r".repeat(201) });
    expect(long.status).toBe(422);
    expect(Object.keys(long.body.error.fields)).toEqual(["reason"]);
    const forbidden = await vorel(reader, "POST", `/leads/${created.id}/handoff`, {});
    expect(forbidden).toMatchObject({ status: 403, body: { error: { code: "forbidden", scope: "leads:write" } } });
    expect(await snapshot(server, tenant.id)).toEqual(before);
  });

  test("one pipeline, each dialect's words: CONTACTED reads qualified in Vorel, BOOKED reads CONTACTED in Convo", async () => {
    const booked = await lead({ status: "booked", name: "Booked" });
    const contacted = await lead({ name: "Contacted" });
    await server.ok(tenant, `mutation($id: ID!) { updateLeadStatus(id: $id, status: CONTACTED) { id } }`, { id: `lead_${contacted.id}` });
    expect((await vorel(key, "GET", `/leads/${contacted.id}`)).body.status).toBe("qualified");
    expect((await vorel(key, "GET", `/leads/${booked.id}`)).body.status).toBe("booked");

    const convo = await tenant.tokenWith(["leads:read", "leads:write"], "CONVO");
    const listed = await restRequest(origin, "GET", "/api/v1/leads?status=CONTACTED&limit=100", convo);
    expect(listed.status).toBe(200);
    const statuses = Object.fromEntries(listed.body.map((row: { id: string; status: string }) => [row.id, row.status]));
    expect(statuses).toMatchObject({ [booked.id]: "CONTACTED", [contacted.id]: "CONTACTED" });
    // Convo has no BOOKED: it cannot set one, and says which words it has.
    const refused = await restRequest(origin, "PATCH", `/api/v1/leads/${booked.id}/status`, convo, { status: "BOOKED" });
    expect(refused.status).toBe(422);
    expect(refused.body.message).toBe("status: must be one of: NEW, QUALIFIED, CONTACTED, WON, LOST");
  });
});

describe("appointments", () => {
  test("POST /appointments: the documented example, stored in UTC, confirmed by default", async () => {
    const conversationId = await conversation();
    const created = await vorel(key, "POST", "/appointments", appointmentExample({ conversation_id: conversationId, customer_email: "amira@example.com", location_text: "Marina Walk, Dubai" }));
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      customer_name: "Amira Haddad",
      customer_phone: "+971501234567",
      scheduled_start: "2026-05-15T10:00:00.000Z",
      scheduled_end: "2026-05-15T11:00:00.000Z",
      status: "confirmed",
      created_at: expect.any(String),
      conversation_id: conversationId,
      lead_id: null,
      offering_id: null,
      customer_email: "amira@example.com",
      location_text: "Marina Walk, Dubai",
      google_calendar_event_id: null,
    });
    expect((await vorel(key, "GET", `/appointments/${created.body.id}`)).body).toEqual(created.body);
    const row = await server.db.prisma.booking.findUniqueOrThrow({ where: { id: created.body.id } });
    expect(row).toMatchObject({ tenantId: tenant.id, status: "CONFIRMED", contactId: null, service: null, conversationId });
  });

  test("a bad foreign key is a 404 naming it; another tenant's is the same as an unknown one; nothing written", async () => {
    const other = await server.createTenant("Other appointments");
    const theirConversation = await conversation(await other.tokenWith(["conversations:write"], "VOREL"));
    const before = await snapshot(server, tenant.id);
    const cases: [Record<string, unknown>, string][] = [
      [{ conversation_id: UNKNOWN }, "conversation_id: Conversation not found"],
      [{ conversation_id: theirConversation }, "conversation_id: Conversation not found"],
      [{ lead_id: UNKNOWN }, "lead_id: Lead not found"],
      [{ offering_id: UNKNOWN }, "offering_id: Offering not found"],
    ];
    for (const [fields, message] of cases) {
      const reply = await vorel(key, "POST", "/appointments", appointmentExample(fields));
      expect(reply.status, JSON.stringify(reply.body)).toBe(404);
      expect(reply.body).toEqual({ error: { code: "not_found", message } });
    }
    expect(await snapshot(server, tenant.id)).toEqual(before);
  });

  test("validation: 422 naming the field; nothing written", async () => {
    const before = await snapshot(server, tenant.id);
    const cases: [Record<string, unknown>, string][] = [
      [{ customer_name: undefined }, "customer_name"],
      [{ customer_phone: undefined }, "customer_phone"],
      [{ scheduled_start: "2026-05-15T14:00:00" }, "scheduled_start"],
      [{ scheduled_end: "2026-05-15 15:00" }, "scheduled_end"],
      [{ scheduled_end: "2026-05-15T13:00:00+04:00" }, "scheduled_end"],
      [{ scheduled_end: "2026-05-15T14:00:00+04:00" }, "scheduled_end"],
      [{ status: "pending" }, "status"],
      [{ customer_email: "nope" }, "customer_email"],
      [{ location_text: "l".repeat(501) }, "location_text"],
      [{ conversation_id: "not-a-uuid" }, "conversation_id"],
    ];
    for (const [fields, field] of cases) {
      const reply = await vorel(key, "POST", "/appointments", appointmentExample(fields));
      expect(reply.status, JSON.stringify([fields, reply.body])).toBe(422);
      expect(Object.keys(reply.body.error.fields)).toEqual([field]);
    }
    expect(await snapshot(server, tenant.id)).toEqual(before);
  });

  test("GET /appointments: latest start first, cursor pages", async () => {
    const own = await server.createTenant("Appointment pages");
    const token = await own.tokenWith(toCanonicalScopes("VOREL", ["read", "appointments:write"]), "VOREL");
    const ids = [];
    for (const day of [10, 12, 11]) {
      const reply = await vorel(token, "POST", "/appointments", appointmentExample({ scheduled_start: `2026-06-${day}T09:00:00Z`, scheduled_end: `2026-06-${day}T10:00:00Z` }));
      ids.push([day, reply.body.id]);
    }
    const byStart = ids.sort((a, b) => Number(b[0]) - Number(a[0])).map(([, id]) => id);
    const first = await vorel(token, "GET", "/appointments?limit=2");
    expect(first.body.data.map((row: { id: string }) => row.id)).toEqual(byStart.slice(0, 2));
    expect(first.body).toMatchObject({ has_more: true, next_cursor: byStart[1] });
    const second = await vorel(token, "GET", `/appointments?limit=2&cursor=${first.body.next_cursor}`);
    expect(second.body.data.map((row: { id: string }) => row.id)).toEqual(byStart.slice(2));
    expect(second.body).toMatchObject({ has_more: false, next_cursor: null });
  });

  test("PATCH: reschedule, then cancel; a cancelled appointment is final; each step is a booking event", async () => {
    const created = (await vorel(key, "POST", "/appointments", appointmentExample())).body;
    const watcher = subscribe<{ type: string; booking: { id: string; status: string } }>(tenant.token, "subscription { bookingEvents { type booking { id status } } }");
    try {
      await waitUntil(() => server.app.live.stats().streams >= 1, () => "the subscription to start");
      const moved = await vorel(key, "PATCH", `/appointments/${created.id}`, { scheduled_start: "2026-05-16T14:00:00+04:00", scheduled_end: "2026-05-16T15:00:00+04:00", status: "rescheduled" });
      expect(moved.status, JSON.stringify(moved.body)).toBe(200);
      expect(moved.body).toMatchObject({ scheduled_start: "2026-05-16T10:00:00.000Z", scheduled_end: "2026-05-16T11:00:00.000Z", status: "rescheduled" });
      // The end is checked against the stored start as well.
      const backwards = await vorel(key, "PATCH", `/appointments/${created.id}`, { scheduled_end: "2026-05-16T13:00:00+04:00" });
      expect(backwards.status).toBe(422);
      expect(Object.keys(backwards.body.error.fields)).toEqual(["scheduled_end"]);
      const cancelled = await vorel(key, "PATCH", `/appointments/${created.id}`, { status: "cancelled" });
      expect(cancelled.body.status).toBe("cancelled");
      await waitUntil(() => watcher.events.length === 2, () => `two booking events; have ${JSON.stringify(watcher.events)}`);
      expect(watcher.events.map((event) => event.type)).toEqual(["RESCHEDULED", "CANCELLED"]);

      const before = await snapshot(server, tenant.id);
      for (const body of [{ status: "confirmed" }, { scheduled_start: "2026-05-17T14:00:00+04:00", scheduled_end: "2026-05-17T15:00:00+04:00" }, { status: "completed" }]) {
        const refused = await vorel(key, "PATCH", `/appointments/${created.id}`, body);
        expect(refused.status, JSON.stringify(refused.body)).toBe(409);
        expect(refused.body.error.code).toBe("conflict");
      }
      // What is not the lifecycle still changes on a cancelled appointment.
      expect(await snapshot(server, tenant.id)).toEqual(before);
      expect((await vorel(key, "PATCH", `/appointments/${created.id}`, { location_text: "Call instead" })).status).toBe(200);
    } finally {
      await watcher.dispose();
    }
  });

  test("PATCH refusals: fixed fields, cleared required ones, an empty body: 422; nothing written", async () => {
    const created = (await vorel(key, "POST", "/appointments", appointmentExample())).body;
    const before = await snapshot(server, tenant.id);
    for (const [body, field] of [
      [{}, "body"],
      [{ lead_id: UNKNOWN }, "lead_id"],
      [{ google_calendar_event_id: "x" }, "google_calendar_event_id"],
      [{ customer_name: null }, "customer_name"],
      [{ scheduled_start: null }, "scheduled_start"],
      [{ status: "pending" }, "status"],
    ] as const) {
      const reply = await vorel(key, "PATCH", `/appointments/${created.id}`, body);
      expect(reply.status, JSON.stringify([body, reply.body])).toBe(422);
      expect(Object.keys(reply.body.error.fields)).toEqual([field]);
    }
    expect(await snapshot(server, tenant.id)).toEqual(before);
  });

  test("one bookings table: a Vorel appointment is a Veleria booking without contact or service, a pending Veleria booking reads confirmed in Vorel", async () => {
    const created = (await vorel(key, "POST", "/appointments", appointmentExample())).body;
    const veleria = await tenant.tokenWith(["bookings:read", "bookings:write", "contacts:write", "contacts:read"], "VELERIA");
    const listed = await restRequest(origin, "GET", "/api/v1/bookings?limit=100", veleria);
    expect(listed.status).toBe(200);
    expect(listed.body.data).toContainEqual(expect.objectContaining({ id: `bkg_${created.id}`, contact_id: null, service: null, status: "confirmed" }));

    const contact = await restRequest(origin, "POST", "/api/v1/contacts", veleria, { first_name: "Sarah" });
    const pending = await restRequest(origin, "POST", "/api/v1/bookings", veleria, {
      contact_id: contact.body.data.id,
      service: "Consultation",
      starts_at: "2026-07-01T09:00:00+10:00",
      ends_at: "2026-07-01T10:00:00+10:00",
    });
    expect(pending.status, JSON.stringify(pending.body)).toBe(201);
    expect(pending.body.data.status).toBe("pending");
    const seen = await vorel(key, "GET", `/appointments/${pending.body.data.id.replace(/^bkg_/, "")}`);
    expect(seen.body).toMatchObject({ status: "confirmed", customer_name: null, customer_phone: null });
  });
});
