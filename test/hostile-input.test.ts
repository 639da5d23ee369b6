// Hostile input, as an attacker or a careless client sends it: every refusal is a typed error
// with a JSON body, never a 5xx or a masked internal error, never a log line, and nothing is
// written. (How long a refusal holds the event loop is measured in bench/, not asserted here.)
import { getIntrospectionQuery } from "graphql";
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from "vitest";
import { seedTenant, snapshot, type Seed } from "./fixtures.js";
import { startTestServer, type TestServer } from "./harness.js";

let server: TestServer;
let seed: Seed;
const logged = vi.spyOn(console, "error");
beforeAll(async () => {
  server = await startTestServer();
  seed = await seedTenant(server, "Hostile");
});
afterAll(() => server?.close());
afterEach(() => {
  // A refusal is the caller's mistake: nothing about it belongs in the error log.
  expect(logged.mock.calls).toEqual([]);
  logged.mockClear();
});

interface Answer {
  status: number;
  type: string | null;
  body: Record<string, any>;
}

async function send(url: string, init: RequestInit = {}): Promise<Answer> {
  const response = await fetch(url, init);
  const text = await response.text();
  // Every answer here must be JSON, whatever the status.
  expect(response.headers.get("content-type"), text).toMatch(/^application\/(graphql-response\+)?json/);
  return { status: response.status, type: response.headers.get("content-type"), body: JSON.parse(text) };
}

const post = (body: string, headers: Record<string, string> = {}, token: string | null = seed.tenant.token) =>
  send(server.url, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    body,
  });

function expectCode(answer: Answer, code: string, status?: number) {
  expect(answer.status).toBeLessThan(500);
  if (status !== undefined) expect(answer.status).toBe(status);
  expect(answer.body.errors?.[0]?.extensions?.code, JSON.stringify(answer.body)).toBe(code);
}

const CREATE_CONTACT = `mutation($input: ContactInput!) { createContact(input: $input) { id } }`;

describe("strings PostgreSQL cannot store", () => {
  test.each([
    ["a NUL in a string variable", { firstName: "Ada\u0000" }, "input.firstName"],
    ["a NUL in a JSON field", { firstName: "Ada", customFields: { note: "x\u0000y" } }, "input.customFields.note"],
    ["a NUL in a JSON key", { firstName: "Ada", customFields: { "a\u0000": 1 } }, "input.customFields.a\u0000"],
    ["a lone surrogate in a JSON field", { firstName: "Ada", customFields: { note: "\ud800" } }, "input.customFields.note"],
    ["a lone low surrogate in a string", { firstName: "\udc00Ada" }, "input.firstName"],
  ])("%s: BAD_USER_INPUT naming the field, and nothing written", async (_name, input, field) => {
    const before = await snapshot(server, seed.tenant.id);
    const answer = await post(JSON.stringify({ query: CREATE_CONTACT, variables: { input } }));
    expectCode(answer, "BAD_USER_INPUT");
    expect(answer.body.errors[0].extensions.field).toBe(field);
    expect(await snapshot(server, seed.tenant.id)).toEqual(before);
  });

  test("named by the argument the variable went to, not by the variable", async () => {
    const query = `mutation($c: ContactInput!) { createContact(input: $c) { id } }`;
    const answer = await post(JSON.stringify({ query, variables: { c: { firstName: "A\u0000" } } }));
    expectCode(answer, "BAD_USER_INPUT");
    expect(answer.body.errors[0].extensions.field).toBe("input.firstName");
    const nested = `mutation($name: String!) { createContact(input: { firstName: $name }) { id } }`;
    expect((await post(JSON.stringify({ query: nested, variables: { name: "A\u0000" } }))).body.errors[0].extensions.field).toBe("input.firstName");
  });

  test("a NUL in a search literal: BAD_USER_INPUT naming the argument", async () => {
    const answer = await post(JSON.stringify({ query: `{ contacts(search: "a\\u0000b") { totalCount } }` }));
    expectCode(answer, "BAD_USER_INPUT");
    expect(answer.body.errors[0].extensions.field).toBe("search");
  });

  test("a pair of surrogates (an emoji) is fine", async () => {
    const answer = await post(JSON.stringify({ query: CREATE_CONTACT, variables: { input: { firstName: "Ada 🙂", customFields: { mood: "🙂" } } } }));
    expect(answer.body.errors).toBeUndefined();
  });

  test("REST: a NUL in a query parameter is the dialect's 422 naming it", async () => {
    const answer = await send(`${server.url.replace("/graphql", "")}/api/v1/leads?status=%00`, { headers: { authorization: `Bearer ${seed.tenant.token}` } });
    expect(answer.status).toBe(422);
    expect(answer.body.errors).toEqual({ status: [expect.stringContaining("NUL")] });
  });
});

describe("nesting", () => {
  const deep = (levels: number) => `${"[".repeat(levels)}${"]".repeat(levels)}`;

  test("variables nested 10,000 deep: 400 before parsing", async () => {
    expectCode(await post(`{"query":"{ viewer { scopes } }","variables":{"a":${deep(10_000)}}}`), "BAD_REQUEST", 400);
  });

  test("a body of nested arrays just under the size limit, without a token: 400", async () => {
    expectCode(await post(deep(490_000), {}, null), "BAD_REQUEST", 400);
  });

  test("a JSON field 40 deep: BAD_USER_INPUT, nothing written", async () => {
    let value: unknown = 1;
    for (let i = 0; i < 40; i += 1) value = { v: value };
    const before = await snapshot(server, seed.tenant.id);
    // The body as a whole nests deeper than 32 too, so the scan answers first.
    expectCode(await post(JSON.stringify({ query: CREATE_CONTACT, variables: { input: { firstName: "A", customFields: value } } })), "BAD_REQUEST", 400);
    expect(await snapshot(server, seed.tenant.id)).toEqual(before);
  });

  test("a JSON literal 40 deep in the document: BAD_USER_INPUT", async () => {
    const literal = `${"{v: ".repeat(40)}1${"}".repeat(40)}`;
    expectCode(await post(JSON.stringify({ query: `mutation { createContact(input: { firstName: "A", customFields: ${literal} }) { id } }` })), "BAD_USER_INPUT");
  });

  test("a list literal 5,000 deep: a parse error, not a stack overflow", async () => {
    const query = JSON.stringify({ query: `{ contacts(search: ${deep(5_000)}) { totalCount } }` });
    // As every parse error: 400 under the GraphQL-over-HTTP media type, 200 under legacy application/json.
    expectCode(await post(query, { accept: "application/graphql-response+json" }), "GRAPHQL_PARSE_FAILED", 400);
    expectCode(await post(query), "GRAPHQL_PARSE_FAILED", 200);
  });

  test("a chain of 5,000 fragments: refused at parse time", async () => {
    const fragments = Array.from({ length: 5_000 }, (_, i) => `fragment F${i} on Viewer { ...F${i + 1} }`).join(" ");
    const query = `query { viewer { ...F0 } } ${fragments} fragment F5000 on Viewer { scopes }`;
    expectCode(await post(JSON.stringify({ query })), "GRAPHQL_PARSE_FAILED");
  });
});

describe("abusive documents", () => {
  test("10,000 aliases of __typename: refused at the token limit", async () => {
    const query = `{ ${Array.from({ length: 10_000 }, (_, i) => `a${i}: __typename`).join(" ")} }`;
    expectCode(await post(JSON.stringify({ query })), "GRAPHQL_PARSE_FAILED");
  });

  test("100 aliased __schema introspections: refused by the alias limit", async () => {
    const query = `{ ${Array.from({ length: 100 }, (_, i) => `s${i}: __schema { queryType { name } }`).join(" ")} }`;
    const answer = await post(JSON.stringify({ query }));
    expectCode(answer, "GRAPHQL_VALIDATION_FAILED");
    expect(answer.body.data ?? null).toBeNull();
    expect(answer.body.errors[0].message).toMatch(/Aliases limit of 30 exceeded/);
  });

  test("two aliased __schema introspections: refused, one introspection per request", async () => {
    const answer = await post(JSON.stringify({ query: "{ a: __schema { queryType { name } } b: __schema { queryType { name } } }" }));
    expectCode(answer, "GRAPHQL_VALIDATION_FAILED");
    expect(answer.body.errors[0].message).toMatch(/__schema may appear only once/);
  });

  test("50 directives: refused by the directive limit", async () => {
    const query = `{ viewer { scopes ${"@include(if: true) ".repeat(50)} } }`;
    const answer = await post(JSON.stringify({ query }));
    expectCode(answer, "GRAPHQL_VALIDATION_FAILED");
    expect(answer.body.data ?? null).toBeNull();
    expect(answer.body.errors[0].message).toMatch(/Directives limit of 20 exceeded/);
  });

  test("GraphiQL's introspection query still fits within every limit", async () => {
    const answer = await post(JSON.stringify({ query: getIntrospectionQuery() }));
    expect(answer.body.errors).toBeUndefined();
    expect(answer.body.data.__schema.queryType.name).toBe("Query");
  });
});

describe("malformed requests get a typed JSON body", () => {
  const get = (query: string) => send(`${server.url}?${query}`);

  test.each([
    ["variables=notjson", "variables=notjson"],
    ["extensions=notjson", "extensions=notjson"],
    ["variables nested 100 deep", `variables=${encodeURIComponent(`{"a":${"[".repeat(100)}${"]".repeat(100)}}`)}`],
  ])("GET with %s and no token: 400, logged nowhere", async (_name, param) => {
    expectCode(await get(`query=${encodeURIComponent("{ viewer { scopes } }")}&${param}`), "BAD_REQUEST", 400);
  });

  test("Content-Type in capitals is still JSON", async () => {
    const answer = await post(JSON.stringify({ query: "{ viewer { scopes } }" }), { "content-type": "APPLICATION/JSON" });
    expect(answer.status).toBe(200);
    expect(answer.body.data.viewer.scopes).toContain("ADMIN");
  });

  test("Content-Type application/graphql-response+json (a response type): 415 with a body", async () => {
    expectCode(await post(JSON.stringify({ query: "{ viewer { scopes } }" }), { "content-type": "application/graphql-response+json" }), "UNSUPPORTED_MEDIA_TYPE", 415);
  });

  test.each(["text/html", "application/xml", "application/json;q=0"])("Accept: %s: 406 with a JSON body, before a mutation runs", async (accept) => {
    expectCode(await post(JSON.stringify({ query: "{ viewer { scopes } }" }), { accept }), "NOT_ACCEPTABLE", 406);
    const before = await snapshot(server, seed.tenant.id);
    expectCode(await post(JSON.stringify({ query: CREATE_CONTACT, variables: { input: { firstName: "Unaccepted" } } }), { accept }), "NOT_ACCEPTABLE", 406);
    expect(await snapshot(server, seed.tenant.id)).toEqual(before);
  });

  test.each(["application/graphql-response+json", "application/json", "*/*", "text/html, application/json;q=0.5", "APPLICATION/JSON"])("Accept: %s is served", async (accept) => {
    expect((await post(JSON.stringify({ query: "{ viewer { scopes } }" }), { accept })).body.data.viewer.scopes).toContain("ADMIN");
  });

  test("GET with Accept: text/html still serves GraphiQL", async () => {
    const response = await fetch(server.url, { headers: { accept: "text/html" } });
    expect(response.status).toBe(200);
    expect(await response.text()).toMatch(/<html/i);
  });
});

describe("REST", () => {
  const rest = (path: string, init: RequestInit = {}) => send(`${server.url.replace("/graphql", "")}${path}`, init);

  test.each([
    ["a NUL in a JSON key", { "k\u0000": "v" }, "custom_fields.k\u0000", /NUL/],
    ["a lone surrogate in a JSON value", { note: "\ud800" }, "custom_fields.note", /surrogate/],
  ])("%s: Veleria's 422 names the key under the REST field, in plain words", async (_name, customFields, field, message) => {
    const token = await seed.tenant.tokenWith(["contacts:write"], "VELERIA");
    const before = await snapshot(server, seed.tenant.id);
    const answer = await rest("/v1/contacts", {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ first_name: "Ada", custom_fields: customFields }),
    });
    expect(answer.status).toBe(422);
    expect(Object.keys(answer.body.error.fields)).toEqual([field]);
    expect(answer.body.error.fields[field][0]).toMatch(message);
    expect(answer.body.error.fields[field][0]).not.toContain("custom");
    expect(await snapshot(server, seed.tenant.id)).toEqual(before);
  });

  test("a body nested 10,000 deep: the dialect's 400", async () => {
    const answer = await rest("/api/v1/leads", {
      method: "POST",
      headers: { authorization: `Bearer ${seed.tenant.token}`, "content-type": "application/json" },
      body: `{"fields":${"[".repeat(10_000)}${"]".repeat(10_000)}}`,
    });
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ statusCode: 400, message: expect.stringContaining("32 levels") });
  });

  test("the scope comes before the body: a Vorel key without conversations:write sending an invalid channel gets 403", async () => {
    const vorel = await seed.tenant.tokenWith(["leads:write"], "VOREL");
    const answer = await rest("/api/v1/conversations", {
      method: "POST",
      headers: { authorization: `Bearer ${vorel}`, "content-type": "application/json" },
      body: JSON.stringify({ channel: "pigeon", customer_identifier: "" }),
    });
    expect(answer.status).toBe(403);
    expect(answer.body.error).toMatchObject({ scope: "conversations:write" });
  });

  test("a bogus Agent.sa token is 401, not 404", async () => {
    const answer = await rest("/api/v1/leads", { headers: { authorization: `Bearer agentsa_${"0".repeat(48)}` } });
    expect(answer.status).toBe(401);
  });
});

describe("CORS", () => {
  test("any origin may call, never with credentials", async () => {
    const response = await fetch(server.url, { method: "OPTIONS", headers: { origin: "https://app.example", "access-control-request-method": "POST" } });
    expect(response.headers.get("access-control-allow-origin")).toBe("https://app.example");
    expect(response.headers.get("access-control-allow-credentials")).toBeNull();
  });

  test("a browser script may read the rate-limit headers, on GraphQL and REST paths alike", async () => {
    for (const path of ["/graphql", "/api/v1/leads"]) {
      const response = await fetch(`${server.url.replace("/graphql", "")}${path}`, { headers: { origin: "https://app.example" } });
      const exposed = (response.headers.get("access-control-expose-headers") ?? "").toLowerCase().split(/,\s*/);
      expect(exposed, path).toEqual(expect.arrayContaining(["retry-after", "ratelimit-remaining", "x-ratelimit-remaining"]));
    }
  });

  test("CORS_ORIGINS restricts the origins", async () => {
    const other = await server.startInstance({ CORS_ORIGINS: "https://a.example,https://b.example" });
    const preflight = (origin: string) =>
      fetch(other.url, { method: "OPTIONS", headers: { origin, "access-control-request-method": "POST" } }).then((r) => r.headers.get("access-control-allow-origin"));
    expect(await preflight("https://b.example")).toBe("https://b.example");
    // yoga answers "null" for an origin not on the list: no browser matches it.
    expect(await preflight("https://evil.example")).not.toBe("https://evil.example");
  });
});

describe("an empty update", () => {
  test("is BAD_USER_INPUT on input (it would only read the row back to a write-only token)", async () => {
    const writeOnly = await seed.tenant.tokenWith(["contacts:write"]);
    const answer = await post(JSON.stringify({ query: `mutation($id: ID!) { updateContact(id: $id, input: {}) { id email } }`, variables: { id: seed.id.contact } }), {}, writeOnly);
    expectCode(answer, "BAD_USER_INPUT");
    expect(answer.body.errors[0].extensions.field).toBe("input");
    expect(answer.body.data ?? null).toBeNull();
  });

  test("REST: Veleria's PUT with {} is its 422", async () => {
    const veleria = await seed.tenant.tokenWith(["contacts:write"], "VELERIA");
    const answer = await send(`${server.url.replace("/graphql", "")}/v1/contacts/${seed.id.contact}`, {
      method: "PUT",
      headers: { authorization: `Bearer ${veleria}`, "content-type": "application/json" },
      body: "{}",
    });
    expect(answer.status).toBe(422);
    expect(JSON.stringify(answer.body)).not.toContain("ada@example.com");
  });
});

describe("what Node's HTTP parser refuses", () => {
  test.each([
    ["/graphql", "a GraphQL path"],
    ["/api/v1/leads", "a REST path"],
  ])("a URL over 16 KB on %s (%s): 431 with a JSON body", async (path) => {
    const answer = await send(`${server.url.replace("/graphql", "")}${path}?q=${"x".repeat(20_000)}`, { headers: { authorization: `Bearer ${seed.tenant.token}` } });
    expect(answer.status).toBe(431);
    expect(answer.body.errors[0].extensions.code).toBe("REQUEST_HEADER_FIELDS_TOO_LARGE");
  });
});

describe("the scope before the input", () => {
  test.each([
    ["invalid input", { input: { firstName: 42 } }],
    ["missing input", {}],
    ["a NUL", { input: { firstName: "A\u0000" } }],
  ])("a token without contacts:write sending %s to createContact: FORBIDDEN naming the scope", async (_name, variables) => {
    const readOnly = await seed.tenant.tokenWith(["contacts:read"]);
    const answer = await post(JSON.stringify({ query: CREATE_CONTACT, variables }), {}, readOnly);
    expectCode(answer, "FORBIDDEN");
    expect(answer.body.errors[0].extensions.scope).toBe("contacts:write");
  });

  test("through a fragment on the mutation type, too", async () => {
    const readOnly = await seed.tenant.tokenWith(["contacts:read"]);
    const query = `mutation($input: ContactInput!) { ...M } fragment M on Mutation { createContact(input: $input) { id } }`;
    expectCode(await post(JSON.stringify({ query, variables: { input: { firstName: 42 } } }), {}, readOnly), "FORBIDDEN");
  });

  test("with the scope, the same input is a BAD_USER_INPUT", async () => {
    expectCode(await post(JSON.stringify({ query: CREATE_CONTACT, variables: { input: { firstName: 42 } } })), "BAD_USER_INPUT");
  });
});
