// Velents Support Center API (Laravel): tokens `AppName_<tenantId>_PersonalAccessToken_<secret>`,
// paths at the root (/Company/...), snake_case, successes wrapped in `{ "data": ... }`, lists
// as `{ data, meta, links }` (paginated below), Laravel error bodies: `{ "message" }`, and for
// 422 `{ "message": "The given data was invalid.", "errors": { field: [messages] } }`.
// Abilities (tickets:read, tickets:write, conversations:read, conversations:write) map onto
// canonical scopes in src/auth/scopes.ts; canonical names are accepted too.
//
// This dialect speaks for VELENTS_SUPPORT tokens only. Velents Agent.sa tokens
// (VELENTS_AGENT) have no routes yet, so on REST paths they get a 404 saying so.
//
// Where the documentation is silent (README lists these):
// - GET /Company/TenantAuth/me answers `{ data: { tenant_id, tenant: { id, name, slug, plan },
//   token: { id, name, abilities, expires_at, last_used_at } } }`: ids are bare uuids (the
//   tenant id is the one inside the token), plan is lower case (starter, pro, business).
//   `abilities` lists each Velents ability whose canonical scopes the token holds in full,
//   then every canonical scope none of those abilities covers (leads:read, admin, ...).
//   It needs no ability.
// - 401 `{ "message": "Unauthenticated." }` (Laravel's own words); 403 `{ "message",
//   "ability" }` naming the missing ability; 404, 405, 409, 400 and 413 `{ "message" }`;
//   5xx `{ "message": "Server Error" }`.
// - Lists: `page` (from 1) and `per_page`; `links` are paths with their query string
//   (`/Company/Support/Tickets?page=2`), not absolute URLs, since the service does not know
//   the host its callers use; `from`/`to` are null on an empty page; `last_page` is at least 1.
import { z } from "zod";
import { DIALECT_SCOPES, SCOPES, type Scope } from "../../auth/scopes.js";
import type { Dialect, Failure, GraphQLData, Route } from "../route.js";
import { bareId } from "../mapping.js";

const timestamp = z.iso.datetime().describe("ISO 8601 date-time, UTC");
const uuid = z.guid();

// ---------------------------------------------------------------------------------------
// The list envelope, for the list routes (tickets, conversations) to come.
// ---------------------------------------------------------------------------------------

export interface PageOf {
  /** The page shown, from 1. */
  page: number;
  perPage: number;
  /** Rows across all pages. */
  total: number;
  /** The route's path as requested, for `links`, e.g. "/Company/Support/Tickets". */
  path: string;
  /** The request's query string; `page` is replaced in each link, the rest is kept. */
  query?: URLSearchParams;
}

/** Laravel's paginated resource collection: `{ data, meta, links }`. */
export function paginated<T>(items: T[], { page, perPage, total, path, query }: PageOf) {
  const lastPage = Math.max(1, Math.ceil(total / perPage));
  const from = items.length > 0 ? (page - 1) * perPage + 1 : null;
  const link = (target: number) => {
    const search = new URLSearchParams(query);
    search.set("page", String(target));
    return `${path}?${search}`;
  };
  return {
    data: items,
    meta: { current_page: page, per_page: perPage, total, last_page: lastPage, from, to: from === null ? null : from + items.length - 1 },
    links: {
      first: link(1),
      last: link(lastPage),
      prev: page > 1 ? link(page - 1) : null,
      next: page < lastPage ? link(page + 1) : null,
    },
  };
}

/** The schema of `paginated(items)` for a route's `response`. */
export const paginatedSchema = <T extends z.ZodType>(item: T) =>
  z.object({
    data: z.array(item),
    meta: z.object({
      current_page: z.number().int(),
      per_page: z.number().int(),
      total: z.number().int(),
      last_page: z.number().int(),
      from: z.number().int().nullable(),
      to: z.number().int().nullable(),
    }),
    links: z.object({ first: z.string(), last: z.string(), prev: z.string().nullable(), next: z.string().nullable() }),
  });

// ---------------------------------------------------------------------------------------
// Abilities.
// ---------------------------------------------------------------------------------------

/** CONVERSATIONS_READ (the GraphQL Scope enum) is conversations:read. */
const SCOPE_OF_ENUM = new Map<string, Scope>(SCOPES.map((scope) => [scope.replace(":", "_").toUpperCase(), scope]));

/** Velents abilities fully held, then the canonical scopes none of them covers. */
export function abilitiesOf(scopes: readonly Scope[]): string[] {
  const held = new Set(scopes);
  const abilities = Object.entries(DIALECT_SCOPES.VELENTS_SUPPORT).filter(([, granted]) => granted.every((scope) => held.has(scope)));
  const covered = new Set(abilities.flatMap(([, granted]) => granted));
  return [...abilities.map(([name]) => name), ...scopes.filter((scope) => !covered.has(scope))];
}

// ---------------------------------------------------------------------------------------
// Routes.
// ---------------------------------------------------------------------------------------

const Me = z.object({
  data: z.object({
    tenant_id: uuid.describe("The tenant id, as it appears inside the token"),
    tenant: z.object({ id: uuid, name: z.string(), slug: z.string(), plan: z.enum(["starter", "pro", "business"]) }),
    token: z.object({
      id: uuid,
      name: z.string(),
      abilities: z.array(z.string()).describe("Velents abilities the token holds, then canonical scopes no ability covers"),
      expires_at: timestamp.nullable(),
      last_used_at: timestamp.nullable(),
    }),
  }),
});

const me = ({ viewer }: GraphQLData) => {
  const scopes = (viewer.scopes as string[]).map((name) => SCOPE_OF_ENUM.get(name)).filter((scope) => scope !== undefined);
  return {
    data: {
      tenant_id: bareId(viewer.tenant.id),
      tenant: { id: bareId(viewer.tenant.id), name: viewer.tenant.name, slug: viewer.tenant.slug, plan: String(viewer.tenant.plan).toLowerCase() },
      token: {
        id: bareId(viewer.token.id),
        name: viewer.token.name,
        abilities: abilitiesOf(SCOPES.filter((scope) => scopes.includes(scope))),
        expires_at: viewer.token.expiresAt,
        last_used_at: viewer.token.lastUsedAt,
      },
    },
  };
};

const routes: Route[] = [
  {
    method: "GET",
    path: "/Company/TenantAuth/me",
    operation: "VelentsMe",
    summary: "Confirm the token and capture the tenant id",
    scopes: [],
    response: Me,
    variables: () => ({}),
    result: me,
  },
];

// ---------------------------------------------------------------------------------------
// Errors, as Laravel renders them.
// ---------------------------------------------------------------------------------------

const ErrorBody = z.object({
  message: z.string(),
  ability: z.string().optional().describe("403: the missing ability"),
  errors: z.record(z.string(), z.array(z.string())).optional().describe("422: messages per field"),
});

function error(failure: Failure) {
  if (failure.status === 401) return { message: "Unauthenticated." };
  if (failure.status === 403 && failure.scope) return { message: `This token lacks the ${failure.scope} ability.`, ability: failure.scope };
  if (failure.status === 422) return { message: "The given data was invalid.", errors: failure.fields ?? {} };
  if (failure.status >= 500) return { message: "Server Error" };
  return { message: failure.message };
}

export const velents: Dialect = {
  name: "velents",
  title: "Velents Support Center API",
  formats: ["VELENTS_SUPPORT"],
  basePaths: [""],
  routes,
  errorSchema: ErrorBody,
  error,
};
