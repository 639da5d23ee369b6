// Cross-cutting checks of the REST compatibility layer, driven by the route tables of every
// dialect registered in src/rest/dialects/index.ts, so that a route added later is covered
// without touching this file (or, where a request cannot be derived from the route's own
// schemas, fails until it gets an entry in EXAMPLES):
//   1. OpenAPI: each dialect's document is served, is 3.1.0, has exactly one operation per
//      route, and every schema in it compiles (ajv, JSON Schema 2020-12, strict).
//   2. Scopes: a token of the dialect's format holding every data scope but the route's gets
//      a 403 naming the scope, with nothing written; the route's own scopes suffice.
//   3. Tenancy: another tenant's existing id in a path answers exactly as an unknown id.
//   4. REST, GraphQL and subscriptions see the same data and the same events.
import { createClient, type Client } from "graphql-ws";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import WebSocket from "ws";
import { z } from "zod";
import { DATA_SCOPES, dialectScopeName, toCanonicalScopes, type Scope } from "../src/auth/scopes.js";
import { TOKEN_FORMATS } from "../src/auth/tokens.js";
import { issueToken } from "../src/auth/viewer.js";
import type { TokenFormat } from "../src/generated/prisma/enums.js";
import { dialects } from "../src/rest/dialects/index.js";
import { publicIdOf, PUBLIC_ID_PREFIX } from "../src/rest/mapping.js";
import type { Dialect, Route } from "../src/rest/route.js";
import { seedTenant, snapshot, type Seed } from "./fixtures.js";
import { startTestServer, type TestServer } from "./harness.js";
import { Ajv, openApiOracle, pointer, withFormats, type OpenApiDocument, type OpenApiOracle, type Reply } from "./openapi-oracle.js";

let server: TestServer;
let origin: string;
/** Validates answers against the served documents (loose: the documents themselves are checked strictly below). */
let oracle: OpenApiOracle;

beforeAll(async () => {
  server = await startTestServer();
  origin = server.url.replace(/\/graphql$/, "");
  oracle = await openApiOracle(origin, dialects.map((dialect) => dialect.name));
});
afterAll(() => server?.close());

const UNKNOWN = "00000000-0000-4000-8000-000000000000";
const HTTP_METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

interface Case {
  name: string;
  dialect: Dialect;
  route: Route;
}
const CASES: Case[] = dialects.flatMap((dialect) =>
  dialect.routes.map((route) => ({ name: `${dialect.name} ${route.method} ${route.path}`, dialect, route })),
);

// ---------------------------------------------------------------------------------------
// Requests and the documents as oracles.
// ---------------------------------------------------------------------------------------

const templateOf = (route: Route) => route.path.replace(/:(\w+)/g, "{$1}");

/** Checks an answer against the dialect's served document: the route's success schema, or its error schema. */
function expectDocumented(c: Case, status: number, body: unknown) {
  oracle.expectDocumented(c.dialect.name, c.route.method, templateOf(c.route), status, body);
}

interface RestCall {
  path: string;
  body?: unknown;
}

/** Sends a route's request; never a 5xx, always JSON, always as the served document says. */
async function send(c: Case, token: string, call: RestCall, base = c.dialect.basePaths[0]!): Promise<Reply> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (call.body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(`${origin}${base}${call.path}`, {
    method: c.route.method,
    headers,
    body: call.body === undefined ? undefined : JSON.stringify(call.body),
  });
  const text = await response.text();
  expect(response.status, `${c.name} (${base}${call.path}) answered ${response.status}: ${text.slice(0, 300)}`).toBeLessThan(500);
  if (response.status === 204) return { status: 204, headers: response.headers, body: null };
  expect(String(response.headers.get("content-type")), `${c.name}: ${text.slice(0, 200)}`).toMatch(/^application\/json/);
  const body = JSON.parse(text);
  expectDocumented(c, response.status, body);
  return { status: response.status, headers: response.headers, body };
}

/** Runs a refused request and proves it wrote nothing in these tenants. */
async function withoutWrites(tenantIds: string[], request: () => Promise<Reply>): Promise<Reply> {
  const before = await Promise.all(tenantIds.map((id) => snapshot(server, id)));
  const reply = await request();
  expect(await Promise.all(tenantIds.map((id) => snapshot(server, id))), "a refused request wrote").toEqual(before);
  return reply;
}

/** A token of this format; an agent-bound format is bound to the tenant's agent. */
async function tokenFor(seed: Seed, format: TokenFormat, scopes: Scope[]): Promise<string> {
  const agentId = format === "VELENTS_AGENT" ? seed.raw.agent.id : null;
  return (await issueToken(server.db.prisma, { tenantId: seed.tenant.id, name: "matrix", format, scopes, agentId })).secret;
}

// ---------------------------------------------------------------------------------------
// Requests derived from the route table.
// ---------------------------------------------------------------------------------------

const ROW_TYPES = ["Contact", "Lead", "Agent", "Channel", "Conversation", "Message", "Tag", "Booking", "Ticket", "Offering"] as const;
type RowType = (typeof ROW_TYPES)[number];
const PREFIX: Record<RowType, string> = {
  Contact: "con",
  Lead: "lead",
  Agent: "agt",
  Channel: "chn",
  Conversation: "conv",
  Message: "msg",
  Tag: "tag",
  Booking: "bkg",
  Ticket: "tkt",
  Offering: "off",
};

interface Row {
  uuid: string;
  /** Agents and conversations carry a per-tenant number (Velents' integer ids). */
  number?: number;
}
type Rows = Record<RowType, Row>;

/** The seed's first row of every kind. */
const baseRows = (seed: Seed): Rows => ({
  Contact: { uuid: seed.raw.contact.id },
  Lead: { uuid: seed.raw.lead.id },
  Agent: { uuid: seed.raw.agent.id, number: seed.raw.agent.number },
  Channel: { uuid: seed.raw.channel.id },
  Conversation: { uuid: seed.raw.conversation.id, number: seed.raw.conversation.number },
  Message: { uuid: seed.raw.message.id },
  Tag: { uuid: seed.raw.tag.id },
  Booking: { uuid: seed.raw.booking.id },
  Ticket: { uuid: seed.raw.ticket.id },
  Offering: { uuid: seed.raw.offering.id },
});

/** The rows `seedTenant(…, { extra: 1 })` adds: numbers no base seed uses (agent 902, conversation 903). */
async function extraRows(seed: Seed): Promise<Rows> {
  const tenantId = seed.tenant.id;
  const p = server.db.prisma;
  const conversation = await p.conversation.findFirstOrThrow({ where: { tenantId, number: 903 } });
  const agent = await p.agent.findFirstOrThrow({ where: { tenantId, number: 902 } });
  return {
    Contact: { uuid: (await p.contact.findFirstOrThrow({ where: { tenantId, firstName: "Extra 0" } })).id },
    Lead: { uuid: (await p.lead.findFirstOrThrow({ where: { tenantId, conversationId: conversation.id } })).id },
    Agent: { uuid: agent.id, number: agent.number },
    Channel: { uuid: (await p.channel.findFirstOrThrow({ where: { tenantId, agentId: agent.id } })).id },
    Conversation: { uuid: conversation.id, number: conversation.number },
    Message: { uuid: (await p.message.findFirstOrThrow({ where: { tenantId, conversationId: conversation.id } })).id },
    Tag: { uuid: (await p.tag.findFirstOrThrow({ where: { tenantId, name: "extra-0" } })).id },
    Booking: { uuid: (await p.booking.findFirstOrThrow({ where: { tenantId, service: "Extra" } })).id },
    Ticket: { uuid: (await p.ticket.findFirstOrThrow({ where: { tenantId, conversationId: conversation.id } })).id },
    Offering: { uuid: (await p.offering.findFirstOrThrow({ where: { tenantId, title: "Extra 0" } })).id },
  };
}

/**
 * Routes whose request cannot be derived from their schemas. `params` names the kind of row
 * each path parameter is (when neither its name nor the path segment before it says so);
 * `body` and `query` replace the generated ones.
 */
interface Example {
  params?: Record<string, RowType>;
  query?: (rows: Rows) => string;
  body?: (rows: Rows) => unknown;
  /** Puts the rows in the state the route needs to succeed, before a request that should. */
  prepare?: (rows: Rows) => Promise<unknown>;
}
const EXAMPLES: Record<string, Example> = {
  // Requests that reach their row, so that "served with its own scopes" means a success.
  "convo POST /conversations/bulk": { body: (rows) => ({ ids: [rows.Conversation.uuid], action: "close" }) },
  // Convo's operator messages go to handed-off conversations only.
  "convo POST /conversations/:id/operator-message": {
    prepare: (rows) => server.db.prisma.conversation.update({ where: { id: rows.Conversation.uuid }, data: { status: "HANDED_OFF" } }),
  },
  // The seed's conversations have a lead already, and Vorel allows one per conversation.
  "vorel POST /leads": {
    body: (rows) => ({ conversation_id: rows.Conversation.uuid, name: "Anna" }),
    prepare: (rows) => server.db.prisma.lead.updateMany({ where: { conversationId: rows.Conversation.uuid }, data: { conversationId: null } }),
  },
  "vorel PATCH /leads/:id": { body: () => ({ attributes: { budget_min: 900000 } }) },
  "vorel POST /appointments": {
    body: () => ({ customer_name: "Amira", customer_phone: "+971501234567", scheduled_start: "2031-05-15T14:00:00+04:00", scheduled_end: "2031-05-15T15:00:00+04:00" }),
  },
  "vorel PATCH /appointments/:id": { body: () => ({ location_text: "Marina Walk" }) },
  "vorel PATCH /conversations/:id": { body: () => ({ customer_name: "Anna Nowak" }) },
  "vorel POST /offerings": { body: () => ({ title: "2BR apartment, Dubai Marina", price: 1250.5, photos: ["https://cdn.example.com/1.jpg"] }) },
  "vorel PATCH /offerings/:id": { body: () => ({ price: 1300, attributes: { bedrooms: 3 } }) },
  "veleria POST /messages/send": { body: (rows) => ({ contact_id: `con_${rows.Contact.uuid}`, channel: "email", content: "Your invoice" }) },
  "veleria POST /bookings": {
    body: (rows) => ({
      contact_id: `con_${rows.Contact.uuid}`,
      service: "Personal Training",
      starts_at: "2031-01-01T10:00:00Z",
      ends_at: "2031-01-01T11:00:00Z",
    }),
  },
  "veleria POST /contacts": { body: () => ({ first_name: "Sarah", email: "sarah@example.com.au" }) },
  // A URL the generated "x" is not, and an event of Convo's catalogue.
  "convo POST /integrations/webhook": { body: () => ({ type: "WEBHOOK", url: "https://hooks.example.com/avelto", events: ["lead.created"] }) },
  // An empty update is a 422 (it would only read the row back).
  "veleria PUT /contacts/:id": { body: () => ({ last_name: "Nowak" }) },
  // The seed talks to +48111222333 on WhatsApp already (a dispatch there is a 409): a phone of its own.
  "velents-agent POST /Integration/Agent/Dispatch": { body: () => ({ channel_id: 3, phone: "+48600700800", values: { order_id: "1212" } }) },
  "velents-agent POST /Integration/Agent/Batch": { body: () => ({ channel_id: 3, name: "matrix", rows: [{ phone: "+48600700800", values: { order_id: "1212" } }] }) },
};

/**
 * Routes that a token without the route's scopes may still call, and why. A route listing no
 * scope must be here; the test proves each reason still holds.
 */
const SCOPE_EXCEPTIONS: Record<string, string> = {
  "convo GET /channels":
    "Convo documents no scope for it: the route grants its operation channels:read (Route.grants), over this path only.",
  "velents GET /Company/TenantAuth/me":
    "It describes the calling token itself (tenant, abilities, expiry): its GraphQL operation reads only `viewer`, which needs no scope, and Velents documents no ability for it.",
};

const WORDS: [RegExp, RowType][] = [
  [/^(contacts?|customers?)$/i, "Contact"],
  [/^leads?$/i, "Lead"],
  [/^agents?$/i, "Agent"],
  [/^channels?$/i, "Channel"],
  [/^(conversations?|threads?)$/i, "Conversation"],
  [/^tickets?$/i, "Ticket"],
  [/^messages?$/i, "Message"],
  [/^tags?$/i, "Tag"],
  [/^(bookings?|appointments?)$/i, "Booking"],
  [/^offerings?$/i, "Offering"],
];

/** The kind of row a path parameter names: from EXAMPLES, its own name, or the segment before it. */
function rowTypeOf(c: Case, param: string): RowType {
  const given = EXAMPLES[c.name]?.params?.[param];
  if (given) return given;
  const segments = c.route.path.split("/");
  const before = segments[segments.indexOf(`:${param}`) - 1] ?? "";
  for (const word of [param.replace(/_?id$/i, ""), before]) {
    const found = WORDS.find(([pattern]) => pattern.test(word));
    if (found) return found[1];
  }
  throw new Error(`${c.name}: cannot tell what kind of row :${param} names; add EXAMPLES["${c.name}"].params`);
}

const pathParams = (route: Route) => [...route.path.matchAll(/:(\w+)/g)].map((match) => match[1]!);

/**
 * The ways an id of a row may be written: bare uuid, global id (prefix_uuid), per-tenant
 * number, public id (Velents' tkt_/cnv_/msg_ + Crockford base32 of the uuid).
 */
type IdFormat = "uuid" | "global" | "number" | "public";
const ID_FORMATS: IdFormat[] = ["uuid", "global", "number", "public"];
function writeId(type: RowType, row: Row, format: IdFormat): string | undefined {
  if (format === "uuid") return row.uuid;
  if (format === "global") return `${PREFIX[type]}_${row.uuid}`;
  if (format === "public") return type in PUBLIC_ID_PREFIX ? publicIdOf(type as keyof typeof PUBLIC_ID_PREFIX, row.uuid) : undefined;
  return row.number === undefined ? undefined : String(row.number);
}
const unknownRow: Row = { uuid: UNKNOWN, number: 999_999 };

const containsValue = (value: unknown, wanted: unknown): boolean =>
  value === wanted || (typeof value === "object" && value !== null && Object.values(value).some((inner) => containsValue(inner, wanted)));

/**
 * How this route's path ids are written: the first format the route's params schema accepts
 * and whose variables carry the row to GraphQL (a uuid or global id containing it, or the number).
 */
function idFormatsOf(c: Case, rows: Rows, body: unknown): Record<string, IdFormat> {
  const formats: Record<string, IdFormat> = {};
  for (const param of pathParams(c.route)) {
    const type = rowTypeOf(c, param);
    const row = rows[type];
    const fits = ID_FORMATS.find((format) => {
      const id = writeId(type, row, format);
      if (id === undefined) return false;
      const params = { ...Object.fromEntries(pathParams(c.route).map((p) => [p, id])), [param]: id };
      if (c.route.params && !c.route.params.safeParse(params).success) return false;
      try {
        const variables = c.route.variables({ params, query: new URLSearchParams(), body: (body ?? {}) as Record<string, unknown> });
        return format === "number" ? containsValue(variables, row.number) : JSON.stringify(variables).includes(row.uuid);
      } catch {
        return false;
      }
    });
    if (!fits) throw new Error(`${c.name}: no id format of ${type} fits :${param}; add EXAMPLES["${c.name}"]`);
    formats[param] = fits;
  }
  return formats;
}

/** A value a JSON schema (zod's, for the route's body or query) accepts; ids name `rows`. */
function sample(schema: any, key: string, rows: Rows): unknown {
  if (!schema || typeof schema !== "object") return "x";
  if ("const" in schema) return schema.const;
  if (Array.isArray(schema.enum)) return schema.enum[0];
  if (schema.anyOf || schema.oneOf) {
    const options = (schema.anyOf ?? schema.oneOf).filter((option: any) => option.type !== "null");
    return sample(options[0], key, rows);
  }
  if (schema.allOf) return sample(Object.assign({}, ...schema.allOf), key, rows);
  const type = Array.isArray(schema.type) ? schema.type.find((t: string) => t !== "null") : schema.type;
  switch (type) {
    case "object":
      return Object.fromEntries((schema.required ?? []).map((name: string) => [name, sample(schema.properties?.[name], name, rows)]));
    case "array":
      return Array.from({ length: Math.max(1, schema.minItems ?? 0) }, () => sample(schema.items, key, rows));
    case "integer":
    case "number":
      return schema.minimum ?? (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + 1 : 1);
    case "boolean":
      return true;
    default:
      return sampleString(schema, key, rows);
  }
}

function sampleString(schema: any, key: string, rows: Rows): string {
  const type = WORDS.find(([pattern]) => pattern.test(key.replace(/_?ids?$/i, "")))?.[1];
  const row = type ? rows[type] : unknownRow;
  const prefix = /\^(\w+)_/.exec(schema.pattern ?? "")?.[1];
  if (prefix) return `${prefix}_${row.uuid}`;
  if (schema.format === "uuid" || /uuid|guid/i.test(schema.description ?? "") || /_?ids?$/i.test(key)) return row.uuid;
  if (schema.format === "date-time") return /end|to$/i.test(key) ? "2031-01-01T11:00:00Z" : "2031-01-01T10:00:00Z";
  if (schema.format === "email") return "sample@example.com";
  if (schema.pattern) {
    const pattern = new RegExp(schema.pattern);
    const fit = ["x", "en", "1", "+48111222333", UNKNOWN, "2031-01-01"].find((candidate) => pattern.test(candidate));
    if (fit) return fit;
  }
  return "x".repeat(Math.max(1, schema.minLength ?? 1));
}

const jsonSchema = (schema: z.ZodType) => z.toJSONSchema(schema, { io: "input", unrepresentable: "any" });

/** The route's request with these rows' ids (or, for `ids: "unknown"`, ids that name nothing). */
function requestFor(c: Case, rows: Rows, ids: Rows = rows): RestCall & { ids: string[] } {
  const example = EXAMPLES[c.name] ?? {};
  const body = c.route.body ? (example.body ? example.body(rows) : sample(jsonSchema(c.route.body), "", rows)) : undefined;
  const formats = idFormatsOf(c, rows, body);
  const written: string[] = [];
  const path = c.route.path.replace(/:(\w+)/g, (_, param: string) => {
    const id = writeId(rowTypeOf(c, param), ids[rowTypeOf(c, param)], formats[param]!)!;
    written.push(id);
    return encodeURIComponent(id);
  });
  let query = example.query?.(rows);
  if (query === undefined && c.route.query) {
    const required = sample(jsonSchema(c.route.query), "", rows) as Record<string, unknown>;
    query = new URLSearchParams(Object.entries(required).map(([name, value]) => [name, String(value)])).toString();
  }
  return { path: query ? `${path}?${query}` : path, body, ids: written };
}

const unknownRows = Object.fromEntries(ROW_TYPES.map((type) => [type, unknownRow])) as Rows;

// ---------------------------------------------------------------------------------------
// 1. OpenAPI.
// ---------------------------------------------------------------------------------------

describe("OpenAPI", () => {
  test("some dialects are registered, with unique names and routes", () => {
    expect(dialects.length).toBeGreaterThan(0);
    expect(new Set(dialects.map((dialect) => dialect.name)).size).toBe(dialects.length);
    for (const dialect of dialects) {
      const keys = dialect.routes.map((route) => `${route.method} ${templateOf(route).replace(/\{\w+\}/g, "{}")}`);
      expect(keys.filter((key, i) => keys.indexOf(key) !== i), `${dialect.name}: routes answering the same request`).toEqual([]);
    }
  });

  describe.each(dialects)("$name", (dialect) => {
    let spec: OpenApiDocument;
    beforeAll(async () => {
      const response = await fetch(`${origin}/openapi/${dialect.name}.json`);
      expect(response.status, `GET /openapi/${dialect.name}.json`).toBe(200);
      expect(response.headers.get("content-type")).toMatch(/^application\/json/);
      spec = (await response.json()) as OpenApiDocument;
    });

    test("is OpenAPI 3.1.0 and names the dialect's base paths", () => {
      expect(spec.openapi).toBe("3.1.0");
      expect(spec.info.title).toBe(dialect.title);
      expect(spec.servers.map((each) => each.url)).toEqual(dialect.basePaths.map((path) => path || "/"));
    });

    test("paging parameters are integers, so generated clients take numbers", () => {
      const paging = Object.values(spec.paths).flatMap((item) =>
        Object.values(item as Record<string, { parameters?: { name: string; in: string; schema: { type?: string } }[] }>)
          .flatMap((operation) => operation.parameters ?? [])
          .filter((parameter) => parameter.in === "query" && ["limit", "offset", "page", "per_page"].includes(parameter.name)),
      );
      for (const parameter of paging) expect(parameter.schema.type, parameter.name).toBe("integer");
    });

    test("names its resources: every component schema is referred to, and every route's answer refers to one", () => {
      const named = Object.keys(spec.components.schemas).filter((name) => name !== "Error" && name !== "AnonymousError");
      expect(named.length, "named component schemas").toBeGreaterThan(0);
      const text = JSON.stringify(spec.paths);
      for (const name of named) expect(text, name).toContain(`"#/components/schemas/${name}"`);
      for (const route of dialect.routes) {
        const answer = (spec.paths[templateOf(route)] as Record<string, any>)[route.method.toLowerCase()].responses[String(route.status ?? 200)];
        expect(JSON.stringify(answer), `${route.method} ${route.path}`).toContain('"#/components/schemas/');
      }
    });

    test("has exactly one operation per route", () => {
      const operations = Object.entries(spec.paths).flatMap(([path, item]) =>
        Object.keys(item)
          .filter((key) => HTTP_METHODS.includes(key))
          .map((method) => `${method.toUpperCase()} ${path}`),
      );
      const routes = dialect.routes.map((route) => `${route.method} ${templateOf(route)}`);
      expect(
        routes.filter((route) => !operations.includes(route)),
        "routes missing from the document",
      ).toEqual([]);
      expect(
        operations.filter((operation) => !routes.includes(operation)),
        "operations no route serves",
      ).toEqual([]);
      expect(operations).toHaveLength(routes.length);
      for (const route of dialect.routes) {
        const operation = spec.paths[templateOf(route)]![route.method.toLowerCase()];
        expect(operation.operationId).toBe(route.operation);
        const documented = (operation.security ?? []).flatMap((requirement: Record<string, string[]>) => Object.values(requirement).flat());
        expect(documented.sort(), `${route.method} ${route.path}: documented scopes`).toEqual([...route.scopes].sort());
        expect(Object.keys(operation.responses)).toContain(String(route.status ?? 200));
        expect((operation.parameters ?? []).filter((p: any) => p.in === "path").map((p: any) => p.name).sort()).toEqual(pathParams(route).sort());
        expect(Boolean(operation.requestBody), `${route.method} ${route.path} documents a body`).toBe(Boolean(route.body));
      }
      const ids = operations.map((operation) => {
        const [method, path] = operation.split(" ");
        return spec.paths[path!]![method!.toLowerCase()].operationId;
      });
      expect(new Set(ids).size).toBe(ids.length);
    });

    test("documents the refusals the layer can answer", () => {
      const missing: string[] = [];
      for (const route of dialect.routes) {
        const statuses = Object.keys(spec.paths[templateOf(route)]?.[route.method.toLowerCase()]?.responses ?? {});
        // Any route: no token, a missing scope, an unknown path or id, invalid input. With a body: malformed or oversized.
        const expected = ["401", "403", "404", "422", ...(route.body ? ["400", "413"] : [])];
        for (const status of expected) if (!statuses.includes(status)) missing.push(`${route.method} ${route.path}: ${status}`);
      }
      expect(missing, "responses the layer sends but the document does not list").toEqual([]);
    });

    test("every schema in it compiles with ajv (JSON Schema 2020-12, strict)", () => {
      const strict = new Ajv({ strict: true, strictTypes: false, strictTuples: false, allErrors: true });
      withFormats(strict);
      /** Inlines #/components/schemas/… so that each schema compiles on its own. */
      const inline = (value: unknown): unknown => {
        if (Array.isArray(value)) return value.map(inline);
        if (value === null || typeof value !== "object") return value;
        const ref = (value as { $ref?: unknown }).$ref;
        if (typeof ref === "string" && ref.startsWith("#/components/schemas/")) {
          const target = spec.components.schemas[ref.slice("#/components/schemas/".length)];
          expect(target, `${ref} is not defined`).toBeDefined();
          return inline(target);
        }
        return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, inline(inner)]));
      };
      const schemas: [string, unknown][] = Object.entries(spec.components.schemas).map(([name, schema]) => [`components.schemas.${name}`, schema]);
      for (const [path, item] of Object.entries(spec.paths)) {
        for (const [method, operation] of Object.entries(item)) {
          const where = `${method.toUpperCase()} ${path}`;
          for (const parameter of operation.parameters ?? []) schemas.push([`${where} parameter ${parameter.name}`, parameter.schema]);
          for (const [type, media] of Object.entries<any>(operation.requestBody?.content ?? {})) schemas.push([`${where} body ${type}`, media.schema]);
          for (const [status, response] of Object.entries<any>(operation.responses)) {
            for (const [type, media] of Object.entries<any>(response.content ?? {})) schemas.push([`${where} ${status} ${type}`, media.schema]);
          }
        }
      }
      expect(schemas.length).toBeGreaterThan(dialect.routes.length);
      const failures: string[] = [];
      for (const [where, schema] of schemas) {
        try {
          strict.compile(inline(schema) as object);
        } catch (error) {
          failures.push(`${where}: ${(error as Error).message}`);
        }
      }
      expect(failures).toEqual([]);
    });

    test("the error schema describes every error body the dialect renders", () => {
      const validate = oracle.ajv.getSchema(`${dialect.name}.json#/${pointer("components", "schemas", "Error")}`)!;
      const failures = [
        { status: 400, code: "MALFORMED_BODY", message: "The request body is not valid JSON" },
        { status: 401, code: "UNAUTHENTICATED", message: "The API token is invalid, revoked or expired" },
        { status: 403, code: "FORBIDDEN", message: "This token lacks the leads:read scope", scope: "leads:read" },
        { status: 404, code: "NOT_FOUND", message: "Not found" },
        { status: 405, code: "METHOD_NOT_ALLOWED", message: "DELETE is not allowed here; use GET" },
        { status: 409, code: "CONFLICT", message: "A record with these values already exists" },
        { status: 413, code: "PAYLOAD_TOO_LARGE", message: "Request body exceeds 1000000 bytes" },
        { status: 422, code: "BAD_USER_INPUT", message: "email: must be a valid email address", fields: { email: ["must be a valid email address"] } },
        { status: 500, code: "INTERNAL_SERVER_ERROR", message: "Unexpected error" },
      ];
      for (const failure of failures) {
        const body = dialect.error(failure);
        expect(validate(body), `${failure.status}: ${JSON.stringify(body)}: ${oracle.ajv.errorsText(validate.errors)}`).toBe(true);
      }
    });
  });
});

// ---------------------------------------------------------------------------------------
// 2. Scopes, through REST.
// ---------------------------------------------------------------------------------------

describe("scope matrix", () => {
  test("every route lists a scope, or says why it needs none", () => {
    const unexplained = CASES.filter((c) => c.route.scopes.length === 0 && !SCOPE_EXCEPTIONS[c.name]).map((c) => c.name);
    expect(unexplained, "routes without a scope: add a reason to SCOPE_EXCEPTIONS").toEqual([]);
    const stale = Object.keys(SCOPE_EXCEPTIONS).filter((name) => !CASES.some((c) => c.name === name));
    expect(stale, "SCOPE_EXCEPTIONS naming no route").toEqual([]);
    const staleExamples = Object.keys(EXAMPLES).filter((name) => !CASES.some((c) => c.name === name));
    expect(staleExamples, "EXAMPLES naming no route").toEqual([]);
  });

  const formatCases = CASES.flatMap((c) => c.dialect.formats.map((format) => ({ ...c, format, label: `${c.name} (${format})` })));

  test.each(formatCases)("$label", async (c) => {
    const seed = await seedTenant(server, "Scope matrix", { closed: true });
    const rows = baseRows(seed);
    const call = requestFor(c, rows);
    const listed = toCanonicalScopes(c.format, c.route.scopes);
    const exception = SCOPE_EXCEPTIONS[c.name];

    if (exception) {
      // The reason holds: a token without the route's scopes (none at all, if it lists none) is served.
      const token = await tokenFor(seed, c.format, listed.length ? DATA_SCOPES.filter((scope) => !listed.includes(scope)) : []);
      const reply = await send(c, token, call);
      expect(reply.status, `${c.label}: ${exception}\n${JSON.stringify(reply.body)}`).not.toBe(403);
      expect(reply.status).toBeLessThan(400);
      return;
    }

    const without = await tokenFor(seed, c.format, DATA_SCOPES.filter((scope) => !listed.includes(scope)));
    const names = new Set([...c.route.scopes, ...listed, ...listed.map((scope) => dialectScopeName(c.format, scope))]);
    for (const base of c.dialect.basePaths) {
      const reply = await withoutWrites([seed.tenant.id], () => send(c, without, call, base));
      expect(reply.status, `${c.label} at ${base || "/"} without ${[...listed].join(", ")}: ${JSON.stringify(reply.body)}`).toBe(403);
      const text = JSON.stringify(reply.body);
      expect([...names].some((name) => text.includes(name)), `${c.label}: the 403 body names none of ${[...names].join(", ")}: ${text}`).toBe(true);
    }

    // The route's own scopes are enough: whatever else it answers, it is not a 403.
    await EXAMPLES[c.name]?.prepare?.(rows);
    const only = await tokenFor(seed, c.format, listed);
    const reply = await send(c, only, call);
    expect(reply.status, `${c.label} with only ${listed.join(", ")}: ${JSON.stringify(reply.body)}`).not.toBe(403);
    expect(
      reply.status,
      `${c.label} with only ${listed.join(", ")} should succeed; if the generated request cannot, add EXAMPLES["${c.name}"]: ${JSON.stringify(reply.body)}`,
    ).toBe(c.route.status ?? 200);
  });
});

describe("without a token", () => {
  /** Dialects with a route of this method at this concrete path, under any of their base paths. */
  const servingDialects = (method: string, path: string) =>
    dialects.filter((dialect) =>
      dialect.basePaths.some((base) =>
        dialect.routes.some((route) => route.method === method && path.startsWith(base) && new RegExp(`^${route.path.replace(/:\w+/g, "[^/]+")}$`).test(path.slice(base.length))),
      ),
    );

  let seed: Seed;
  beforeAll(async () => {
    seed = await seedTenant(server, "Anonymous", { closed: true });
  });

  const call = (c: Case, path: string, authorization?: string) => {
    const { body } = requestFor(c, baseRows(seed));
    const headers: Record<string, string> = body === undefined ? {} : { "content-type": "application/json" };
    if (authorization) headers.authorization = authorization;
    return fetch(`${origin}${path}`, { method: c.route.method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  };
  const pathsOf = (c: Case) => c.dialect.basePaths.map((base) => `${base}${requestFor(c, baseRows(seed)).path.split("?")[0]}`);

  test.each(CASES)("$name: 401 in a shape the document accepts, the dialect's own where the path is its alone", async (c) => {
    for (const path of pathsOf(c)) {
      const response = await call(c, path);
      const body = await response.json();
      expect(response.status, `${c.name} at ${path}: ${JSON.stringify(body)}`).toBe(401);
      expect(response.headers.get("www-authenticate")).toBe("Bearer");
      expectDocumented(c, 401, body);
      const serving = servingDialects(c.route.method, path);
      const own = oracle.ajv.getSchema(`${c.dialect.name}.json#/${pointer("components", "schemas", "Error")}`)!;
      if (serving.length === 1) expect(own(body), `${c.name} at ${path} is ${c.dialect.name}'s alone: ${JSON.stringify(body)}`).toBe(true);
      else expect(body, `${path} is shared by ${serving.map((d) => d.name).join(", ")}`).toEqual({ error: { code: "UNAUTHENTICATED", message: expect.stringContaining("Bearer") } });
    }
  });

  test.each(CASES)("$name: an unknown token of every format gets a 401 the document accepts", async (c) => {
    for (const path of pathsOf(c)) {
      const serving = servingDialects(c.route.method, path);
      for (const [format, rule] of Object.entries(TOKEN_FORMATS)) {
        // On a path several dialects share, a token of one of them is answered in its own
        // dialect: that dialect's document is the one to hold it to (its own case does).
        const tokenDialect = dialects.find((dialect) => dialect.formats.includes(format as TokenFormat));
        if (tokenDialect && tokenDialect !== c.dialect && serving.includes(tokenDialect)) continue;
        const response = await call(c, path, `Bearer ${rule.generate(seed.tenant.id)}`);
        const body = await response.json();
        expect(response.status, `${c.name} at ${path} with an unknown ${format} token: ${JSON.stringify(body)}`).toBe(401);
        expectDocumented(c, 401, body);
      }
    }
  });
});

// ---------------------------------------------------------------------------------------
// 3. Tenancy: another tenant's id in a path.
// ---------------------------------------------------------------------------------------

describe("tenant matrix", () => {
  const withIds = CASES.filter((c) => pathParams(c.route).length > 0);

  test("some routes take an id in their path", () => {
    expect(withIds.length).toBeGreaterThan(0);
  });

  test.each(withIds)("$name: another tenant's id answers exactly as an unknown id", async (c) => {
    const format = c.dialect.formats[0]!;
    const mine = await seedTenant(server, "Mine", { closed: true });
    const theirs = await seedTenant(server, "Theirs", { closed: true, extra: 1 });
    const their = await extraRows(theirs);
    const myToken = await tokenFor(mine, format, DATA_SCOPES);

    const foreignCall = requestFor(c, baseRows(mine), their);
    const unknownCall = requestFor(c, baseRows(mine), unknownRows);
    const tenants = [mine.tenant.id, theirs.tenant.id];
    const foreign = await withoutWrites(tenants, () => send(c, myToken, foreignCall));
    const unknown = await withoutWrites(tenants, () => send(c, myToken, unknownCall));
    expect(foreign.status, JSON.stringify(foreign.body)).toBeGreaterThanOrEqual(400);
    expect(foreign.status).toBe(unknown.status);
    // Bodies may echo the id they were given; apart from that they are the same.
    const masked = (reply: Reply, ids: string[]) => ids.reduce((text, id) => text.split(id).join("<id>"), JSON.stringify(reply.body));
    expect(masked(foreign, foreignCall.ids)).toBe(masked(unknown, unknownCall.ids));
    expect(foreign.headers.get("content-type")).toBe(unknown.headers.get("content-type"));

    // And the id is theirs: their own token reaches the row.
    await EXAMPLES[c.name]?.prepare?.(their);
    const theirToken = await tokenFor(theirs, format, DATA_SCOPES);
    const own = await send(c, theirToken, requestFor(c, their));
    expect(own.status, `${c.name}: tenant B's own request should reach its row; if the generated request cannot, add EXAMPLES["${c.name}"]: ${JSON.stringify(own.body)}`).toBe(
      c.route.status ?? 200,
    );
  });
});

// ---------------------------------------------------------------------------------------
// 4. One source of truth: REST, GraphQL and subscriptions.
// ---------------------------------------------------------------------------------------

describe("REST, GraphQL and subscriptions", () => {
  let seed: Seed;
  let client: Client;
  beforeAll(async () => {
    seed = await seedTenant(server, "Live", { closed: true });
    client = createClient({
      url: server.url.replace(/^http/, "ws"),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${seed.tenant.token}` },
      retryAttempts: 0,
      lazy: true,
    });
  });
  afterAll(async () => {
    await client?.dispose();
  });

  const convo = (method: string, path: string, json?: unknown) =>
    fetch(`${origin}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${seed.tenant.token}`, "content-type": "application/json" },
      body: json === undefined ? undefined : JSON.stringify(json),
    }).then(async (response) => ({ status: response.status, body: (await response.json()) as any }));

  /** Subscribes, and resolves once the server has opened the stream (so no event is missed). */
  async function subscribe(query: string, variables: Record<string, unknown> = {}) {
    const before = server.app.live.stats().streams;
    const events = client.iterate<any>({ query, variables });
    const first = events.next();
    const deadline = Date.now() + 5_000;
    while (server.app.live.stats().streams <= before) {
      if (Date.now() > deadline) throw new Error("the subscription did not open");
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    let pending: Promise<IteratorResult<any>> | undefined = first;
    return {
      async next(): Promise<any> {
        const result = await Promise.race([
          pending ?? events.next(),
          new Promise<never>((_, reject) => setTimeout(() => reject(new Error("no event within 5 s")), 5_000)),
        ]);
        pending = undefined;
        expect(result.done).toBe(false);
        expect(result.value.errors).toBeUndefined();
        return result.value.data;
      },
      close: () => events.return?.(),
    };
  }

  test("a lead created over Convo REST is in GraphQL `leads` and arrives on `leadEvents`", async () => {
    const events = await subscribe(`subscription { leadEvents { type lead { id status fields score source } } }`);
    const created = await convo("POST", "/leads", { fields: { name: "Anna", email: "anna@example.com" }, source: "external-form", score: 40 });
    expect(created.status).toBe(201);
    const globalId = `lead_${created.body.id}`;

    const event = (await events.next()).leadEvents;
    expect(event).toEqual({
      type: "CREATED",
      lead: { id: globalId, status: "NEW", fields: { name: "Anna", email: "anna@example.com" }, score: 40, source: "external-form" },
    });
    await events.close();

    const data = await server.ok(seed.tenant, `{ leads(first: 50) { edges { node { id status fields createdAt } } } }`);
    expect(data.leads.edges.map((edge: any) => edge.node)).toContainEqual({
      id: globalId,
      status: "NEW",
      fields: { name: "Anna", email: "anna@example.com" },
      createdAt: created.body.createdAt,
    });
  });

  test("a lead status changed over Convo REST arrives as UPDATED", async () => {
    const events = await subscribe(`subscription { leadEvents(status: QUALIFIED) { type lead { id status } } }`);
    const patched = await convo("PATCH", `/leads/${seed.raw.lead.id}/status`, { status: "QUALIFIED" });
    expect(patched.status).toBe(200);
    expect((await events.next()).leadEvents).toEqual({ type: "UPDATED", lead: { id: `lead_${seed.raw.lead.id}`, status: "QUALIFIED" } });
    await events.close();
  });

  test("conversations bulk-closed over Convo REST arrive as CLOSED on `conversationEvents`", async () => {
    const second = await server.ok(
      seed.tenant,
      `mutation { createConversation(input: { channelType: EMAIL, customerIdentifier: "live@example.com" }) { id } }`,
    );
    const ids = [seed.raw.conversation.id, second.createConversation.id.replace(/^conv_/, "")];
    const events = await subscribe(`subscription { conversationEvents { type conversation { id status } } }`);
    const closed = await convo("POST", "/conversations/bulk", { ids: [...ids, seed.raw.closed!.id], action: "close" });
    expect(closed).toEqual({ status: 200, body: { updated: 2, skipped: 1 } });
    const received = [(await events.next()).conversationEvents, (await events.next()).conversationEvents];
    expect(received.sort((a, b) => a.conversation.id.localeCompare(b.conversation.id))).toEqual(
      ids.map((id) => ({ type: "CLOSED", conversation: { id: `conv_${id}`, status: "CLOSED" } })).sort((a, b) => a.conversation.id.localeCompare(b.conversation.id)),
    );
    await events.close();

    const data = await server.ok(seed.tenant, `{ conversations(status: CLOSED, first: 10) { edges { node { id } } } }`);
    expect(data.conversations.edges.map((edge: any) => edge.node.id).sort()).toEqual(
      [...ids, seed.raw.closed!.id].map((id) => `conv_${id}`).sort(),
    );
  });

  test("an operator reply over Convo REST arrives as MESSAGE_ADDED on `conversation(id)`", async () => {
    const id = seed.raw.conversation.id;
    await server.ok(seed.tenant, `mutation($id: ID!) { updateConversation(id: $id, input: { status: HANDED_OFF }) { id } }`, { id: `conv_${id}` });
    const events = await subscribe(`subscription($id: ID!) { conversation(id: $id) { type message { id role content } } }`, { id: `conv_${id}` });
    const sent = await convo("POST", `/conversations/${id}/operator-message`, { content: "Hi there" });
    expect(sent.status).toBe(201);
    expect((await events.next()).conversation).toEqual({
      type: "MESSAGE_ADDED",
      message: { id: `msg_${sent.body.id}`, role: "OPERATOR", content: "Hi there" },
    });
    await events.close();
  });

  test("a lead status changed over GraphQL shows up in Convo REST GET /leads", async () => {
    const id = await server.ok(seed.tenant, `mutation { createLead(input: { fields: { name: "Graph" }, score: 12 }) { id } }`);
    const leadId: string = id.createLead.id;
    await server.ok(seed.tenant, `mutation($id: ID!) { updateLeadStatus(id: $id, status: WON) { id } }`, { id: leadId });
    const won = await convo("GET", "/leads?status=WON");
    expect(won.status).toBe(200);
    const row = await server.db.prisma.lead.findUniqueOrThrow({ where: { id: leadId.replace(/^lead_/, "") } });
    expect(won.body).toEqual([
      {
        id: row.id,
        status: "WON",
        fields: { name: "Graph" },
        score: 12,
        source: null,
        conversationId: null,
        crmExternalId: null,
        createdAt: row.createdAt.toISOString(),
        updatedAt: row.updatedAt.toISOString(),
      },
    ]);
    expect((await convo("GET", "/leads?status=NEW")).body.map((lead: any) => lead.id)).not.toContain(row.id);
  });
});
