// OpenAPI 3.1 for each dialect, generated from its route table (served at /openapi/<name>.json).
import { z } from "zod";
import type { Dialect, Route } from "./route.js";

/** The dialect's named schemas: each becomes components/schemas/<name>, and routes refer to it. */
interface Components {
  registry: z.core.$ZodRegistry<{ id: string }>;
  /** Filled as routes are rendered: the named schemas they use. */
  schemas: Record<string, unknown>;
}

function components(dialect: Dialect): Components {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(dialect.components ?? {})) registry.add(schema, { id });
  return { registry, schemas: {} };
}

/**
 * JSON Schema 2020-12 (OpenAPI 3.1's own dialect) without the $schema marker. Named schemas
 * (zod puts them under $defs) move to the document's components and are referred to there.
 */
function jsonSchema(schema: z.ZodType, io: "input" | "output", named?: Components): Record<string, unknown> {
  const generated = z.toJSONSchema(schema, { io, unrepresentable: "any", ...(named ? { metadata: named.registry } : {}) });
  const { $schema: _, $defs, ...rest } = JSON.parse(JSON.stringify(generated).replaceAll('"#/$defs/', '"#/components/schemas/')) as Record<string, unknown>;
  if (named && $defs) Object.assign(named.schemas, $defs);
  return rest;
}

const ERROR_STATUSES: Record<number, string> = {
  400: "Malformed request: a body that is not a JSON object, or a query parameter the platform documents a 400 for (Vorel's stale_for_days)",
  401: "Missing, invalid, revoked or expired token",
  403: "The token lacks a required scope (named in the body)",
  404: "Unknown path, or a resource that does not exist or belongs to another tenant",
  405: "The path exists, but not for this method (the Allow header lists those it has)",
  409: "Conflicts with an existing resource",
  413: "Request body too large",
  422: "Validation failed; the body maps each field to its messages",
  429: "Rate limit exceeded: Retry-After says in how many seconds to retry (README \"Rate limits\")",
  500: "Unexpected error",
};

/**
 * A caller without a token is answered in the dialect's Error shape where only this dialect
 * serves the path, and in AnonymousError's where several dialects share it.
 */
const ANONYMOUS_STATUSES = new Set([401, 429]);
const eitherError = { anyOf: [{ $ref: "#/components/schemas/Error" }, { $ref: "#/components/schemas/AnonymousError" }] };
const AnonymousError = z
  .object({ error: z.object({ code: z.string().describe("UNAUTHENTICATED or RATE_LIMITED"), message: z.string() }) })
  .describe("The answer to a request without a valid token on a path more than one dialect serves");

function operation(route: Route, named: Components) {
  const parameters = [
    ...Object.entries(route.params?.shape ?? {}).map(([name, schema]) => ({
      name,
      in: "path",
      required: true,
      schema: jsonSchema(schema as z.ZodType, "input"),
    })),
    ...Object.entries(route.query?.shape ?? {}).map(([name, schema]) => ({
      name,
      in: "query",
      required: !(schema as z.ZodType).safeParse(undefined).success,
      schema: jsonSchema(schema as z.ZodType, "input"),
    })),
  ];
  const success = route.status ?? 200;
  return {
    operationId: route.operation,
    summary: route.summary,
    security: [{ bearerAuth: route.scopes }],
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(route.body ? { requestBody: { required: true, content: { "application/json": { schema: jsonSchema(route.body, "input") } } } } : {}),
    responses: {
      [success]: { description: "Success", content: { "application/json": { schema: jsonSchema(route.response, "output", named) } } },
      ...Object.fromEntries(
        Object.entries(ERROR_STATUSES).map(([status, description]) => [
          status,
          { description, content: { "application/json": { schema: ANONYMOUS_STATUSES.has(Number(status)) ? eitherError : { $ref: "#/components/schemas/Error" } } } },
        ]),
      ),
    },
  };
}

export function openApiDocument(dialect: Dialect) {
  const named = components(dialect);
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of dialect.routes) {
    const path = route.path.replace(/:(\w+)/g, "{$1}");
    (paths[path] ??= {})[route.method.toLowerCase()] = operation(route, named);
  }
  return {
    openapi: "3.1.0",
    info: {
      title: dialect.title,
      version: "1.0.0",
      description: `Served by Engagement Graph for ${dialect.formats.join(" and ")} tokens; generated from its route table.`,
    },
    servers: dialect.basePaths.map((url) => ({ url: url || "/" })),
    components: {
      securitySchemes: { bearerAuth: { type: "http", scheme: "bearer" } },
      schemas: { ...named.schemas, Error: jsonSchema(dialect.errorSchema, "output"), AnonymousError: jsonSchema(AnonymousError, "output") },
    },
    paths,
  };
}
