// The served OpenAPI documents as a test oracle: every REST answer a test sees must match
// its route's documented schema (a success) or the dialect's Error schema (a refusal).
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { expect } from "vitest";
import { startTestServer, type TestServer } from "./harness.js";

export interface OpenApiDocument {
  openapi: string;
  info: { title: string };
  servers: { url: string }[];
  // `any`: operations are checked by the tests that read them; here only their responses matter.
  paths: Record<string, Record<string, any>>;
  components: { schemas: Record<string, any> };
}

/** A JSON pointer from tokens, escaped as RFC 6901 and for use in a URI fragment. */
export const pointer = (...tokens: string[]) =>
  tokens.map((token) => encodeURIComponent(token.replace(/~/g, "~0").replace(/\//g, "~1"))).join("/");

// ajv is CommonJS: under NodeNext its class is the default export's `default`.
export const Ajv = Ajv2020.default;
export const withFormats = addFormats.default;

export interface OpenApiOracle {
  ajv: InstanceType<typeof Ajv>;
  /** The document each dialect serves, by dialect name (absent if it was not served). */
  documents: Map<string, OpenApiDocument>;
  /**
   * Checks a body: for a route (`template` as the document writes it, e.g. "/leads/{id}/status")
   * the status must be documented, and the body must match the success schema or, for a
   * refusal, the Error schema; without a template (an unknown path) the Error schema.
   */
  expectDocumented(dialect: string, method: string, template: string | undefined, status: number, body: unknown): void;
}

/** Fetches the documents the service serves at /openapi/<dialect>.json. */
/** A test server for a REST test file: its origin, and the served documents of `dialects` as oracles. */
export async function startRestTestServer(dialects: string[]): Promise<{ server: TestServer; origin: string; oracle: OpenApiOracle }> {
  const server = await startTestServer();
  const origin = new URL(server.url).origin;
  return { server, origin, oracle: await openApiOracle(origin, dialects) };
}

export async function openApiOracle(origin: string, dialects: string[]): Promise<OpenApiOracle> {
  const ajv = new Ajv({ strict: false, allErrors: true });
  withFormats(ajv);
  const documents = new Map<string, OpenApiDocument>();
  for (const name of dialects) {
    const response = await fetch(`${origin}/openapi/${name}.json`);
    if (response.status !== 200) continue; // the OpenAPI tests report it
    const document = (await response.json()) as OpenApiDocument;
    documents.set(name, document);
    ajv.addSchema(document, `${name}.json`);
  }
  return {
    ajv,
    documents,
    expectDocumented(dialect, method, template, status, body) {
      const where = `${dialect} ${method} ${template ?? "(unknown path)"} → ${status}`;
      let ref = `${dialect}.json#/${pointer("components", "schemas", "Error")}`;
      if (template !== undefined) {
        const operation = documents.get(dialect)?.paths[template]?.[method.toLowerCase()];
        expect(operation, `${where}: not in the OpenAPI document`).toBeDefined();
        expect(operation.responses[String(status)], `${where}: status not documented`).toBeDefined();
        // The status's own schema: a success, the Error, or (401, 429) either Error or AnonymousError.
        ref = `${dialect}.json#/${pointer("paths", template, method.toLowerCase(), "responses", String(status), "content", "application/json", "schema")}`;
      }
      const validate = ajv.getSchema(ref);
      expect(validate, `${where}: no schema at ${ref}`).toBeDefined();
      expect(validate!(body), `${where} does not match its OpenAPI schema: ${ajv.errorsText(validate!.errors)}\n${JSON.stringify(body).slice(0, 400)}`).toBe(true);
    },
  };
}

export interface Reply {
  status: number;
  headers: Headers;
  // `any`: tests read the dialects' bodies freely; the oracle above checks their shape.
  body: any;
}

/** A REST request: a value `body` is sent as JSON, a string as it is (malformed bodies). */
export async function restRequest(origin: string, method: string, path: string, token: string | null, body?: unknown): Promise<Reply> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(`${origin}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json(), headers: response.headers };
}
