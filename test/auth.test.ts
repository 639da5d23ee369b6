// Authentication end to end: every way of not holding a valid token gets HTTP 401 and
// UNAUTHENTICATED, for every operation of the schema; every token format authenticates;
// admin-only operations and the token-granting rules.
import { randomUUID } from "node:crypto";
import {
  getNamedType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isScalarType,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLObjectType,
} from "graphql";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { DATA_SCOPES } from "../src/auth/scopes.js";
import { generateToken, TOKEN_FORMATS } from "../src/auth/tokens.js";
import { issueToken } from "../src/auth/viewer.js";
import type { TokenFormat } from "../src/generated/prisma/enums.js";
import { schema } from "../src/graphql/schema.js";
import { expectError, startTestServer, type GraphQLResponse, type TestServer, type TestTenant } from "./harness.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());

const FORMATS: TokenFormat[] = ["VELERIA", "CONVO", "VOREL", "VELENTS_SUPPORT", "VELENTS_AGENT"];

/** The documented shapes (src/auth/tokens.ts), written out so a change to them shows up here. */
function documentedPattern(format: TokenFormat, tenantId: string): RegExp {
  switch (format) {
    case "VELERIA":
      return /^vela_live_sk_[A-Za-z0-9]{40}$/;
    case "CONVO":
      return /^convo_[0-9a-f]{32}$/;
    case "VOREL":
      return /^vapk_live_[0-9a-f]{48}$/;
    case "VELENTS_SUPPORT":
      return new RegExp(`^Velents_${tenantId}_PersonalAccessToken_[A-Za-z0-9]{40}$`);
    case "VELENTS_AGENT":
      return /^agentsa_[0-9a-f]{48}$/;
  }
}

/** POSTs with exactly these headers (the harness only knows Bearer). */
async function post(body: unknown, headers: Record<string, string>): Promise<GraphQLResponse & { wwwAuthenticate: string | null }> {
  const response = await fetch(server.url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json", ...headers },
    body: JSON.stringify(body),
  });
  const json = (await response.json()) as GraphQLResponse;
  return { ...json, status: response.status, wwwAuthenticate: response.headers.get("www-authenticate") };
}

// ---------------------------------------------------------------------------------------
// One valid document per root field, generated from the schema so that a new operation is
// covered without touching this file. Required arguments become variables.
// ---------------------------------------------------------------------------------------

function selectionFor(field: GraphQLField<unknown, unknown>): string {
  const named = getNamedType(field.type);
  return isScalarType(named) || isEnumType(named) ? "" : " { __typename }";
}

function typeString(type: GraphQLInputType): string {
  return String(type);
}

/** A value good enough to pass variable coercion; authentication must refuse before it matters. */
function sampleValue(type: GraphQLInputType): unknown {
  if (isNonNullType(type)) return sampleValue(type.ofType);
  if (isListType(type)) return [sampleValue(type.ofType)];
  if (isEnumType(type)) return type.getValues()[0]!.name;
  if (isInputObjectType(type)) {
    return Object.fromEntries(
      Object.values(type.getFields())
        .filter((f) => isNonNullType(f.type))
        .map((f) => [f.name, sampleValue(f.type)]),
    );
  }
  switch (type.name) {
    case "ID":
      return `con_${randomUUID()}`;
    case "String":
      return "x";
    case "Int":
      return 1;
    case "Boolean":
      return true;
    case "DateTime":
      return "2030-01-01T00:00:00Z";
    case "JSON":
      return {};
    default:
      return null;
  }
}

interface Operation {
  name: string;
  query: string;
  variables: Record<string, unknown>;
}

function operationsOf(kind: "query" | "mutation", type: GraphQLObjectType): Operation[] {
  return Object.values(type.getFields()).map((field) => {
    const required = field.args.filter((arg) => isNonNullType(arg.type));
    const declarations = required.map((arg) => `$${arg.name}: ${typeString(arg.type)}`).join(", ");
    const args = required.map((arg) => `${arg.name}: $${arg.name}`).join(", ");
    const query = `${kind}${declarations ? `(${declarations})` : ""} { ${field.name}${args ? `(${args})` : ""}${selectionFor(field)} }`;
    const variables = Object.fromEntries(required.map((arg) => [arg.name, sampleValue(arg.type)]));
    return { name: `${kind} ${field.name}`, query, variables };
  });
}

const OPERATIONS: Operation[] = [
  ...operationsOf("query", schema.getQueryType()!),
  ...operationsOf("mutation", schema.getMutationType()!),
  { name: "introspection", query: "{ __schema { types { name } } }", variables: {} },
];

function expectUnauthenticated(result: GraphQLResponse, label: string) {
  expect(result.status, label).toBe(401);
  expect(result.errors?.[0]?.extensions?.code, label).toBe("UNAUTHENTICATED");
  expect(result.data ?? null, label).toBeNull();
}

/** Rows of the tenant that a refused request must not have written. */
async function tenantRowCounts(tenantId: string) {
  const p = server.db.prisma;
  const where = { tenantId };
  return {
    contacts: await p.contact.count({ where }),
    leads: await p.lead.count({ where }),
    agents: await p.agent.count({ where }),
    channels: await p.channel.count({ where }),
    conversations: await p.conversation.count({ where }),
    messages: await p.message.count({ where }),
    tags: await p.tag.count({ where }),
    bookings: await p.booking.count({ where }),
    tokens: await p.apiToken.count({ where }),
    revokedTokens: await p.apiToken.count({ where: { ...where, revokedAt: { not: null } } }),
  };
}

describe("requests without a valid token get 401 UNAUTHENTICATED", () => {
  let tenant: TestTenant;
  let revoked: string;
  let expired: string;
  const unknownOfEachFormat: { format: TokenFormat; token: string }[] = [];

  beforeAll(async () => {
    tenant = await server.createTenant("Refused");
    // Revoked through the API, after checking it worked.
    const { token: revokedRow, secret: revokedSecret } = await issueToken(server.db.prisma, {
      tenantId: tenant.id,
      name: "to revoke",
      format: "CONVO",
      scopes: [...DATA_SCOPES],
    });
    expect((await server.gql(`{ viewer { scopes } }`, {}, revokedSecret)).status).toBe(200);
    const revoke = await server.gql(
      `mutation($id: ID!) { revokeApiToken(id: $id) { revokedAt } }`,
      { id: `tok_${revokedRow.id}` },
      tenant.token,
    );
    expect(revoke.errors).toBeUndefined();
    revoked = revokedSecret;
    // Expired: valid first, then expiresAt moved into the past.
    const { token: expiredRow, secret: expiredSecret } = await issueToken(server.db.prisma, {
      tenantId: tenant.id,
      name: "to expire",
      format: "VOREL",
      scopes: [...DATA_SCOPES],
      expiresAt: new Date(Date.now() + 3_600_000),
    });
    expect((await server.gql(`{ viewer { scopes } }`, {}, expiredSecret)).status).toBe(200);
    await server.db.prisma.apiToken.update({ where: { id: expiredRow.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    expired = expiredSecret;
    for (const format of FORMATS) {
      const token = generateToken(format, tenant.id).secret;
      expect(TOKEN_FORMATS[format].pattern.test(token)).toBe(true);
      unknownOfEachFormat.push({ format, token });
    }
  });

  const cases: { name: string; headers: () => Record<string, string> }[] = [
    { name: "no Authorization header", headers: () => ({}) },
    { name: "a Basic scheme", headers: () => ({ authorization: `Basic ${Buffer.from("admin:admin").toString("base64")}` }) },
    { name: "a token without scheme", headers: () => ({ authorization: tenant.token }) },
    { name: "an empty Bearer", headers: () => ({ authorization: "Bearer " }) },
    { name: "a garbage token", headers: () => ({ authorization: "Bearer not-a-token" }) },
    { name: "an over-long token", headers: () => ({ authorization: `Bearer convo_${"a".repeat(300)}` }) },
    { name: "a revoked token", headers: () => ({ authorization: `Bearer ${revoked}` }) },
    { name: "an expired token", headers: () => ({ authorization: `Bearer ${expired}` }) },
    ...FORMATS.map((format) => ({
      name: `a well-formed unknown ${format} token`,
      headers: () => ({ authorization: `Bearer ${unknownOfEachFormat.find((u) => u.format === format)!.token}` }),
    })),
  ];

  test.each(cases)("$name: every operation and introspection", async ({ headers }) => {
    const before = await tenantRowCounts(tenant.id);
    for (const operation of OPERATIONS) {
      const result = await post({ query: operation.query, variables: operation.variables }, headers());
      expectUnauthenticated(result, operation.name);
      expect(result.wwwAuthenticate, operation.name).toBe("Bearer");
    }
    expect(await tenantRowCounts(tenant.id)).toEqual(before);
  });

  test("the generated operations cover the schema and are valid documents", async () => {
    // With a valid token, none of these may fail validation: else the 401s above prove little.
    expect(OPERATIONS.length).toBe(
      Object.keys(schema.getQueryType()!.getFields()).length + Object.keys(schema.getMutationType()!.getFields()).length + 1,
    );
    for (const operation of OPERATIONS.filter((o) => o.name.startsWith("query"))) {
      const result = await server.gql(operation.query, operation.variables, tenant.token);
      expect(result.status, operation.name).toBe(200);
      expect(result.errors?.filter((e) => e.extensions?.code === "GRAPHQL_VALIDATION_FAILED") ?? [], operation.name).toEqual([]);
    }
  });

  test("introspection with a valid token works (so the 401 without one is auth, not a disabled feature)", async () => {
    const result = await server.gql(`{ __schema { types { name } } }`, {}, tenant.token);
    expect(result.status).toBe(200);
    expect(result.errors).toBeUndefined();
    expect(result.data?.__schema.types.map((t: { name: string }) => t.name)).toContain("Contact");
  });

  test("a query that fails validation is refused with 401 too, without suggesting field names", async () => {
    const result = await post({ query: "{ contactz { id } }" }, {});
    expect(result.status).toBe(401);
    expect(result.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    expect(JSON.stringify(result)).not.toContain("contacts");
  });

  test("a GET request without a token is refused with 401", async () => {
    const response = await fetch(`${server.url}?query=${encodeURIComponent("{ viewer { scopes } }")}`, {
      headers: { accept: "application/json" },
    });
    const body = (await response.json()) as GraphQLResponse;
    expect(response.status).toBe(401);
    expect(body.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
  });
});

describe("tokens", () => {
  test.each(FORMATS)("a %s token issued over the API has the documented shape and authenticates", async (format) => {
    const tenant = await server.createTenant("Formats");
    let agentId: string | undefined;
    if (format === "VELENTS_AGENT") {
      const agent = await server.gql(`mutation { createAgent(input: { name: "Dispatcher" }) { id } }`, {}, tenant.token);
      expect(agent.errors).toBeUndefined();
      agentId = agent.data!.createAgent.id;
    }
    const created = await server.gql(
      `mutation($input: CreateApiTokenInput!) {
        createApiToken(input: $input) { secret token { id format displayPrefix scopes revokedAt lastUsedAt agent { id } } }
      }`,
      { input: { name: `${format} key`, format, scopes: ["CONTACTS_READ", "LEADS_WRITE"], agentId } },
      tenant.token,
    );
    expect(created.errors).toBeUndefined();
    const { secret, token } = created.data!.createApiToken;
    expect(secret).toMatch(documentedPattern(format, tenant.id));
    expect(secret).toMatch(TOKEN_FORMATS[format].pattern);
    expect(token.format).toBe(format);
    expect(token.scopes).toEqual(["CONTACTS_READ", "LEADS_WRITE"]);
    expect(token.revokedAt).toBeNull();
    expect(token.lastUsedAt).toBeNull();
    expect(token.agent).toEqual(agentId ? { id: agentId } : null);
    // The prefix recognises the token without giving it away.
    const prefix = token.displayPrefix.replace(/…$/, "");
    expect(prefix.length).toBeGreaterThan(4);
    expect(secret.startsWith(prefix)).toBe(true);
    expect(secret.length - prefix.length).toBeGreaterThanOrEqual(28);
    // Only the hash is stored.
    const row = await server.db.prisma.apiToken.findUniqueOrThrow({ where: { id: token.id.replace(/^tok_/, "") } });
    expect(JSON.stringify(row)).not.toContain(secret);

    const viewer = await server.gql(`{ viewer { scopes tenant { id } token { id format } } }`, {}, secret);
    expect(viewer.status).toBe(200);
    expect(viewer.errors).toBeUndefined();
    expect(viewer.data?.viewer).toEqual({
      scopes: ["CONTACTS_READ", "LEADS_WRITE"],
      tenant: { id: `ten_${tenant.id}` },
      token: { id: token.id, format },
    });
  });

  test("a VELENTS_AGENT token needs an agent of the caller's tenant", async () => {
    const tenant = await server.createTenant("Agentless");
    const before = await server.db.prisma.apiToken.count({ where: { tenantId: tenant.id } });
    const result = await server.gql(
      `mutation { createApiToken(input: { name: "x", format: VELENTS_AGENT, scopes: [CONVERSATIONS_READ] }) { secret } }`,
      {},
      tenant.token,
    );
    expect(result.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect(result.errors?.[0]?.extensions?.field).toBe("input.agentId");
    expect(await server.db.prisma.apiToken.count({ where: { tenantId: tenant.id } })).toBe(before);
  });

  test("lastUsedAt is set on first use, and not rewritten within the minute", async () => {
    const tenant = await server.createTenant("Usage");
    const { token, secret } = await issueToken(server.db.prisma, {
      tenantId: tenant.id,
      name: "fresh",
      format: "VELERIA",
      scopes: ["contacts:read"],
    });
    expect(token.lastUsedAt).toBeNull();
    const before = Date.now();
    const first = await server.gql(`{ viewer { token { lastUsedAt } } }`, {}, secret);
    const after = Date.now();
    expect(first.errors).toBeUndefined();
    const stored = await server.db.prisma.apiToken.findUniqueOrThrow({ where: { id: token.id } });
    expect(stored.lastUsedAt).not.toBeNull();
    expect(stored.lastUsedAt!.getTime()).toBeGreaterThanOrEqual(before - 5);
    expect(stored.lastUsedAt!.getTime()).toBeLessThanOrEqual(after + 5);
    expect(first.data?.viewer.token.lastUsedAt).toBe(stored.lastUsedAt!.toISOString());

    const second = await server.gql(`{ viewer { token { lastUsedAt } } }`, {}, secret);
    expect(second.data?.viewer.token.lastUsedAt).toBe(stored.lastUsedAt!.toISOString());
    const again = await server.db.prisma.apiToken.findUniqueOrThrow({ where: { id: token.id } });
    expect(again.lastUsedAt).toEqual(stored.lastUsedAt);
  });

  test("createApiToken cannot grant a scope the caller lacks", async () => {
    const tenant = await server.createTenant("Grants");
    const caller = await tenant.tokenWith(["admin", "contacts:read"]);
    const before = await server.db.prisma.apiToken.count({ where: { tenantId: tenant.id } });
    const beyond = await server.gql(
      `mutation { createApiToken(input: { name: "more", format: CONVO, scopes: [CONTACTS_READ, LEADS_READ] }) { secret } }`,
      {},
      caller,
    );
    expect(beyond.status).toBe(200);
    expect(beyond.data ?? null).toBeNull();
    expect(beyond.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect(beyond.errors?.[0]?.extensions?.scope).toBe("leads:read");
    expect(beyond.errors?.[0]?.message).toContain("leads:read");
    expect(await server.db.prisma.apiToken.count({ where: { tenantId: tenant.id } })).toBe(before);

    // Within the caller's scopes it works.
    const within = await server.gql(
      `mutation { createApiToken(input: { name: "same", format: CONVO, scopes: [CONTACTS_READ] }) { secret token { scopes } } }`,
      {},
      caller,
    );
    expect(within.errors).toBeUndefined();
    expect(within.data?.createApiToken.token.scopes).toEqual(["CONTACTS_READ"]);
    expect(await server.db.prisma.apiToken.count({ where: { tenantId: tenant.id } })).toBe(before + 1);
  });

  test("createApiToken takes the platform's own scope names, translated to canonical ones", async () => {
    const tenant = await server.createTenant("Dialect scopes");
    const create = (input: Record<string, unknown>) =>
      server.gql(`mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { token { scopes } } }`, { input: { name: "x", ...input } }, tenant.token);
    const vorel = await create({ format: "VOREL", dialectScopes: ["read", "leads:write"] });
    expect(vorel.errors).toBeUndefined();
    expect(vorel.data!.createApiToken.token.scopes).toEqual(expect.arrayContaining(["CONVERSATIONS_READ", "LEADS_READ", "LEADS_WRITE"]));
    const mixed = await create({ format: "VELENTS_SUPPORT", scopes: ["AGENTS_READ"], dialectScopes: ["Tickets-Show", "Tickets-History"] });
    expect(mixed.data!.createApiToken.token.scopes.sort()).toEqual(["AGENTS_READ", "CONVERSATIONS_READ", "TICKETS_READ"]);
    const before = await server.db.prisma.apiToken.count({ where: { tenantId: tenant.id } });
    const unknown = await create({ format: "VOREL", dialectScopes: ["Tickets-Show"] });
    expectError(unknown, "BAD_USER_INPUT", { field: "input.dialectScopes" });
    expect(unknown.errors![0]!.message).toMatch(/Unknown scope "Tickets-Show" for VOREL tokens/);
    expectError(await create({ format: "VOREL", dialectScopes: [] }), "BAD_USER_INPUT", { field: "input.scopes" });
    expectError(await create({ format: "VOREL", dialectScopes: [""] }), "BAD_USER_INPUT", { field: "input.dialectScopes.0" });
    expect(await server.db.prisma.apiToken.count({ where: { tenantId: tenant.id } })).toBe(before);
  });

  test("revokeApiToken takes effect at once, and revoking twice keeps the first time", async () => {
    const tenant = await server.createTenant("Revocation");
    const { token, secret } = await issueToken(server.db.prisma, { tenantId: tenant.id, name: "victim", format: "VELERIA", scopes: ["leads:read"] });
    expect((await server.gql(`{ leads { totalCount } }`, {}, secret)).status).toBe(200);
    const revoke = `mutation($id: ID!) { revokeApiToken(id: $id) { id revokedAt } }`;
    const first = await server.gql(revoke, { id: `tok_${token.id}` }, tenant.token);
    expect(first.errors).toBeUndefined();
    expect(first.data?.revokeApiToken.revokedAt).toEqual(expect.any(String));
    expectUnauthenticated(await server.gql(`{ leads { totalCount } }`, {}, secret), "after revocation");
    const second = await server.gql(revoke, { id: `tok_${token.id}` }, tenant.token);
    expect(second.errors).toBeUndefined();
    expect(second.data?.revokeApiToken.revokedAt).toBe(first.data?.revokeApiToken.revokedAt);
  });

  describe("a token without admin", () => {
    let tenant: TestTenant;
    let dataToken: string;
    let otherTokenId: string;
    let ownTokenId: string;

    beforeAll(async () => {
      tenant = await server.createTenant("NoAdmin");
      const own = await issueToken(server.db.prisma, {
        tenantId: tenant.id,
        name: "data only",
        format: "CONVO",
        scopes: [...DATA_SCOPES],
      });
      dataToken = own.secret;
      ownTokenId = `tok_${own.token.id}`;
      const other = await issueToken(server.db.prisma, { tenantId: tenant.id, name: "other", format: "VOREL", scopes: ["leads:read"] });
      otherTokenId = `tok_${other.token.id}`;
    });

    function expectAdminForbidden(result: GraphQLResponse) {
      expect(result.status).toBe(200);
      expect(result.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
      expect(result.errors?.[0]?.extensions?.scope).toBe("admin");
      expect(result.errors?.[0]?.message).toContain("admin");
    }

    test("cannot createApiToken", async () => {
      const before = await server.db.prisma.apiToken.count({ where: { tenantId: tenant.id } });
      const result = await server.gql(
        `mutation { createApiToken(input: { name: "x", format: CONVO, scopes: [CONTACTS_READ] }) { secret } }`,
        {},
        dataToken,
      );
      expectAdminForbidden(result);
      expect(result.data ?? null).toBeNull();
      expect(await server.db.prisma.apiToken.count({ where: { tenantId: tenant.id } })).toBe(before);
    });

    test("cannot revokeApiToken (another token or itself)", async () => {
      for (const id of [otherTokenId, ownTokenId]) {
        const result = await server.gql(`mutation($id: ID!) { revokeApiToken(id: $id) { id revokedAt } }`, { id }, dataToken);
        expectAdminForbidden(result);
        expect(result.data ?? null).toBeNull();
      }
      expect(await server.db.prisma.apiToken.count({ where: { tenantId: tenant.id, revokedAt: { not: null } } })).toBe(0);
    });

    test("cannot list apiTokens", async () => {
      const result = await server.gql(`{ apiTokens { totalCount edges { node { id name } } } }`, {}, dataToken);
      expectAdminForbidden(result);
      expect(result.data ?? null).toBeNull();
    });

    test("reads itself through viewer.token", async () => {
      const result = await server.gql(`{ viewer { token { id name format scopes } } }`, {}, dataToken);
      expect(result.errors).toBeUndefined();
      expect(result.data?.viewer.token).toMatchObject({ id: ownTokenId, name: "data only", format: "CONVO" });
    });

    test("cannot read another token through node(id); an admin can", async () => {
      const query = `query($id: ID!) { node(id: $id) { id ... on ApiToken { name scopes } } }`;
      const refused = await server.gql(query, { id: otherTokenId }, dataToken);
      expectAdminForbidden(refused);
      expect(JSON.stringify(refused.data ?? null)).not.toContain("other");
      expect(JSON.stringify(refused.data ?? null)).not.toContain("LEADS_READ");

      const admin = await server.gql(query, { id: otherTokenId }, tenant.token);
      expect(admin.errors).toBeUndefined();
      expect(admin.data?.node).toEqual({ id: otherTokenId, name: "other", scopes: ["LEADS_READ"] });
    });

    test("reads itself through node(id) too", async () => {
      const result = await server.gql(`query($id: ID!) { node(id: $id) { id ... on ApiToken { name } } }`, { id: ownTokenId }, dataToken);
      expect(result.errors).toBeUndefined();
      expect(result.data?.node).toEqual({ id: ownTokenId, name: "data only" });
    });
  });
});
