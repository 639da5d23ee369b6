// Webhook endpoints as their owners manage them: GraphQL (create, list, update, disable and
// enable, rotate, delete, deliveries, redeliver), Convo's REST registration and list, and the
// admin CLI. The signing secret is returned once and stored only sealed; every refusal is
// typed and names its field; scopes and tenancy hold as everywhere else.
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { DATA_SCOPES, toCanonicalScopes, type Scope } from "../src/auth/scopes.js";
import { WEBHOOK_EVENTS } from "../src/webhooks/catalog.js";
import { MAX_ENDPOINTS_PER_TENANT } from "../src/webhooks/endpoints.js";
import { loadSecretBox } from "../src/webhooks/secrets.js";
import { eventually, expectError, startTestServer, TEST_WEBHOOK_KEY, usingPostgres, type GraphQLResponse, type TestServer, type TestTenant } from "./harness.js";
import { openApiOracle, restRequest, type OpenApiOracle, type Reply } from "./openapi-oracle.js";

let server: TestServer;
let origin: string;
let oracle: OpenApiOracle;
/** A receiver for deliveries: answers 200 to everything. */
let receiver: Server;
let receiverUrl: string;
const received: { url: string; headers: Record<string, unknown>; body: string }[] = [];

beforeAll(async () => {
  server = await startTestServer();
  origin = new URL(server.url).origin;
  oracle = await openApiOracle(origin, ["convo"]);
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      received.push({ url: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
      res.writeHead(200, { "content-type": "text/plain" }).end("thanks");
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await server?.close();
  receiver?.closeAllConnections();
  await new Promise<void>((resolve) => (receiver ? receiver.close(() => resolve()) : resolve()));
});

const prisma = () => server.db.prisma;
const uuidOf = (globalId: string) => globalId.slice(globalId.indexOf("_") + 1);

const ENDPOINT = `id dialect url events description status disabledReason secretPrefix consecutiveFailures createdAt updatedAt`;
const CREATE = `mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { signingSecret endpoint { ${ENDPOINT} } } }`;
const UPDATE = `mutation($id: ID!, $input: UpdateWebhookEndpointInput!) { updateWebhookEndpoint(id: $id, input: $input) { ${ENDPOINT} } }`;
const ROTATE = `mutation($id: ID!) { rotateWebhookSecret(id: $id) { signingSecret endpoint { id secretPrefix } } }`;
const DELETE = `mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }`;
const REDELIVER = `mutation($id: ID!) { redeliverWebhook(id: $id) { id status attemptCount } }`;
const LIST = `query($dialect: WebhookDialect) { webhookEndpoints(first: 100, dialect: $dialect) { totalCount edges { node { ${ENDPOINT} } } } }`;
const NODE = `query($id: ID!) { node(id: $id) { id ... on WebhookEndpoint { ${ENDPOINT} } } }`;

interface Created {
  signingSecret: string;
  endpoint: Record<string, any>;
}

const input = (overrides: Record<string, unknown> = {}) => ({
  dialect: "CONVO",
  url: "https://hooks.example.com/avelto",
  events: ["lead.created", "conversation.closed"],
  ...overrides,
});

async function create(tenant: TestTenant | string, overrides: Record<string, unknown> = {}): Promise<Created> {
  return (await server.ok(tenant, CREATE, { input: input(overrides) })).createWebhookEndpoint;
}

const box = () => loadSecretBox({ secretKey: TEST_WEBHOOK_KEY }, { dataDir: "memory://" });

/** An event and one delivery of it to this endpoint, written directly (as fan-out would). */
async function delivery(tenantId: string, endpointGlobalId: string, data: { status?: "PENDING" | "DELIVERED" | "FAILED"; createdAt?: Date; body?: unknown } = {}) {
  const event = await prisma().event.create({
    data: { id: randomUUID(), tenantId, topic: "lead", type: "CREATED", facts: { topic: "lead" }, occurredAt: new Date() },
  });
  return prisma().webhookDelivery.create({
    data: {
      tenantId,
      endpointId: uuidOf(endpointGlobalId),
      eventId: event.id,
      eventName: "lead.created",
      body: JSON.stringify(data.body ?? { event: "lead.created", data: { id: "lead-1" } }),
      status: data.status ?? "FAILED",
      attemptCount: data.status === "PENDING" ? 0 : 1,
      createdAt: data.createdAt,
    },
  });
}

/** A node(id) that names nothing here: null, at most with NOT_FOUND (as for every type). */
async function expectNoNode(token: string, id: string) {
  const result = await server.gql(`query($id: ID!) { node(id: $id) { id } }`, { id }, token);
  expect(result.status).toBe(200);
  expect(result.data?.node ?? null).toBeNull();
  for (const error of result.errors ?? []) expect(error.extensions?.code).toBe("NOT_FOUND");
}

// ---------------------------------------------------------------------------------------
// GraphQL.
// ---------------------------------------------------------------------------------------

describe("createWebhookEndpoint", () => {
  test.each([
    ["CONVO", ["lead.created"], /^wh_[0-9a-f]{64}$/],
    ["VELERIA", ["booking.created", "contact.updated"], /^whsec_[A-Za-z0-9+/]{43}=$/],
    ["VOREL", ["lead.qualified"], /^vwhsec_[0-9a-f]{64}$/],
  ])("%s: the secret in the dialect's format, returned once and stored only sealed", async (dialect, events, format) => {
    const tenant = await server.createTenant("Create");
    const created = await create(tenant, { dialect, events, description: "  CRM sync  " });
    expect(created.signingSecret).toMatch(format);
    expect(created.endpoint).toMatchObject({
      dialect,
      url: "https://hooks.example.com/avelto",
      events,
      description: "CRM sync",
      status: "ACTIVE",
      disabledReason: null,
      consecutiveFailures: 0,
    });
    expect(created.endpoint.id).toMatch(/^whe_[0-9a-f-]{36}$/);
    expect(created.signingSecret.startsWith(created.endpoint.secretPrefix)).toBe(true);
    expect(created.endpoint.secretPrefix.length).toBeLessThan(created.signingSecret.length / 2);

    // Never readable again: not in the list, not on the node.
    const listed = await server.ok(tenant, LIST);
    const node = await server.ok(tenant, NODE, { id: created.endpoint.id });
    expect(listed.webhookEndpoints.edges.map((edge: any) => edge.node)).toEqual([node.node]);
    for (const answer of [listed, node]) expect(JSON.stringify(answer)).not.toContain(created.signingSecret.slice(12));

    // The column holds ciphertext that opens to the secret, and no column holds the secret.
    const row = await prisma().webhookEndpoint.findUniqueOrThrow({ where: { id: uuidOf(created.endpoint.id) } });
    expect(row.secretCiphertext).not.toContain(created.signingSecret);
    expect(row.secretCiphertext).not.toContain(created.signingSecret.slice(12, 30));
    expect((await box()).open(row.secretCiphertext!)).toBe(created.signingSecret);
    expect(JSON.stringify(row)).not.toContain(created.signingSecret);
  });

  test("refusals are BAD_USER_INPUT naming the field, and create nothing", async () => {
    const tenant = await server.createTenant("Refusals");
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ url: "ftp://hooks.example.com/x" }, "input.url", /scheme/],
      [{ url: "not a url" }, "input.url", /spaces or control characters/],
      [{ url: "https://user:pass@hooks.example.com/" }, "input.url", /credentials/],
      [{ url: `https://hooks.example.com/${"x".repeat(2_100)}` }, "input.url", /longer/],
      [{ events: ["lead.exploded"] }, "input.events", /"lead.exploded" is not a Convo event; they are lead.created, lead.updated/],
      [{ events: ["booking.created"] }, "input.events", /not a Convo event/],
      [{ events: [] }, "input.events", /at least one event/],
      [{ events: ["lead.created", "lead.created"] }, "input.events", /twice/],
      [{ description: "d".repeat(501) }, "input.description", /at most 500/],
    ];
    for (const [overrides, field, message] of cases) {
      const result = await server.gql(CREATE, { input: input(overrides) }, tenant.token);
      expectError(result, "BAD_USER_INPUT", { field });
      expect(result.errors![0]!.message, JSON.stringify(overrides).slice(0, 80)).toMatch(message);
    }
    // A dialect whose endpoints come from dispatches is not among the input's values.
    expectError(await server.gql(CREATE, { input: input({ dialect: "VELENTS_AGENT" }) }, tenant.token), "BAD_USER_INPUT");
    expect(await prisma().webhookEndpoint.count({ where: { tenantId: tenant.id } })).toBe(0);
  });

  test("without WEBHOOK_ALLOW_PRIVATE, http and private addresses are refused", async () => {
    // A database of its own: an instance on this one would also work its delivery jobs, by its own rules.
    const strict = await startTestServer({ env: { WEBHOOK_ALLOW_PRIVATE: "false" } });
    try {
      const tenant = await strict.createTenant("Strict");
      for (const url of ["http://hooks.example.com/x", "https://10.0.0.1/hook", "https://127.0.0.1/hook", "https://169.254.169.254/latest", "https://[::1]/hook"]) {
        expectError(await strict.gql(CREATE, { input: input({ url }) }, tenant.token), "BAD_USER_INPUT", { field: "input.url" });
      }
      expect(await strict.db.prisma.webhookEndpoint.count({ where: { tenantId: tenant.id } })).toBe(0);
      // The same server takes a public https URL; the test server (WEBHOOK_ALLOW_PRIVATE=true) a local one.
      expect((await strict.gql(CREATE, { input: input() }, tenant.token)).errors).toBeUndefined();
    } finally {
      await strict.close();
    }
    await create(await server.createTenant("Lenient"), { url: "http://127.0.0.1:9/hook" });
  });

  test(`at most ${MAX_ENDPOINTS_PER_TENANT} endpoints a tenant; Agent.sa's do not count`, async () => {
    const tenant = await server.createTenant("Many");
    await prisma().webhookEndpoint.create({ data: { tenantId: tenant.id, dialect: "VELENTS_AGENT", url: "https://agent.example/hook", events: [] } });
    for (let i = 0; i < MAX_ENDPOINTS_PER_TENANT; i += 1) await create(tenant, { url: `https://hooks.example.com/${i}` });
    const refused = await server.gql(CREATE, { input: input() }, tenant.token);
    expectError(refused, "BAD_USER_INPUT", { field: "input" });
    expect(refused.errors![0]!.message).toContain(`at most ${MAX_ENDPOINTS_PER_TENANT}`);
    expect(await prisma().webhookEndpoint.count({ where: { tenantId: tenant.id } })).toBe(MAX_ENDPOINTS_PER_TENANT + 1);
    // Another tenant is not limited by this one's.
    await create(await server.createTenant("Few"));
  });
});

describe("updateWebhookEndpoint, rotateWebhookSecret, deleteWebhookEndpoint", () => {
  test("url, events and description change; null clears the description; nothing else moves", async () => {
    const tenant = await server.createTenant("Update");
    const { endpoint } = await create(tenant, { description: "old" });
    const updated = (await server.ok(tenant, UPDATE, { id: endpoint.id, input: { url: "https://hooks.example.com/new", events: ["message.created"] } }))
      .updateWebhookEndpoint;
    expect(updated).toMatchObject({ url: "https://hooks.example.com/new", events: ["message.created"], description: "old", secretPrefix: endpoint.secretPrefix });
    const cleared = (await server.ok(tenant, UPDATE, { id: endpoint.id, input: { description: null } })).updateWebhookEndpoint;
    expect(cleared.description).toBeNull();

    for (const [change, field] of [
      [{ url: "gopher://x" }, "input.url"],
      [{ events: ["nope"] }, "input.events"],
      [{ events: [] }, "input.events"],
      [{ url: null }, "input.url"],
      [{ description: "x".repeat(501) }, "input.description"],
    ] as const) {
      expectError(await server.gql(UPDATE, { id: endpoint.id, input: change }, tenant.token), "BAD_USER_INPUT", { field });
    }
    expectError(await server.gql(UPDATE, { id: endpoint.id, input: {} }, tenant.token), "BAD_USER_INPUT");
    expect((await server.ok(tenant, NODE, { id: endpoint.id })).node).toEqual(cleared);
  });

  test("disable, then enable: enabling clears the failure count and the disabled reason", async () => {
    const tenant = await server.createTenant("Toggle");
    const { endpoint } = await create(tenant);
    const disabled = (await server.ok(tenant, UPDATE, { id: endpoint.id, input: { enabled: false } })).updateWebhookEndpoint;
    expect(disabled).toMatchObject({ status: "DISABLED", disabledReason: "disabled by its owner" });

    // Disabled by the service after failures: disabling again keeps its reason; enabling clears all.
    const reason = "disabled by the service after 50 failed deliveries in a row";
    await prisma().webhookEndpoint.update({ where: { id: uuidOf(endpoint.id) }, data: { consecutiveFailures: 50, disabledReason: reason } });
    expect((await server.ok(tenant, UPDATE, { id: endpoint.id, input: { enabled: false } })).updateWebhookEndpoint.disabledReason).toBe(reason);
    const enabled = (await server.ok(tenant, UPDATE, { id: endpoint.id, input: { enabled: true } })).updateWebhookEndpoint;
    expect(enabled).toMatchObject({ status: "ACTIVE", disabledReason: null, consecutiveFailures: 0 });
  });

  test("rotate: a new secret, once, with a new prefix; the old one no longer opens from the row", async () => {
    const tenant = await server.createTenant("Rotate");
    const created = await create(tenant, { dialect: "VELERIA", events: ["contact.created"] });
    const rotated = (await server.ok(tenant, ROTATE, { id: created.endpoint.id })).rotateWebhookSecret;
    expect(rotated.signingSecret).toMatch(/^whsec_/);
    expect(rotated.signingSecret).not.toBe(created.signingSecret);
    expect(rotated.endpoint).toEqual({ id: created.endpoint.id, secretPrefix: rotated.signingSecret.slice(0, rotated.endpoint.secretPrefix.length) });
    expect(rotated.endpoint.secretPrefix).not.toBe(created.endpoint.secretPrefix);
    const row = await prisma().webhookEndpoint.findUniqueOrThrow({ where: { id: uuidOf(created.endpoint.id) } });
    expect((await box()).open(row.secretCiphertext!)).toBe(rotated.signingSecret);
    expect(JSON.stringify((await server.ok(tenant, NODE, { id: created.endpoint.id })).node)).not.toContain(rotated.signingSecret.slice(12));
  });

  test("delete answers the id, takes the deliveries along, and a second delete is NOT_FOUND", async () => {
    const tenant = await server.createTenant("Delete");
    const { endpoint } = await create(tenant);
    await delivery(tenant.id, endpoint.id);
    expect((await server.ok(tenant, DELETE, { id: endpoint.id })).deleteWebhookEndpoint).toBe(endpoint.id);
    expect(await prisma().webhookEndpoint.count({ where: { tenantId: tenant.id } })).toBe(0);
    expect(await prisma().webhookDelivery.count({ where: { tenantId: tenant.id } })).toBe(0);
    expectError(await server.gql(DELETE, { id: endpoint.id }, tenant.token), "NOT_FOUND", { field: "id" });
    await expectNoNode(tenant.token, endpoint.id);
  });

  test("a malformed id is BAD_USER_INPUT on id; an id of another type is not an endpoint's", async () => {
    const tenant = await server.createTenant("Ids");
    expectError(await server.gql(DELETE, { id: "whe_nope" }, tenant.token), "BAD_USER_INPUT", { field: "id" });
    expectError(await server.gql(DELETE, { id: `con_${randomUUID()}` }, tenant.token), "BAD_USER_INPUT", { field: "id" });
  });
});

describe("deliveries and redeliverWebhook", () => {
  test("deliveries newest first with a status filter, the payload parsed, attempts oldest first", async () => {
    const tenant = await server.createTenant("Deliveries");
    const { endpoint } = await create(tenant);
    const older = await delivery(tenant.id, endpoint.id, { status: "FAILED", createdAt: new Date(Date.now() - 60_000), body: { n: 1 } });
    const newer = await delivery(tenant.id, endpoint.id, { status: "DELIVERED", body: { n: 2 } });
    await prisma().webhookAttempt.createMany({
      data: [2, 1].map((number) => ({ tenantId: tenant.id, deliveryId: older.id, number, statusCode: 500, durationMs: 12, responseBody: `boom ${number}` })),
    });
    const query = `query($id: ID!, $status: WebhookDeliveryStatus) { node(id: $id) { ... on WebhookEndpoint {
      deliveries(first: 10, status: $status) { totalCount edges { node { id eventName eventId status attemptCount payload endpoint { id }
        attempts { number statusCode durationMs error responseBody attemptedAt nextAttemptAt } } } } } } }`;
    const all = (await server.ok(tenant, query, { id: endpoint.id })).node.deliveries;
    expect(all.totalCount).toBe(2);
    expect(all.edges.map((edge: any) => edge.node.id)).toEqual([`whd_${newer.id}`, `whd_${older.id}`]);
    const first = all.edges[1].node;
    expect(first).toMatchObject({ eventName: "lead.created", eventId: older.eventId, status: "FAILED", attemptCount: 1, payload: { n: 1 }, endpoint: { id: endpoint.id } });
    expect(first.attempts.map((attempt: any) => [attempt.number, attempt.responseBody])).toEqual([
      [1, "boom 1"],
      [2, "boom 2"],
    ]);
    const failed = (await server.ok(tenant, query, { id: endpoint.id, status: "FAILED" })).node.deliveries;
    expect(failed.totalCount).toBe(1);
    expect(failed.edges[0].node.id).toBe(`whd_${older.id}`);
    // A delivery is a node of its own.
    const node = await server.ok(tenant, `query($id: ID!) { node(id: $id) { ... on WebhookDelivery { status payload } } }`, { id: `whd_${newer.id}` });
    expect(node.node).toEqual({ status: "DELIVERED", payload: { n: 2 } });
  });

  test("redeliver: CONFLICT while PENDING or while the endpoint is disabled; else PENDING again and sent", async () => {
    const tenant = await server.createTenant("Redeliver");
    const { endpoint } = await create(tenant, { url: `${receiverUrl}/redeliver` });
    const pending = await delivery(tenant.id, endpoint.id, { status: "PENDING" });
    expectError(await server.gql(REDELIVER, { id: `whd_${pending.id}` }, tenant.token), "CONFLICT");
    expect((await prisma().webhookDelivery.findUniqueOrThrow({ where: { id: pending.id } })).attemptCount).toBe(0);

    const failed = await delivery(tenant.id, endpoint.id, { status: "FAILED" });
    await server.ok(tenant, UPDATE, { id: endpoint.id, input: { enabled: false } });
    expectError(await server.gql(REDELIVER, { id: `whd_${failed.id}` }, tenant.token), "CONFLICT");
    await server.ok(tenant, UPDATE, { id: endpoint.id, input: { enabled: true } });

    const redelivered = (await server.ok(tenant, REDELIVER, { id: `whd_${failed.id}` })).redeliverWebhook;
    expect(redelivered).toEqual({ id: `whd_${failed.id}`, status: "PENDING", attemptCount: 1 });
    // The new attempt is made: the receiver answers 200, and the delivery is DELIVERED after attempt 2.
    const done = await eventually(
      () => prisma().webhookDelivery.findUniqueOrThrow({ where: { id: failed.id }, include: { attempts: true } }),
      (row) => row.status !== "PENDING",
      "the redelivery's attempt",
    );
    expect(done.status, JSON.stringify(done.attempts)).toBe("DELIVERED");
    expect(done.attempts.map((attempt) => attempt.number)).toEqual([2]);
    expect(received.some((request) => request.url === "/redeliver")).toBe(true);
    expectError(await server.gql(REDELIVER, { id: `whd_${randomUUID()}` }, tenant.token), "NOT_FOUND", { field: "id" });
  });
});

describe("Agent.sa endpoints (made by dispatches)", () => {
  test("listed with the link's origin only, deliveries without payload; no secret to rotate, url and events are the dispatch's", async () => {
    const tenant = await server.createTenant("Agent");
    const row = await prisma().webhookEndpoint.create({
      data: { tenantId: tenant.id, dialect: "VELENTS_AGENT", url: "https://crm.example.com/hooks/agent?token=s3cr3t", events: [], extraBody: { apiKey: "k3y" } },
    });
    const id = `whe_${row.id}`;
    await delivery(tenant.id, id, { status: "DELIVERED", body: { event: "onEnded", apiKey: "k3y" } });
    const listed = await server.ok(tenant, `{ webhookEndpoints(dialect: VELENTS_AGENT) { totalCount edges { node { id url secretPrefix deliveries { edges { node { payload } } } } } } }`);
    expect(listed.webhookEndpoints).toEqual({
      totalCount: 1,
      edges: [{ node: { id, url: "https://crm.example.com/…", secretPrefix: null, deliveries: { edges: [{ node: { payload: null } }] } } }],
    });
    expect(JSON.stringify(listed)).not.toMatch(/s3cr3t|k3y/);
    expect((await server.ok(tenant, LIST, { dialect: "CONVO" })).webhookEndpoints.totalCount).toBe(0);

    expectError(await server.gql(ROTATE, { id }, tenant.token), "CONFLICT");
    expectError(await server.gql(UPDATE, { id, input: { url: "https://elsewhere.example/" } }, tenant.token), "CONFLICT");
    expectError(await server.gql(UPDATE, { id, input: { events: ["onEnded"] } }, tenant.token), "CONFLICT");
    // Its status and description are its owner's to change, and it can be deleted.
    expect((await server.ok(tenant, UPDATE, { id, input: { enabled: false, description: "paused" } })).updateWebhookEndpoint).toMatchObject({ status: "DISABLED", description: "paused" });
    expect((await server.ok(tenant, DELETE, { id })).deleteWebhookEndpoint).toBe(id);
  });
});

describe("scopes", () => {
  test("reading needs webhooks:read, writing webhooks:write; a write returns its own endpoint, not deliveries", async () => {
    const tenant = await server.createTenant("Scopes");
    const { endpoint } = await create(tenant);
    const without = (scope: Scope) => tenant.tokenWith(DATA_SCOPES.filter((each) => each !== scope));

    const noRead = await without("webhooks:read");
    expectError(await server.gql(LIST, {}, noRead), "FORBIDDEN", { scope: "webhooks:read" });
    expectError(await server.gql(NODE, { id: endpoint.id }, noRead), "FORBIDDEN", { scope: "webhooks:read" });

    const noWrite = await without("webhooks:write");
    const before = await prisma().webhookEndpoint.findUniqueOrThrow({ where: { id: uuidOf(endpoint.id) } });
    for (const [query, variables] of [
      [CREATE, { input: input() }],
      [UPDATE, { id: endpoint.id, input: { enabled: false } }],
      [ROTATE, { id: endpoint.id }],
      [DELETE, { id: endpoint.id }],
      [REDELIVER, { id: `whd_${randomUUID()}` }],
    ] as const) {
      expectError(await server.gql(query, variables, noWrite), "FORBIDDEN", { scope: "webhooks:write" });
    }
    expect(await prisma().webhookEndpoint.findUniqueOrThrow({ where: { id: uuidOf(endpoint.id) } })).toEqual(before);
    expect(await prisma().webhookEndpoint.count({ where: { tenantId: tenant.id } })).toBe(1);

    // webhooks:write alone: the endpoint it wrote is readable ("written"), its deliveries are not.
    const writer = await tenant.tokenWith(["webhooks:write"]);
    const written = await server.ok(writer, CREATE, { input: input({ url: "https://hooks.example.com/w" }) });
    expect(written.createWebhookEndpoint.endpoint.url).toBe("https://hooks.example.com/w");
    const peek = await server.gql(`mutation($id: ID!) { updateWebhookEndpoint(id: $id, input: { description: "x" }) { id deliveries { totalCount } } }`, { id: endpoint.id }, writer);
    expectError(peek, "FORBIDDEN", { scope: "webhooks:read" });
    expectError(await server.gql(LIST, {}, writer), "FORBIDDEN", { scope: "webhooks:read" });
  });

  test("Vorel's read does not include webhooks:read (webhooks are dashboard-only there); the canonical name grants it", () => {
    expect(toCanonicalScopes("VOREL", ["read"])).not.toContain("webhooks:read");
    expect(toCanonicalScopes("VOREL", ["read", "webhooks:read"])).toContain("webhooks:read");
    expect(toCanonicalScopes("VELERIA", ["full_access"])).toEqual(expect.arrayContaining(["webhooks:read", "webhooks:write"]));
    expect(toCanonicalScopes("CONVO", ["webhooks:read", "webhooks:write"])).toEqual(["webhooks:read", "webhooks:write"]);
  });
});

describe("tenancy", () => {
  test("another tenant's endpoint and delivery ids answer exactly as unknown ones, and change nothing", async () => {
    const mine = await server.createTenant("Mine");
    const theirs = await server.createTenant("Theirs");
    const { endpoint } = await create(theirs);
    const theirDelivery = await delivery(theirs.id, endpoint.id, { status: "FAILED" });
    const before = await prisma().webhookEndpoint.findUniqueOrThrow({ where: { id: uuidOf(endpoint.id) } });
    const unknownEndpoint = `whe_${randomUUID()}`;
    const visible = (r: GraphQLResponse) => ({ status: r.status, data: r.data ?? null, errors: r.errors ?? null });

    for (const [query, variables] of [
      [UPDATE, (id: string) => ({ id, input: { url: "https://evil.example/" } })],
      [ROTATE, (id: string) => ({ id })],
      [DELETE, (id: string) => ({ id })],
      [NODE, (id: string) => ({ id })],
    ] as const) {
      const foreign = await server.gql(query, variables(endpoint.id), mine.token);
      const unknown = await server.gql(query, variables(unknownEndpoint), mine.token);
      expect(visible(foreign)).toEqual(visible(unknown));
      if (query !== NODE) expectError(foreign, "NOT_FOUND", { field: "id" });
    }
    const foreign = await server.gql(REDELIVER, { id: `whd_${theirDelivery.id}` }, mine.token);
    expectError(foreign, "NOT_FOUND", { field: "id" });
    expect(visible(foreign)).toEqual(visible(await server.gql(REDELIVER, { id: `whd_${randomUUID()}` }, mine.token)));
    await expectNoNode(mine.token, `whd_${theirDelivery.id}`);
    expect((await server.ok(mine, LIST)).webhookEndpoints).toEqual({ totalCount: 0, edges: [] });

    expect(await prisma().webhookEndpoint.findUniqueOrThrow({ where: { id: uuidOf(endpoint.id) } })).toEqual(before);
    expect((await prisma().webhookDelivery.findUniqueOrThrow({ where: { id: theirDelivery.id } })).status).toBe("FAILED");
    expect((await server.ok(theirs, LIST)).webhookEndpoints.totalCount).toBe(1);
  });
});

// ---------------------------------------------------------------------------------------
// Convo REST: POST /api/v1/integrations/webhook, GET /api/v1/integrations.
// ---------------------------------------------------------------------------------------

describe("Convo REST", () => {
  /** A request whose answer must be as the served document says. */
  async function convo(token: string | null, method: string, template: string, body?: unknown): Promise<Reply> {
    const reply = await restRequest(origin, method, `/api/v1${template}`, token, body);
    expect(reply.status, JSON.stringify(reply.body)).toBeLessThan(500);
    oracle.expectDocumented("convo", method, template, reply.status, reply.body);
    return reply;
  }

  test("register (the seed's example) returns the secret once; the list never shows it", async () => {
    const tenant = await server.createTenant("Convo REST");
    const request = { type: "WEBHOOK", url: "https://hooks.example.com/avelto", events: ["lead.created", "conversation.closed"] };
    const created = await convo(tenant.token, "POST", "/integrations/webhook", request);
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), ...request, signingSecret: expect.stringMatching(/^wh_[0-9a-f]{64}$/) });

    // Another dialect's endpoint is not a Convo integration.
    await create(tenant, { dialect: "VOREL", events: ["lead.created"] });
    const listed = await convo(tenant.token, "GET", "/integrations");
    expect(listed.status).toBe(200);
    expect(listed.body).toEqual([{ id: created.body.id, type: "WEBHOOK", url: request.url, events: request.events, status: "CONNECTED", createdAt: expect.any(String) }]);
    expect(JSON.stringify(listed.body)).not.toContain(created.body.signingSecret.slice(8));

    await server.ok(tenant, UPDATE, { id: `whe_${created.body.id}`, input: { enabled: false } });
    expect((await convo(tenant.token, "GET", "/integrations")).body[0].status).toBe("DISCONNECTED");
    // It is the same endpoint GraphQL sees, signed with the same secret.
    const row = await prisma().webhookEndpoint.findUniqueOrThrow({ where: { id: created.body.id } });
    expect(row.dialect).toBe("CONVO");
    expect((await box()).open(row.secretCiphertext!)).toBe(created.body.signingSecret);
  });

  test("a bad body is a 422 in Convo's shape naming the field; malformed JSON a 400; nothing is written", async () => {
    const tenant = await server.createTenant("Convo refusals");
    const good = { type: "WEBHOOK", url: "https://hooks.example.com/avelto", events: ["lead.created"] };
    const cases: [unknown, string][] = [
      [{ ...good, type: "SLACK" }, "type"],
      [{ url: good.url, events: good.events }, "type"],
      [{ ...good, secret: "mine" }, "secret"],
      [{ ...good, url: "ftp://hooks.example.com" }, "url"],
      [{ ...good, url: 42 }, "url"],
      [{ ...good, events: ["lead.exploded"] }, "events"],
      [{ ...good, events: [] }, "events"],
      [{ ...good, events: "lead.created" }, "events"],
      [{ type: "WEBHOOK", events: good.events }, "url"],
    ];
    for (const [body, field] of cases) {
      const reply = await convo(tenant.token, "POST", "/integrations/webhook", body);
      expect(reply.status, JSON.stringify(body)).toBe(422);
      expect(reply.body).toMatchObject({ statusCode: 422, error: "Unprocessable Entity" });
      expect(Object.keys(reply.body.errors), JSON.stringify(reply.body)).toContain(field);
      expect(reply.body.message).not.toMatch(/input\.|Variable|\$input/);
    }
    const unknownEvent = await convo(tenant.token, "POST", "/integrations/webhook", { ...good, events: ["lead.exploded"] });
    expect(unknownEvent.body.errors.events[0]).toMatch(/^"lead.exploded" is not a Convo event; they are lead.created/);

    const malformed = await convo(tenant.token, "POST", "/integrations/webhook", "{not json");
    expect(malformed.status).toBe(400);
    expect(malformed.body).toMatchObject({ statusCode: 400, error: "Bad Request" });
    expect(await prisma().webhookEndpoint.count({ where: { tenantId: tenant.id } })).toBe(0);
  });

  test("401 without a token, 403 naming the scope without it", async () => {
    const tenant = await server.createTenant("Convo auth");
    const body = { type: "WEBHOOK", url: "https://hooks.example.com/a", events: ["lead.created"] };
    const anonymous = await convo(null, "POST", "/integrations/webhook", body);
    expect(anonymous.status).toBe(401);
    expect(anonymous.body).toMatchObject({ statusCode: 401, error: "Unauthorized" });
    expect((await convo(null, "GET", "/integrations")).status).toBe(401);

    const noWrite = await tenant.tokenWith(DATA_SCOPES.filter((scope) => scope !== "webhooks:write"));
    const refused = await convo(noWrite, "POST", "/integrations/webhook", body);
    expect(refused.status).toBe(403);
    expect(refused.body).toEqual({ statusCode: 403, error: "Forbidden", message: expect.stringContaining("webhooks:write"), scope: "webhooks:write" });
    const noRead = await tenant.tokenWith(DATA_SCOPES.filter((scope) => scope !== "webhooks:read"));
    expect((await convo(noRead, "GET", "/integrations")).body).toMatchObject({ statusCode: 403, scope: "webhooks:read" });
    expect(await prisma().webhookEndpoint.count({ where: { tenantId: tenant.id } })).toBe(0);
  });

  test("the catalogue the document lists is Convo's", () => {
    const operation = oracle.documents.get("convo")!.paths["/integrations/webhook"]!.post;
    const schema = JSON.stringify(operation.requestBody);
    for (const event of WEBHOOK_EVENTS.CONVO) expect(schema).toContain(event);
  });
});

// ---------------------------------------------------------------------------------------
// The admin CLI, spawned as `npx tsx src/cli/main.ts`, on a data directory of its own.
// ---------------------------------------------------------------------------------------

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], dataDir: string): Promise<CliRun> {
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir };
  delete env.DATABASE_URL;
  delete env.WEBHOOK_SECRET_KEY;
  delete env.WEBHOOK_ALLOW_PRIVATE;
  return new Promise((resolve, reject) => {
    const child = spawn("npx", ["tsx", "src/cli/main.ts", ...args], { cwd: projectRoot, env });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("CLI", () => {
  test.skipIf(usingPostgres)(
    "webhooks:create prints the secret once; list does not; rotate, disable, enable, delete; bad input exits 2",
    async () => {
      const dir = await mkdtemp(path.join(tmpdir(), "engagement-graph-webhooks-"));
      try {
        // Commands that refuse before opening the database may run beside one that opens it.
        const [help, tenant, agentDialect, malformedId] = await Promise.all([
          cli(["--help"], dir),
          cli(["tenants:create", "--name", "Hooks Co", "--slug", "hooks-co"], dir),
          cli(["webhooks:create", "--tenant", "hooks-co", "--dialect", "velents_agent", "--url", "https://a.example", "--events", "onEnded"], dir),
          cli(["webhooks:rotate", "--id", "nope"], dir),
        ]);
        for (const command of ["webhooks:create", "webhooks:list", "webhooks:rotate", "webhooks:disable", "webhooks:enable", "webhooks:delete"]) {
          expect(help.stdout).toContain(command);
        }
        expect(tenant.code, tenant.stderr).toBe(0);
        const expectUsageError = (run: CliRun, message: RegExp) => {
          expect(run.code, run.stderr).toBe(2);
          expect(run.stderr).toMatch(message);
        };
        expectUsageError(agentDialect, /--dialect is one of veleria, convo, vorel/);
        expectUsageError(malformedId, /--id is a webhook endpoint's uuid or whe_ id/);

        const created = await cli(
          ["webhooks:create", "--tenant", "hooks-co", "--dialect", "convo", "--url", "https://hooks.example.com/cli", "--events", "lead.created,conversation.closed", "--description", "CRM"],
          dir,
        );
        expect(created.code, created.stderr).toBe(0);
        expect(created.stdout).toMatch(/^wh_[0-9a-f]{64}\n$/);
        const secret = created.stdout.trim();
        expect(created.stderr).toMatch(/shown this once only/);
        expect(created.stderr).not.toContain(secret);
        const id = /Created webhook endpoint ([0-9a-f-]{36})/.exec(created.stderr)![1]!;

        const listed = await cli(["webhooks:list", "--tenant", "hooks-co"], dir);
        expect(listed.code, listed.stderr).toBe(0);
        expect(listed.stdout).not.toContain(secret.slice(8));
        const [row] = listed.stdout.trim().split("\n").map((line) => line.split("\t"));
        expect(row).toEqual([id, "CONVO", "active", `${secret.slice(0, 7)}…`, "https://hooks.example.com/cli", "lead.created,conversation.closed", "CRM"]);

        const rotated = await cli(["webhooks:rotate", "--id", `whe_${id}`], dir);
        expect(rotated.code, rotated.stderr).toBe(0);
        expect(rotated.stdout).toMatch(/^wh_[0-9a-f]{64}\n$/);
        expect(rotated.stdout.trim()).not.toBe(secret);

        expect((await cli(["webhooks:disable", "--id", id], dir)).stdout).toBe(`Disabled webhook endpoint ${id}\n`);
        expect((await cli(["webhooks:enable", "--id", id], dir)).stdout).toBe(`Enabled webhook endpoint ${id}\n`);

        // The rules' refusals, in the CLI's words (no http without WEBHOOK_ALLOW_PRIVATE).
        const create = (url: string, events: string) => cli(["webhooks:create", "--tenant", "hooks-co", "--dialect", "vorel", "--url", url, "--events", events], dir);
        expectUsageError(await create("http://hooks.example.com", "lead.created"), /--url: URL scheme must be https:/);
        expectUsageError(await create("https://hooks.example.com", "lead.exploded"), /--events: "lead.exploded" is not a Vorel event/);

        expect((await cli(["webhooks:delete", "--id", id], dir)).stdout).toBe(`Deleted webhook endpoint ${id}\n`);
        expectUsageError(await cli(["webhooks:delete", "--id", id], dir), /No such webhook endpoint/);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
    180_000,
  );
});
