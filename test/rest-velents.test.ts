// The Velents Support Center REST dialect (src/rest/dialects/velents.ts): GET
// /Company/TenantAuth/me on a real server, Laravel error bodies, the list envelope helper,
// and every success checked against the served OpenAPI document.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { DATA_SCOPES, dialectScopeName, toCanonicalScopes } from "../src/auth/scopes.js";
import { abilitiesOf, paginated, paginatedSchema, velents } from "../src/rest/dialects/velents.js";
import { z } from "zod";
import type { TestServer } from "./harness.js";
import { restRequest, startRestTestServer, type OpenApiDocument, type OpenApiOracle, type Reply } from "./openapi-oracle.js";

let server: TestServer;
let origin: string;
let oracle: OpenApiOracle;
let openApi: OpenApiDocument;

beforeAll(async () => {
  ({ server, origin, oracle } = await startRestTestServer(["velents"]));
  openApi = oracle.documents.get("velents")!;
});
afterAll(() => server?.close());

const call = (method: string, path: string, token: string | null, body?: unknown) => restRequest(origin, method, path, token, body);

/** Checks a reply against the served OpenAPI document: its route's success schema, or the Error schema. */
const expectDocumented = (method: string, path: string, reply: Reply) => oracle.expectDocumented("velents", method, path, reply.status, reply.body);

const ME = "/Company/TenantAuth/me";

describe("OpenAPI document", () => {
  test("serves /Company/TenantAuth/me at the root", () => {
    expect(openApi.openapi).toBe("3.1.0");
    expect(openApi.servers).toEqual([{ url: "/" }]);
    expect(Object.keys(openApi.paths)).toEqual([
      ME,
      "/Company/Support/Tickets",
      "/Company/Support/Tickets/{public_id}",
      "/Company/Conversation/{Conversation}/Send",
      "/Company/Conversation/{Conversation}/history",
    ]);
    expect(openApi.paths[ME]!.get.security).toEqual([{ bearerAuth: [] }]);
    expect(openApi.components.schemas.Error.required).toEqual(["message"]);
  });
});

describe("GET /Company/TenantAuth/me", () => {
  test("confirms the token: the tenant id inside the token, the tenant, the token's abilities", async () => {
    const tenant = await server.createTenant("Acme Support");
    const token = await tenant.tokenWith(
      toCanonicalScopes("VELENTS_SUPPORT", ["Tickets-Show", "Tickets-History", "Tickets-Create", "Tickets-Send"]),
      "VELENTS_SUPPORT",
    );
    const reply = await call("GET", ME, token);
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    expectDocumented("GET", ME, reply);
    const tokenRow = await server.db.prisma.apiToken.findFirstOrThrow({ where: { tenantId: tenant.id, format: "VELENTS_SUPPORT" } });
    expect(reply.body).toEqual({
      data: {
        tenant_id: tenant.id,
        tenant: { id: tenant.id, name: "Acme Support", slug: tenant.slug, plan: "starter" },
        token: {
          id: tokenRow.id,
          name: "test",
          abilities: ["Tickets-Show", "Tickets-History", "Tickets-Create", "Tickets-Send"],
          expires_at: null,
          last_used_at: expect.any(String),
        },
      },
    });
    // AppName_<tenantId>_PersonalAccessToken_<secret>
    expect(token.split("_")[1]).toBe(reply.body.data.tenant_id);
  });

  test("canonical scopes no ability covers are listed as they are", async () => {
    const tenant = await server.createTenant("Canonical");
    const token = await tenant.tokenWith(["conversations:read", "contacts:read", "leads:read"], "VELENTS_SUPPORT");
    const reply = await call("GET", ME, token);
    expect(reply.status).toBe(200);
    expectDocumented("GET", ME, reply);
    expect(reply.body.data.token.abilities).toEqual(["Tickets-History", "contacts:read", "leads:read"]);

    const narrow = await call("GET", ME, await tenant.tokenWith(["contacts:write"], "VELENTS_SUPPORT"));
    expect(narrow.body.data.token.abilities).toEqual(["contacts:write"]);
  });

  test("each tenant sees only itself", async () => {
    const [a, b] = [await server.createTenant("A"), await server.createTenant("B")];
    const [replyA, replyB] = await Promise.all(
      [a, b].map(async (tenant) => call("GET", ME, await tenant.tokenWith(["conversations:read"], "VELENTS_SUPPORT"))),
    );
    expect(replyA!.body.data.tenant_id).toBe(a.id);
    expect(replyB!.body.data.tenant_id).toBe(b.id);
  });
});

describe("Laravel error bodies", () => {
  test("401 without a token: Laravel's body", async () => {
    const reply = await call("GET", ME, null);
    expect(reply.status).toBe(401);
    expect(reply.body).toEqual({ message: "Unauthenticated." });
  });

  test("401 for an unknown Velents token: { message: \"Unauthenticated.\" }", async () => {
    const tenant = await server.createTenant("Unknown token");
    const forged = `Velents_${tenant.id}_PersonalAccessToken_${randomBytes(30).toString("base64url").replace(/[-_]/g, "a").slice(0, 40)}`;
    const reply = await call("GET", ME, forged);
    expect(reply.status).toBe(401);
    expect(reply.headers.get("www-authenticate")).toBe("Bearer");
    expectDocumented("GET", ME, reply);
    expect(reply.body).toEqual({ message: "Unauthenticated." });
  });

  test("a revoked token is unauthenticated too", async () => {
    const tenant = await server.createTenant("Revoked");
    const token = await tenant.tokenWith(["conversations:read"], "VELENTS_SUPPORT");
    await server.db.prisma.apiToken.updateMany({ where: { tenantId: tenant.id, format: "VELENTS_SUPPORT" }, data: { revokedAt: new Date() } });
    const reply = await call("GET", ME, token);
    expect(reply.status).toBe(401);
    expect(reply.body).toEqual({ message: "Unauthenticated." });
  });

  test("404 for an unknown path: { message }", async () => {
    const token = await (await server.createTenant("Paths")).tokenWith(["conversations:read"], "VELENTS_SUPPORT");
    for (const path of ["/Company/Nothing", "/Company/TenantAuth/me/extra", "/api/v1/conversations", "/v1/leads"]) {
      const reply = await call("GET", path, token);
      expect(reply.status, path).toBe(404);
      expect(Object.keys(reply.body), path).toEqual(["message"]);
      expect(typeof reply.body.message).toBe("string");
    }
  });

  test("405 for another method on a known path: { message } and Allow", async () => {
    const token = await (await server.createTenant("Methods")).tokenWith(["conversations:read"], "VELENTS_SUPPORT");
    const reply = await call("POST", ME, token, {});
    expect(reply.status).toBe(405);
    expect(reply.headers.get("allow")).toBe("GET");
    expect(Object.keys(reply.body)).toEqual(["message"]);
  });

  test("403 names the ability; 422 is Laravel's validation shape; 5xx hides the cause", () => {
    expect(dialectScopeName("VELENTS_SUPPORT", "tickets:write")).toBe("Tickets-Create");
    expect(dialectScopeName("VELENTS_SUPPORT", "contacts:write")).toBe("contacts:write");
    expect(velents.error({ status: 403, code: "FORBIDDEN", message: "This token lacks the Tickets-Create scope", scope: "Tickets-Create" })).toEqual({
      message: "This token lacks the Tickets-Create ability.",
      ability: "Tickets-Create",
    });
    // Laravel's words: "The subject field is required.", the attribute's underscores as spaces.
    expect(
      velents.error({
        status: 422,
        code: "BAD_USER_INPUT",
        message: "subject: is required",
        fields: { subject: ["is required"], customer_email: ["must be a valid email address"], tags: ["must not be empty"] },
      }),
    ).toEqual({
      message: "The given data was invalid.",
      errors: {
        subject: ["The subject field is required."],
        customer_email: ["The customer email field must be a valid email address."],
        tags: ["The tags field is required."],
      },
    });
    expect(velents.error({ status: 400, code: "MALFORMED_BODY", message: "The request body is not valid JSON" })).toEqual({
      message: "The request body is not valid JSON",
    });
    expect(velents.error({ status: 500, code: "INTERNAL_SERVER_ERROR", message: "boom" })).toEqual({ message: "Server Error" });
    for (const body of [velents.error({ status: 403, code: "FORBIDDEN", message: "m", scope: "tickets:read" }), velents.error({ status: 422, code: "BAD_USER_INPUT", message: "m", fields: { a: ["b"] } })]) {
      expect(velents.errorSchema.safeParse(body).success).toBe(true);
    }
  });

  test("a Velents Agent.sa token is not a Support Center token: the Support paths are unknown to it (404)", async () => {
    const tenant = await server.createTenant("Agent");
    const token = await tenant.tokenWith(["conversations:read"], "VELENTS_AGENT");
    const reply = await call("GET", ME, token);
    expect(reply.status).toBe(404);
    expect(Object.keys(reply.body)).toEqual(["message"]);
  });
});

describe("abilities", () => {
  test("Velents abilities held in full, then uncovered canonical scopes", () => {
    expect(abilitiesOf([])).toEqual([]);
    expect(abilitiesOf(["conversations:write"])).toEqual(["Tickets-Send"]);
    expect(abilitiesOf(["contacts:write", "tickets:write"])).toEqual(["Tickets-Create", "contacts:write"]);
    expect(abilitiesOf([...DATA_SCOPES, "admin"])).toEqual([
      "Tickets-Show",
      "Tickets-History",
      "Tickets-Create",
      "Tickets-Send",
      ...DATA_SCOPES.filter((scope) => !/^(conversations|tickets):/.test(scope)),
      "admin",
    ]);
  });
});

describe("paginated (the list envelope)", () => {
  const schema = paginatedSchema(z.object({ id: z.number() }));
  const items = (from: number, count: number) => Array.from({ length: count }, (_, index) => ({ id: from + index }));
  const path = "/Company/Support/Tickets";

  test("a first page of several", () => {
    const body = paginated(items(1, 15), { page: 1, perPage: 15, total: 40, path });
    expect(body).toEqual({
      data: items(1, 15),
      meta: { current_page: 1, per_page: 15, total: 40, last_page: 3, from: 1, to: 15 },
      links: { first: `${path}?page=1`, last: `${path}?page=3`, prev: null, next: `${path}?page=2` },
    });
    expect(schema.safeParse(body).success).toBe(true);
  });

  test("a middle page keeps the other query parameters", () => {
    const query = new URLSearchParams({ status: "open", page: "2", per_page: "15" });
    const body = paginated(items(16, 15), { page: 2, perPage: 15, total: 40, path, query });
    expect(body.meta).toEqual({ current_page: 2, per_page: 15, total: 40, last_page: 3, from: 16, to: 30 });
    expect(body.links).toEqual({
      first: `${path}?status=open&page=1&per_page=15`,
      last: `${path}?status=open&page=3&per_page=15`,
      prev: `${path}?status=open&page=1&per_page=15`,
      next: `${path}?status=open&page=3&per_page=15`,
    });
    expect(query.get("page")).toBe("2");
  });

  test("the last, partial page", () => {
    const body = paginated(items(31, 10), { page: 3, perPage: 15, total: 40, path });
    expect(body.meta).toMatchObject({ from: 31, to: 40, last_page: 3 });
    expect(body.links).toMatchObject({ prev: `${path}?page=2`, next: null });
  });

  test("no rows at all, and a page past the end", () => {
    const empty = paginated([], { page: 1, perPage: 15, total: 0, path });
    expect(empty).toEqual({
      data: [],
      meta: { current_page: 1, per_page: 15, total: 0, last_page: 1, from: null, to: null },
      links: { first: `${path}?page=1`, last: `${path}?page=1`, prev: null, next: null },
    });
    expect(schema.safeParse(empty).success).toBe(true);
    const beyond = paginated([], { page: 9, perPage: 15, total: 40, path });
    expect(beyond.meta).toMatchObject({ current_page: 9, last_page: 3, from: null, to: null });
    expect(beyond.links).toMatchObject({ prev: `${path}?page=8`, next: null });
  });

  test("its schema documents the envelope in OpenAPI", () => {
    const json = z.toJSONSchema(schema, { io: "output" }) as any;
    expect(json.required).toEqual(["data", "meta", "links"]);
    const validate = oracle.ajv.compile({ ...json, $schema: undefined });
    expect(validate(paginated(items(1, 2), { page: 1, perPage: 2, total: 2, path }))).toBe(true);
  });
});
