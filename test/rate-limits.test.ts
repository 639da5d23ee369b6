// Rate limits (src/limits): each REST dialect's documented policy with its headers and 429 body,
// the GraphQL complexity budget over HTTP and WebSocket, the per-IP limit for callers without a
// valid token, TRUST_PROXY, RATE_LIMITS itself, and with REDIS_URL: exact counts across two
// instances on one Redis, and a Redis outage through a TCP proxy.
//
// Limits are small, so no test waits for a window to pass: each test spends a budget and looks
// at what happens next. Instances that need a budget of their own (the per-IP ones: every
// request here comes from 127.0.0.1) are started for the test with server.startInstance.
import { randomBytes, randomUUID } from "node:crypto";
import { complexityFromQuery } from "@pothos/plugin-complexity";
import { createClient } from "graphql-ws";
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import { WebSocket } from "ws";
import { loadConfig } from "../src/config.js";
import { issueToken } from "../src/auth/viewer.js";
import { schema } from "../src/graphql/schema.js";
import { clientAddress } from "../src/limits/rate-limits.js";
import { seedTenant } from "./fixtures.js";
import { startTestServer, waitUntil, type TestServer } from "./harness.js";
import { openApiOracle, restRequest, type OpenApiOracle, type Reply } from "./openapi-oracle.js";
import { RedisProxy } from "./redis-proxy.js";

const REDIS_URL = process.env.REDIS_URL;
/** Counters of this run only: each test file, database project and run has its own keys in Redis. */
const RUN_PREFIX = `test:rate:${randomBytes(6).toString("hex")}:`;

/** The limits of the shared instance: small, so that each test reaches them in a few requests. */
const LIMITS = {
  anonymous: { limit: 50 },
  veleria: { limit: { STARTER: 3, PRO: 5 } },
  convo: { limit: 3 },
  vorelKey: { limit: 2 },
  vorelTenant: { limit: 3 },
  velents: { limit: 3 },
  graphql: { limit: 20 },
};
const rateLimits = (limits: object) => ({ RATE_LIMITS: JSON.stringify(limits) });

let server: TestServer;
let origin: string;
let oracle: OpenApiOracle;

beforeAll(async () => {
  server = await startTestServer({ env: rateLimits(LIMITS) });
  origin = new URL(server.url).origin;
  oracle = await openApiOracle(origin, ["veleria", "convo", "vorel", "velents"]);
});
afterAll(() => server?.close());

const originOf = (graphqlUrl: string) => new URL(graphqlUrl).origin;

/** A GraphQL request over HTTP with its status and headers. */
async function graphql(url: string, token: string | null, query: string, extra: { operationName?: string; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { "content-type": "application/json", accept: "application/json", ...extra.headers };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(url, { method: "POST", headers, body: JSON.stringify({ query, operationName: extra.operationName }) });
  // `any`: the tests read data and errors freely, as harness.ts does.
  return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, any> };
}

/** The X-RateLimit-* (REST) or RateLimit-* (GraphQL) headers and Retry-After, as numbers. */
function limitHeaders(headers: Headers, prefix: "X-RateLimit" | "RateLimit") {
  const number = (name: string) => (headers.has(name) ? Number(headers.get(name)) : undefined);
  return {
    limit: number(`${prefix}-Limit`),
    remaining: number(`${prefix}-Remaining`),
    reset: number(`${prefix}-Reset`),
    retryAfter: number("Retry-After"),
  };
}

/** A Unix time in seconds that ends a window of `windowSeconds` started at most now. */
function expectResetWithin(reset: number | undefined, windowSeconds: number) {
  const now = Date.now() / 1000;
  expect(reset).toBeGreaterThanOrEqual(Math.floor(now));
  expect(reset).toBeLessThanOrEqual(Math.ceil(now + windowSeconds));
}

const costOf = (query: string) => complexityFromQuery(query, { schema }).complexity;

describe("configuration", () => {
  test("defaults are the platforms' figures; RATE_LIMITS=off disables; JSON changes policies, plans and tenants", () => {
    const defaults = loadConfig({}).rateLimits;
    expect(defaults).toMatchObject({ enabled: true, trustedProxies: 0, tenants: {} });
    expect(defaults.policies).toEqual({
      anonymous: { limit: { STARTER: 60, PRO: 60, BUSINESS: 60 }, windowSeconds: 60 },
      veleria: { limit: { STARTER: 100, PRO: 1_000, BUSINESS: 10_000 }, windowSeconds: 3_600 },
      convo: { limit: { STARTER: 600, PRO: 600, BUSINESS: 600 }, windowSeconds: 60 },
      vorelKey: { limit: { STARTER: 200, PRO: 200, BUSINESS: 200 }, windowSeconds: 60 },
      vorelTenant: { limit: { STARTER: 5_000, PRO: 5_000, BUSINESS: 5_000 }, windowSeconds: 60 },
      velents: { limit: { STARTER: 40, PRO: 40, BUSINESS: 40 }, windowSeconds: 60 },
      graphql: { limit: { STARTER: 100_000, PRO: 100_000, BUSINESS: 100_000 }, windowSeconds: 60 },
    });
    expect(loadConfig({ RATE_LIMITS: "off" }).rateLimits.enabled).toBe(false);

    const custom = loadConfig({
      ...rateLimits({ veleria: { limit: { STARTER: 200 } }, convo: { limit: 1_200, windowSeconds: 30 }, tenants: { acme: { vorelKey: 1_000 } }, keyPrefix: "staging:" }),
      TRUST_PROXY: "1",
    }).rateLimits;
    expect(custom.policies.veleria).toEqual({ limit: { STARTER: 200, PRO: 1_000, BUSINESS: 10_000 }, windowSeconds: 3_600 });
    expect(custom.policies.convo).toEqual({ limit: { STARTER: 1_200, PRO: 1_200, BUSINESS: 1_200 }, windowSeconds: 30 });
    expect(custom.policies.velents).toEqual(defaults.policies.velents);
    expect(custom).toMatchObject({ tenants: { acme: { vorelKey: 1_000 } }, keyPrefix: "staging:", trustedProxies: 1 });
  });

  test("a malformed RATE_LIMITS or TRUST_PROXY stops the start with a message naming it", () => {
    for (const raw of ["{", "[]", '{"convo":{"limit":0}}', '{"convo":{"limit":1.5}}', '{"unknown":{"limit":1}}', '{"convo":{"per":"hour"}}', '{"veleria":{"limit":{"GOLD":1}}}', '{"tenants":{"acme":{"convo":"many"}}}']) {
      expect(() => loadConfig({ RATE_LIMITS: raw }), raw).toThrow(/^RATE_LIMITS /);
    }
    expect(() => loadConfig({ TRUST_PROXY: "yes" })).toThrow(/TRUST_PROXY/);
  });

  test("the client address: the socket's unless TRUST_PROXY says how many proxies append to X-Forwarded-For", () => {
    expect(clientAddress("203.0.113.9", "198.51.100.1", 0)).toBe("203.0.113.9");
    expect(clientAddress("10.0.0.2", "198.51.100.1", 1)).toBe("198.51.100.1");
    // The caller can write anything left of what our proxies appended.
    expect(clientAddress("10.0.0.2", "1.2.3.4, 198.51.100.1", 1)).toBe("198.51.100.1");
    expect(clientAddress("10.0.0.2", "1.2.3.4, 198.51.100.1, 10.0.0.1", 2)).toBe("198.51.100.1");
    expect(clientAddress("10.0.0.2", null, 1)).toBe("10.0.0.2");
    expect(clientAddress("::ffff:127.0.0.1", null, 0)).toBe("127.0.0.1");
    expect(clientAddress("2001:db8:1:2:3:4:5:6", null, 0)).toBe("2001:db8:1:2::/64");
    expect(clientAddress("2001:db8:1:2::9", null, 0)).toBe("2001:db8:1:2::/64");
    expect(clientAddress("2001:db8::1", null, 0)).toBe("2001:db8:0:0::/64");
  });
});

describe("Veleria: per tenant per hour, by plan", () => {
  const CONTACTS = "/v1/contacts";
  const list = (token: string, at = origin) => restRequest(at, "GET", CONTACTS, token);

  test("a STARTER tenant gets its plan's requests, counted across its keys; then 429 in Veleria's shape", async () => {
    const tenant = await server.createTenant("Veleria Starter");
    const [first, second] = await Promise.all([tenant.tokenWith(["contacts:read"], "VELERIA"), tenant.tokenWith(["contacts:read"], "VELERIA")]);
    const replies: Reply[] = [];
    for (const token of [first, second, first, second]) replies.push(await list(token));
    expect(replies.map((reply) => reply.status)).toEqual([200, 200, 200, 429]);
    expect(replies.slice(0, 3).map((reply) => limitHeaders(reply.headers, "X-RateLimit"))).toMatchObject([
      { limit: 3, remaining: 2, retryAfter: undefined },
      { limit: 3, remaining: 1, retryAfter: undefined },
      { limit: 3, remaining: 0, retryAfter: undefined },
    ]);
    const refused = replies[3]!;
    const headers = limitHeaders(refused.headers, "X-RateLimit");
    expect(headers).toMatchObject({ limit: 3, remaining: 0 });
    expect(headers.retryAfter).toBeGreaterThanOrEqual(1);
    expect(headers.retryAfter).toBeLessThanOrEqual(3_600);
    expectResetWithin(headers.reset, 3_600);
    expect(refused.body).toEqual({ success: false, error: { code: "too_many_requests", message: expect.stringMatching(/^Rate limit exceeded: 3 requests per hour for this account; retry in \d+ s$/) } });
    oracle.expectDocumented("veleria", "GET", "/contacts", 429, refused.body);
  });

  test("each tenant has its own count, and a PRO tenant its plan's", async () => {
    const [spent, fresh, pro] = await Promise.all([server.createTenant("Spent"), server.createTenant("Fresh"), server.createTenant("Pro")]);
    await server.db.prisma.tenant.update({ where: { id: pro.id }, data: { plan: "PRO" } });
    const spentToken = await spent.tokenWith(["contacts:read"], "VELERIA");
    for (let i = 0; i < 3; i++) expect((await list(spentToken)).status).toBe(200);
    expect((await list(spentToken)).status).toBe(429);

    const freshReply = await list(await fresh.tokenWith(["contacts:read"], "VELERIA"));
    expect(freshReply.status).toBe(200);
    expect(limitHeaders(freshReply.headers, "X-RateLimit")).toMatchObject({ limit: 3, remaining: 2 });
    const proToken = await pro.tokenWith(["contacts:read"], "VELERIA");
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await list(proToken)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
  });

  test("a tenant override, by slug or by id, replaces the plan's figure", async () => {
    const [bySlug, byId, other] = await Promise.all([server.createTenant("Slug"), server.createTenant("Id"), server.createTenant("Other")]);
    const instance = await server.startInstance(rateLimits({ ...LIMITS, tenants: { [bySlug.slug]: { veleria: 1 }, [byId.id]: { veleria: 2 } } }));
    const at = originOf(instance.url);
    const statuses = async (token: string, count: number) => {
      const result: number[] = [];
      for (let i = 0; i < count; i++) result.push((await list(token, at)).status);
      return result;
    };
    expect(await statuses(await bySlug.tokenWith(["contacts:read"], "VELERIA"), 2)).toEqual([200, 429]);
    expect(await statuses(await byId.tokenWith(["contacts:read"], "VELERIA"), 3)).toEqual([200, 200, 429]);
    expect(await statuses(await other.tokenWith(["contacts:read"], "VELERIA"), 4)).toEqual([200, 200, 200, 429]);
  });
});

describe("Convo: 600 a minute per workspace and route", () => {
  test("each route has its own count; ids in the path are one route; 429 is NestJS-shaped with Retry-After", async () => {
    const [tenant, other] = await Promise.all([server.createTenant("Convo"), server.createTenant("Convo Other")]);
    const token = await tenant.tokenWith(["leads:read", "conversations:read"], "CONVO");
    const leads: Reply[] = [];
    for (let i = 0; i < 4; i++) leads.push(await restRequest(origin, "GET", "/api/v1/leads", token));
    expect(leads.map((reply) => reply.status)).toEqual([200, 200, 200, 429]);
    const refused = leads[3]!;
    expect(refused.body).toEqual({
      statusCode: 429,
      error: "Too Many Requests",
      message: expect.stringMatching(/^Rate limit exceeded: 3 requests per minute for this workspace on this route; retry in \d+ s$/),
    });
    expect(limitHeaders(refused.headers, "X-RateLimit")).toMatchObject({ limit: 3, remaining: 0, retryAfter: expect.any(Number) });
    expect(limitHeaders(refused.headers, "X-RateLimit").retryAfter).toBeLessThanOrEqual(60);
    oracle.expectDocumented("convo", "GET", "/leads", 429, refused.body);

    // Another route of the same workspace, and the same route of another workspace, are untouched.
    expect((await restRequest(origin, "GET", "/api/v1/conversations", token)).status).toBe(200);
    expect((await restRequest(origin, "GET", "/api/v1/leads", await other.tokenWith(["leads:read"], "CONVO"))).status).toBe(200);

    // GET /conversations/:id is one route whatever the id (404s count too).
    const byId: number[] = [];
    for (let i = 0; i < 3; i++) byId.push((await restRequest(origin, "GET", `/api/v1/conversations/${randomUUID()}`, token)).status);
    byId.push((await restRequest(origin, "GET", `/api/v1/conversations/${randomUUID()}`, token)).status);
    expect(byId).toEqual([404, 404, 404, 429]);
  });
});

describe("Vorel: 200 a minute per key and 5,000 per tenant", () => {
  const create = (token: string, customer: string) =>
    restRequest(origin, "POST", "/api/v1/conversations", token, { channel: "whatsapp", customer_identifier: customer });

  test("a key over its own limit gets rate_limited without using up its tenant's; then the tenant's limit holds for every key", async () => {
    const tenant = await server.createTenant("Vorel");
    const [keyA, keyB] = await Promise.all([tenant.tokenWith(["conversations:write"], "VOREL"), tenant.tokenWith(["conversations:write"], "VOREL")]);
    const a = [await create(keyA, "+61400000001"), await create(keyA, "+61400000002"), await create(keyA, "+61400000003")];
    expect(a.map((reply) => reply.status)).toEqual([201, 201, 429]);
    // The header reports the limit nearest to running out: the key's.
    expect(limitHeaders(a[0]!.headers, "X-RateLimit")).toMatchObject({ limit: 2, remaining: 1 });
    const keyRefusal = a[2]!;
    expect(keyRefusal.body).toEqual({ error: { code: "rate_limited", message: expect.stringMatching(/^Rate limit exceeded: 2 requests per minute for this API key; retry in \d+ s$/) } });
    expect(limitHeaders(keyRefusal.headers, "X-RateLimit")).toMatchObject({ limit: 2, remaining: 0, retryAfter: expect.any(Number) });
    expectResetWithin(limitHeaders(keyRefusal.headers, "X-RateLimit").reset, 60);
    oracle.expectDocumented("vorel", "POST", "/conversations", 429, keyRefusal.body);

    // The tenant has counted 2 (the refused request did not count for it): key B gets the third.
    const b = [await create(keyB, "+61400000004"), await create(keyB, "+61400000005")];
    expect(b.map((reply) => reply.status)).toEqual([201, 429]);
    expect(limitHeaders(b[0]!.headers, "X-RateLimit")).toMatchObject({ limit: 3, remaining: 0 });
    expect(b[1]!.body).toEqual({ error: { code: "rate_limited", message: expect.stringMatching(/^Rate limit exceeded: 3 requests per minute for this tenant; /) } });
    expect(limitHeaders(b[1]!.headers, "X-RateLimit")).toMatchObject({ limit: 3, remaining: 0, retryAfter: expect.any(Number) });
    // Nothing was written by a refused request.
    expect(await server.db.prisma.conversation.count({ where: { tenantId: tenant.id } })).toBe(3);
  });
});

describe("Velents Support Center: per token per minute", () => {
  const ME = "/Company/TenantAuth/me";

  test("an Agent.sa token is counted the same way, per token, with the same headers and body", async () => {
    const tenant = await server.createTenant("Agent.sa limits");
    const agent = await server.ok(tenant, `mutation { createAgent(input: { name: "Limited" }) { id } }`);
    const { secret } = await issueToken(server.db.prisma, {
      tenantId: tenant.id,
      name: "agent",
      format: "VELENTS_AGENT",
      scopes: ["agents:read"],
      agentId: agent.createAgent.id.replace(/^agt_/, ""),
    });
    const replies: Reply[] = [];
    for (let i = 0; i < 4; i++) replies.push(await restRequest(origin, "GET", "/Integration/Agent", secret));
    expect(replies.map((reply) => reply.status)).toEqual([200, 200, 200, 429]);
    expect(limitHeaders(replies[3]!.headers, "X-RateLimit")).toEqual({ limit: 3, remaining: 0, reset: undefined, retryAfter: expect.any(Number) });
    expect(replies[3]!.body).toEqual({ message: expect.stringMatching(/^Rate limit exceeded: 3 requests per minute for this token; retry in \d+ s$/) });
  });

  test("X-RateLimit-Limit and -Remaining on every response, errors included; Retry-After on 429 only; Laravel's body", async () => {
    const tenant = await server.createTenant("Velents");
    const token = await tenant.tokenWith(["conversations:read"], "VELENTS_SUPPORT");
    const replies: Reply[] = [];
    for (let i = 0; i < 4; i++) replies.push(await restRequest(origin, "GET", ME, token));
    expect(replies.map((reply) => reply.status)).toEqual([200, 200, 200, 429]);
    expect(replies.map((reply) => limitHeaders(reply.headers, "X-RateLimit"))).toEqual([
      { limit: 3, remaining: 2, reset: undefined, retryAfter: undefined },
      { limit: 3, remaining: 1, reset: undefined, retryAfter: undefined },
      { limit: 3, remaining: 0, reset: undefined, retryAfter: undefined },
      { limit: 3, remaining: 0, reset: undefined, retryAfter: expect.any(Number) },
    ]);
    expect(replies[3]!.body).toEqual({ message: expect.stringMatching(/^Rate limit exceeded: 3 requests per minute for this token; retry in \d+ s$/) });
    oracle.expectDocumented("velents", "GET", ME, 429, replies[3]!.body);

    // Another token of the same tenant has its own count; an unknown path is counted and says so.
    const other = await tenant.tokenWith(["conversations:read"], "VELENTS_SUPPORT");
    const missing = await restRequest(origin, "GET", "/Company/Support/Nothing", other);
    expect(missing.status).toBe(404);
    expect(limitHeaders(missing.headers, "X-RateLimit")).toMatchObject({ limit: 3, remaining: 2 });
    // A well-formed token that names no token is a caller without a valid token: the per-IP limit's headers.
    const unknown = await restRequest(origin, "GET", ME, `Velents_${tenant.id}_PersonalAccessToken_${"a".repeat(40)}`);
    expect(unknown.status).toBe(401);
    expect(unknown.body).toEqual({ message: "Unauthenticated." });
    expect(limitHeaders(unknown.headers, "X-RateLimit")).toMatchObject({ limit: 50, remaining: expect.any(Number), retryAfter: undefined });
  });
});

describe("GraphQL: a budget of complexity points per token", () => {
  const VIEWER = "{ viewer { tenant { name } } }";
  const TWO_OPERATIONS = "query Cheap { viewer { scopes } } query Dear { viewer { tenant { name slug plan } } }";

  test("each operation spends its complexity; RateLimit-* headers count down; 429 RATE_LIMITED with retryAfter when spent", async () => {
    const tenant = await server.createTenant("GraphQL");
    const cost = costOf(VIEWER);
    const allowed = Math.floor(LIMITS.graphql.limit / cost);
    const replies = [];
    for (let i = 0; i <= allowed; i++) replies.push(await graphql(server.url, tenant.token, VIEWER));
    replies.slice(0, allowed).forEach((reply, i) => {
      expect(reply.status).toBe(200);
      expect(reply.body).toEqual({ data: { viewer: { tenant: { name: "GraphQL" } } } });
      const headers = limitHeaders(reply.headers, "RateLimit");
      expect(headers).toMatchObject({ limit: LIMITS.graphql.limit, remaining: LIMITS.graphql.limit - (i + 1) * cost, retryAfter: undefined });
      expect(headers.reset).toBeGreaterThanOrEqual(0);
      expect(headers.reset).toBeLessThanOrEqual(60);
    });
    const refused = replies[allowed]!;
    expect(refused.status).toBe(429);
    expect(refused.body.data).toBeUndefined();
    expect(refused.body.errors).toEqual([
      {
        message: expect.stringMatching(/^Rate limit exceeded: 20 query-complexity points per minute for this token; retry in \d+ s$/),
        extensions: { code: "RATE_LIMITED", retryAfter: expect.any(Number), limit: 20 },
      },
    ]);
    const headers = limitHeaders(refused.headers, "RateLimit");
    expect(headers).toMatchObject({ limit: 20, remaining: 0 });
    expect(headers.retryAfter).toBe(refused.body.errors[0].extensions.retryAfter);

    // Budgets are per token.
    const other = await tenant.tokenWith(["contacts:read"]);
    expect(limitHeaders((await graphql(server.url, other, VIEWER)).headers, "RateLimit").remaining).toBe(20 - cost);
  });

  test("the operation that runs is the one charged, as the schema's complexity plugin measures it", async () => {
    const tenant = await server.createTenant("Operations");
    const cheap = costOf("{ viewer { scopes } }");
    const dear = costOf("{ viewer { tenant { name slug plan } } }");
    expect(dear).toBeGreaterThan(cheap);
    const first = await graphql(server.url, tenant.token, TWO_OPERATIONS, { operationName: "Dear" });
    expect(first.body.data.viewer.tenant.plan).toBe("STARTER");
    expect(limitHeaders(first.headers, "RateLimit").remaining).toBe(20 - dear);
    const second = await graphql(server.url, tenant.token, TWO_OPERATIONS, { operationName: "Cheap" });
    expect(limitHeaders(second.headers, "RateLimit").remaining).toBe(20 - dear - cheap);
  });

  test("an operation costing more than the whole budget is refused as too complex, spending nothing", async () => {
    const tenant = await server.createTenant("Too Dear");
    const query = "{ conversations(first: 5) { edges { node { id customerName tags { name } } } } }";
    expect(costOf(query)).toBeGreaterThan(20);
    const reply = await graphql(server.url, tenant.token, query);
    expect(reply.status).toBeLessThan(500);
    expect(reply.body.errors?.[0]?.extensions).toMatchObject({ code: "QUERY_TOO_COMPLEX", cost: costOf(query), limit: 20 });
    expect(limitHeaders((await graphql(server.url, tenant.token, VIEWER)).headers, "RateLimit").remaining).toBe(20 - costOf(VIEWER));
  });

  test("REST routes count against their dialect's limit, not the token's GraphQL budget", async () => {
    const tenant = await server.createTenant("Both");
    const token = await tenant.tokenWith(["leads:read"], "CONVO");
    expect((await restRequest(origin, "GET", "/api/v1/leads", token)).status).toBe(200);
    const reply = await graphql(server.url, token, "{ viewer { scopes } }");
    expect(limitHeaders(reply.headers, "RateLimit").remaining).toBe(20 - costOf("{ viewer { scopes } }"));
  });

  test("over a WebSocket, a subscribe over budget gets an error result; the socket and its other subscriptions go on", async () => {
    const subscription = "subscription { conversationEvents { type message { content } } }";
    const cost = costOf(subscription);
    // Room for exactly one such subscription.
    const instance = await server.startInstance(rateLimits({ ...LIMITS, graphql: { limit: cost } }));
    const seed = await seedTenant(server, "Live");
    const reader = await seed.tenant.tokenWith(["conversations:read"]);
    const closeCodes: number[] = [];
    const client = createClient({
      url: instance.url.replace(/^http/, "ws"),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${reader}` },
      lazy: false,
      retryAttempts: 0,
      onNonLazyError: () => {},
      on: { closed: (event) => void closeCodes.push((event as { code: number }).code) },
    });
    type Result = { data?: Record<string, any> | null; errors?: { message: string; extensions?: Record<string, unknown> }[] };
    const first: Result[] = [];
    const second: { results: Result[]; ended?: unknown } = { results: [] };
    const stopFirst = client.subscribe<Record<string, any>>({ query: subscription }, { next: (r) => void first.push(r as Result), error: () => {}, complete: () => {} });
    await waitUntil(() => instance.app.live.stats().streams === 1, () => "the first subscription to open");
    client.subscribe<Record<string, any>>(
      { query: subscription },
      { next: (r) => void second.results.push(r as Result), error: (error) => void (second.ended = error), complete: () => void (second.ended ??= "complete") },
    );
    await waitUntil(() => second.ended !== undefined, () => `the second subscription to end (${JSON.stringify(second)})`);
    expect(second.results).toEqual([
      { errors: [{ message: expect.stringMatching(/^Rate limit exceeded: \d+ query-complexity points per minute for this token; /), extensions: { code: "RATE_LIMITED", retryAfter: expect.any(Number), limit: cost } }] },
    ]);
    expect(second.ended).toBe("complete");

    const sent = await graphql(instance.url, seed.tenant.token, `mutation { sendOperatorMessage(conversationId: "${seed.id.conversation}", content: "still live") { id } }`);
    expect(sent.body.errors).toBeUndefined();
    await waitUntil(() => first.length === 1, () => "the first subscription's event");
    expect(first[0]).toEqual({ data: { conversationEvents: { type: "MESSAGE_ADDED", message: { content: "still live" } } } });
    expect(closeCodes).toEqual([]);
    stopFirst();
    await client.dispose();
  });
});

describe("callers without a valid token: per IP, before any database work", () => {
  test("REST and GraphQL share the address's count; 429 with Retry-After in the generic, the dialect's or GraphQL's shape; a valid token is not limited by it", async () => {
    const instance = await server.startInstance(rateLimits({ ...LIMITS, anonymous: { limit: 3 } }));
    const at = originOf(instance.url);
    const tenant = await server.createTenant("Anonymous");
    const statementsBefore = server.db.sqlStatementCount();
    const noToken = await restRequest(at, "GET", "/api/v1/leads", null);
    expect(noToken.status).toBe(401);
    expect(limitHeaders(noToken.headers, "X-RateLimit")).toMatchObject({ limit: 3, remaining: 2 });
    const malformed = await restRequest(at, "GET", "/api/v1/leads", "not-a-known-format");
    expect(malformed.status).toBe(401);
    const anonymousGraphql = await graphql(instance.url, null, "{ viewer { scopes } }");
    expect(anonymousGraphql.status).toBe(401);
    expect(limitHeaders(anonymousGraphql.headers, "RateLimit")).toMatchObject({ limit: 3, remaining: 0 });
    const refused = await restRequest(at, "GET", "/api/v1/agents", null);
    expect(refused.status).toBe(429);
    const message = expect.stringMatching(/^Rate limit exceeded: 3 requests per minute from this address without a valid token; retry in \d+ s$/);
    // GET /api/v1/agents is Convo's alone: Convo's shape. POST /api/v1/leads is Convo's and Vorel's: the generic one.
    expect(refused.body).toEqual({ statusCode: 429, error: "Too Many Requests", message });
    const shared = await restRequest(at, "POST", "/api/v1/leads", null, {});
    expect(shared.status).toBe(429);
    expect(shared.body).toEqual({ error: { code: "RATE_LIMITED", message } });
    expect(limitHeaders(refused.headers, "X-RateLimit").retryAfter).toBeGreaterThanOrEqual(1);
    const refusedGraphql = await graphql(instance.url, null, "{ viewer { scopes } }");
    expect(refusedGraphql.status).toBe(429);
    expect(refusedGraphql.body.errors[0].extensions).toEqual({ code: "RATE_LIMITED", retryAfter: expect.any(Number), limit: 3 });
    expect(limitHeaders(refusedGraphql.headers, "RateLimit")).toMatchObject({ limit: 3, remaining: 0, retryAfter: expect.any(Number) });
    // None of those touched the database.
    expect(server.db.sqlStatementCount()).toBe(statementsBefore);
    // A token in a format without REST paths (Agent.sa) that names no token is looked up, then counted too.
    const unknownAgent = await restRequest(at, "GET", "/v1/contacts", `agentsa_${"0".repeat(48)}`);
    expect(unknownAgent.status).toBe(429);
    expect(unknownAgent.body).toMatchObject({ success: false, error: { code: "too_many_requests" } });

    // A well-formed token that is not valid is looked up, then answered in its dialect's shape.
    const unknownConvo = await restRequest(at, "GET", "/api/v1/leads", `convo_${"0".repeat(32)}`);
    expect(unknownConvo.status).toBe(429);
    expect(unknownConvo.body).toMatchObject({ statusCode: 429, error: "Too Many Requests" });
    // A valid token is counted by its own limits only.
    const valid = await restRequest(at, "GET", "/api/v1/leads", await tenant.tokenWith(["leads:read"], "CONVO"));
    expect(valid.status).toBe(200);
    expect((await graphql(instance.url, tenant.token, "{ viewer { scopes } }")).status).toBe(200);
  });

  test("X-Forwarded-For is ignored unless TRUST_PROXY is set; with it, each forwarded address has its own count", async () => {
    const limits = rateLimits({ ...LIMITS, anonymous: { limit: 1 } });
    const call = (url: string, forwardedFor: string) => graphql(url, null, "{ viewer { scopes } }", { headers: { "x-forwarded-for": forwardedFor } });

    const direct = await server.startInstance(limits);
    expect((await call(direct.url, "198.51.100.1")).status).toBe(401);
    expect((await call(direct.url, "198.51.100.2")).status).toBe(429);

    const proxied = await server.startInstance({ ...limits, TRUST_PROXY: "1" });
    expect((await call(proxied.url, "198.51.100.1")).status).toBe(401);
    expect((await call(proxied.url, "198.51.100.2")).status).toBe(401);
    expect((await call(proxied.url, "203.0.113.7, 198.51.100.1")).status).toBe(429);
  });
});

describe("RATE_LIMITS=off", () => {
  test("no limit and no header, REST or GraphQL", async () => {
    const instance = await server.startInstance({ RATE_LIMITS: "off" });
    expect(instance.app.rateLimits.status()).toBe("off");
    const tenant = await server.createTenant("Unlimited");
    const token = await tenant.tokenWith(["conversations:read"], "VELENTS_SUPPORT");
    for (let i = 0; i < 5; i++) {
      const reply = await restRequest(originOf(instance.url), "GET", "/Company/TenantAuth/me", token);
      expect(reply.status).toBe(200);
      expect(reply.headers.has("X-RateLimit-Limit")).toBe(false);
    }
    for (let i = 0; i < 70; i++) {
      const reply = await graphql(instance.url, null, "{ viewer { scopes } }");
      expect(reply.status).toBe(401);
      expect(reply.headers.has("RateLimit-Limit")).toBe(false);
    }
  });
});

// Without REDIS_URL these are skipped: set REDIS_URL=redis://127.0.0.1:6379 to run them (.ci/run does).
describe.skipIf(!REDIS_URL)("with REDIS_URL", () => {
  const redisUrl = REDIS_URL!;

  test("two instances on one Redis share exact counts: exactly the limit passes, whatever instance answers", async () => {
    const env = { REDIS_URL: redisUrl, ...rateLimits({ ...LIMITS, keyPrefix: `${RUN_PREFIX}exact:`, velents: { limit: 5 }, graphql: { limit: 5 * costOf("{ viewer { scopes } }") } }) };
    const instances = [await server.startInstance(env), await server.startInstance(env)];
    await waitUntil(() => instances.every(({ app }) => app.rateLimits.status() === "up"), () => "both instances counting in Redis");
    const tenant = await server.createTenant("Exact");
    const token = await tenant.tokenWith(["conversations:read"], "VELENTS_SUPPORT");

    const rest = await Promise.all(Array.from({ length: 16 }, (_, i) => restRequest(originOf(instances[i % 2]!.url), "GET", "/Company/TenantAuth/me", token)));
    const passed = rest.filter((reply) => reply.status === 200);
    expect(passed).toHaveLength(5);
    expect(rest.filter((reply) => reply.status === 429)).toHaveLength(11);
    expect(passed.map((reply) => Number(reply.headers.get("X-RateLimit-Remaining"))).sort()).toEqual([0, 1, 2, 3, 4]);

    const queries = await Promise.all(Array.from({ length: 12 }, (_, i) => graphql(instances[i % 2]!.url, tenant.token, "{ viewer { scopes } }")));
    expect(queries.filter((reply) => reply.status === 200)).toHaveLength(5);
    expect(queries.filter((reply) => reply.status === 429)).toHaveLength(7);
  });

  test("Redis down: every request is still answered, counted in memory, with one log line; once Redis is back it counts there again", async () => {
    const target = new URL(redisUrl);
    const proxy = new RedisProxy({ host: target.hostname, port: Number(target.port || 6379) });
    await proxy.start();
    const logged = vi.spyOn(console, "error");
    try {
      const instance = await server.startInstance({ REDIS_URL: proxy.url, ...rateLimits({ ...LIMITS, keyPrefix: `${RUN_PREFIX}outage:`, velents: { limit: 3 } }) });
      await waitUntil(() => instance.app.rateLimits.status() === "up", () => "the instance counting in Redis");
      const tenant = await server.createTenant("Outage");
      const token = await tenant.tokenWith(["conversations:read"], "VELENTS_SUPPORT");
      const me = () => restRequest(originOf(instance.url), "GET", "/Company/TenantAuth/me", token);
      expect(limitHeaders((await me()).headers, "X-RateLimit").remaining).toBe(2);

      await proxy.cut();
      await waitUntil(() => instance.app.rateLimits.status() === "down", () => "the instance to see Redis gone");
      // The local count starts afresh: 3 more pass, then 429; nothing fails.
      const during: Reply[] = [];
      for (let i = 0; i < 4; i++) during.push(await me());
      expect(during.map((reply) => reply.status)).toEqual([200, 200, 200, 429]);
      expect(during.map((reply) => limitHeaders(reply.headers, "X-RateLimit").remaining)).toEqual([2, 1, 0, 0]);
      const lines = () => logged.mock.calls.map((args) => String(args[0])).filter((line) => line.startsWith("rate limits:"));
      expect(lines()).toEqual(["rate limits: Redis is unreachable; each instance counts in its own memory until it is back"]);

      await proxy.restore();
      await waitUntil(() => instance.app.rateLimits.status() === "up", () => "the instance counting in Redis again");
      expect(lines()).toEqual(["rate limits: Redis is unreachable; each instance counts in its own memory until it is back", "rate limits: Redis is back; counting there again"]);
      // Redis still holds the one request counted before the outage.
      const after = [await me(), await me(), await me()];
      expect(after.map((reply) => reply.status)).toEqual([200, 200, 429]);
      expect(limitHeaders(after[0]!.headers, "X-RateLimit").remaining).toBe(1);
    } finally {
      logged.mockRestore();
      await proxy.cut();
    }
  });
});
