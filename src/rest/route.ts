// What a REST route and a dialect are. A route is a declarative entry: method and path, the
// GraphQL operation it runs (a named operation in schema/rest/<dialect>.graphql), how the
// request maps to variables, how the result is shaped, and the schemas that document it
// (OpenAPI is generated from them). Auth, scopes, tenancy and validation are the schema's.
import type { z } from "zod";
import type { Scope } from "../auth/scopes.js";
import type { TokenFormat } from "../generated/prisma/enums.js";

export type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

export interface RestRequest {
  params: Record<string, string>;
  query: URLSearchParams;
  /** The parsed JSON body: always an object for methods with a body, {} otherwise. */
  body: Record<string, unknown>;
}

/**
 * `any` on purpose: GraphQL results are JSON whose shape the operation document fixes, and
 * the tests check every route's output against its `response` schema, which is where the
 * shape is enforced.
 */
export type GraphQLData = Record<string, any>;

export interface Route {
  method: Method;
  /** Relative to the dialect's base paths, with :params, e.g. "/contacts/:id". */
  path: string;
  /** The named operation in schema/rest/<dialect>.graphql. */
  operation: string;
  summary: string;
  /** The dialect's scope names this route needs, for the docs (the schema enforces them). */
  scopes: string[];
  /**
   * Canonical scopes the route's operation runs with on top of the token's, where the
   * platform documents the path as needing none (Convo's GET /channels).
   */
  grants?: Scope[];
  /** Success status; 200 unless given. */
  status?: number;
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  response: z.ZodType;
  variables(request: RestRequest): Record<string, unknown>;
  result(data: GraphQLData, request: RestRequest): unknown;
  /**
   * The message of the one 404 every unknown, malformed or other tenant's id in the path
   * gets ("Not found" unless given; Velents documents "Conversation not found").
   */
  notFound?: string;
  /**
   * GraphQL argument paths (as errors name them, e.g. "input.customerIdentifier") to the
   * request's own field names, for 422 bodies. A path parameter named here answers 404.
   */
  fields?: Record<string, string>;
}

/** A refusal, before or after GraphQL ran, that the dialect renders in its own error shape. */
export interface Failure {
  status: number;
  /** A GraphQL-style code: UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, CONFLICT, BAD_USER_INPUT, ... */
  code: string;
  message: string;
  /** The missing scope, in the dialect's own name (403). */
  scope?: string;
  /** Field name -> messages (422). */
  fields?: Record<string, string[]>;
}

export interface Dialect {
  name: string;
  title: string;
  /** Token formats that speak this dialect. */
  formats: TokenFormat[];
  /** Where its paths live; the first is the documented one. */
  basePaths: string[];
  routes: Route[];
  error(failure: Failure): unknown;
  errorSchema: z.ZodType;
  /** Response schemas the OpenAPI document names (components/schemas/<name>) and its routes refer to. */
  components?: Record<string, z.ZodType>;
  /** How 422 messages list a GraphQL enum's values in this dialect, e.g. { ChannelType: "whatsapp, voice" }. */
  enumValues?: Record<string, string>;
  /** Otherwise the schema's values are listed, in lower case where the dialect writes them so (default: as the schema does). */
  enumCase?: "lower";
}

/** Thrown by a route's mappers (an id that cannot name a row, say); rendered like any failure. */
export class RestFailure extends Error {
  constructor(readonly failure: Failure) {
    super(failure.message);
  }
}

/** A 422 about one request field, checked by the route itself (a rule the schema does not hold). */
export const invalidField = (field: string, message: string): RestFailure =>
  new RestFailure({ status: 422, code: "BAD_USER_INPUT", message: `${field}: ${message}`, fields: { [field]: [message] } });

/**
 * Every 404 for an id in a path says just "Not found": an unknown, malformed or other
 * tenant's id must get one and the same body, however the schema worded it.
 */
export const notFoundFailure = (message = "Not found"): RestFailure => new RestFailure({ status: 404, code: "NOT_FOUND", message });
