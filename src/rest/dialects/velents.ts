// Velents Support Center API (Laravel): tokens `AppName_<tenantId>_PersonalAccessToken_<secret>`,
// paths at the root (/Company/...), snake_case, successes wrapped in `{ "data": ... }`, lists
// as `{ data, meta, links }` (paginated below), Laravel error bodies: `{ "message" }`, and for
// 422 `{ "message": "The given data was invalid.", "errors": { field: [messages] } }`.
// Abilities map onto canonical scopes in src/auth/scopes.ts; canonical names are accepted too:
//   Tickets-Show (documented)    tickets:read         GET /Company/Support/Tickets[/{public_id}]
//   Tickets-History (documented) conversations:read   GET /Company/Conversation/{Conversation}/history
//   Tickets-Create (ours)        tickets:write        POST /Company/Support/Tickets
//   Tickets-Send (ours)          conversations:write  POST /Company/Conversation/{Conversation}/Send
//
// This dialect speaks for VELENTS_SUPPORT tokens only. Velents Agent.sa tokens
// (VELENTS_AGENT) speak src/rest/dialects/velents-agent.ts, with these same error bodies.
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
// - Ids: `tkt_`, `cnv_`, `msg_` and the row uuid's 128 bits in Crockford base32 (26
//   characters, ULID-looking like the docs' `tkt_01HX…`; either case is read), derived both
//   ways (src/rest/mapping.ts publicIdOf), so no column stores them. A malformed id, an unknown
//   one and another tenant's get one and the same 404: `{ "message": "Ticket not found" }` or
//   `{ "message": "Conversation not found" }` (the docs' words for history).
// - A `cnv_` id addresses any conversation of the tenant, not only a ticket's: the history of a
//   WhatsApp conversation is as useful, and a reply can be pushed into it alike.
// - POST /Company/Support/Tickets: body `{ subject (required, 1-200), message? (the customer's
//   first message, 1-10000), priority? (low, normal, high, urgent; normal), identifier? (your
//   reference, <= 200), category? (<= 100), tags? (strings), customer_name?, customer_email? }`;
//   unknown fields are ignored. 201 with the ticket. Its conversation (channel type SUPPORT) and
//   first message are written in one transaction. Ability Tickets-Create (tickets:write alone:
//   the thread is the ticket's own).
// - Ticket shape: a list entry is `{ public_id, conversation_id, subject, status, priority,
//   identifier, created_at }`; Show and Create add the "extended fields" `assignee` ({ name }
//   of the conversation's assigned operator, or null), `category` ({ name } or null) and
//   `tags`. status: open, pending, resolved, closed; priority: low, normal, high, urgent.
// - GET /Company/Support/Tickets: newest first; `page`/`per_page` (15 by default, at most 100);
//   filters `status`, `priority`, `identifier`. Ability Tickets-Show.
// - POST …/{Conversation}/Send: body `{ body }` (1-10000, the field history uses) -> 201
//   `{ data: { id, author: { type: "customer", name }, body, created_at } }`: a customer reply
//   (role USER), not queued for delivery. The route reads the conversation's customer name for
//   the answer (it grants conversations:read to its operation for that).
// - GET …/{Conversation}/history: oldest first (same-time messages in stored order); USER is
//   the customer, ASSISTANT and OPERATOR are the agent (named by the AI agent's name, or the
//   conversation's assigned operator: messages do not record which operator wrote them; the
//   route grants agents:read to its operation for the agent's name only); SYSTEM notes are
//   left out. 100 messages a page: `meta: { total }` counts the messages shown (no SYSTEM) and
//   `links.next` is the next page's path (`?after=<msg_ id>`), null on the last.
// - 422 messages in Laravel's words: "The subject field is required." (absent, null or blank),
//   otherwise "The <field, underscores as spaces> field <rule>." (e.g. "must be one of: low,
//   normal, high, urgent").
import { formatPrismaCursor } from "@pothos/plugin-prisma";
import { z } from "zod";
import { DIALECT_SCOPES, SCOPES, type Scope } from "../../auth/scopes.js";
import { invalidField, notFoundFailure, type Dialect, type Failure, type GraphQLData, type Route } from "../route.js";
import { bareId, defined, globalIdOfPublicId, integerParam, nodes, pageOf, param, publicIdOf, PUBLIC_ID_PREFIX, vocabulary } from "../mapping.js";

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
  tenant_id: uuid.describe("The tenant id, as it appears inside the token"),
  tenant: z.object({ id: uuid, name: z.string(), slug: z.string(), plan: z.enum(["starter", "pro", "business"]) }),
  token: z.object({
    id: uuid,
    name: z.string(),
    abilities: z.array(z.string()).describe("Velents abilities the token holds, then canonical scopes no ability covers"),
    expires_at: timestamp.nullable(),
    last_used_at: timestamp.nullable(),
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

// ---------------------------------------------------------------------------------------
// Support tickets and conversation threads.
// ---------------------------------------------------------------------------------------

/** `tkt_01HX…` (26 Crockford base32 characters after the prefix), as the docs show ids. */
const publicId = (type: keyof typeof PUBLIC_ID_PREFIX) =>
  z
    .string()
    .regex(new RegExp(`^${PUBLIC_ID_PREFIX[type]}_[0-7][0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{25}$`))
    .describe(`${PUBLIC_ID_PREFIX[type]}_ and 26 Crockford base32 characters, e.g. ${PUBLIC_ID_PREFIX[type]}_01HXAMPLE…`);

/** The Laravel-style 404 a path id gets, whether it is malformed, unknown or another tenant's (each route's `notFound`). */
const NOT_FOUND = { Ticket: "Ticket not found", Conversation: "Conversation not found" } as const;
const missing = (what: keyof typeof NOT_FOUND) => notFoundFailure(NOT_FOUND[what]);

/** A path's public id as the global id GraphQL takes; one that cannot name a row is a 404. */
function pathPublicId(type: "Ticket" | "Conversation", value: string): string {
  const id = globalIdOfPublicId(type, value);
  if (!id) throw missing(type);
  return id;
}

const TICKET_STATUS = vocabulary({ OPEN: "open", PENDING: "pending", RESOLVED: "resolved", CLOSED: "closed" });
const TICKET_PRIORITY = vocabulary({ LOW: "low", NORMAL: "normal", HIGH: "high", URGENT: "urgent" });

const TicketEntry = z.object({
  public_id: publicId("Ticket"),
  conversation_id: publicId("Conversation").describe("For POST /Company/Conversation/{Conversation}/Send and GET …/history"),
  subject: z.string(),
  status: z.enum(TICKET_STATUS.words).describe("open: awaiting the team; pending: awaiting the customer; resolved; closed"),
  priority: z.enum(TICKET_PRIORITY.words),
  identifier: z.string().nullable().describe("Your own reference for the case, as given on create"),
  created_at: timestamp,
});
const Ticket = TicketEntry.extend({
  assignee: z.object({ name: z.string() }).nullable().describe("The operator handling the ticket"),
  category: z.object({ name: z.string() }).nullable(),
  tags: z.array(z.string()),
});

const ticketEntry = (row: GraphQLData) => ({
  public_id: publicIdOf("Ticket", row.id),
  conversation_id: publicIdOf("Conversation", row.conversationId),
  subject: row.subject,
  status: TICKET_STATUS.word(row.status),
  priority: TICKET_PRIORITY.word(row.priority),
  identifier: row.identifier,
  created_at: row.createdAt,
});
const ticket = (row: GraphQLData) => ({
  ...ticketEntry(row),
  assignee: row.assignee === null ? null : { name: row.assignee },
  category: row.category === null ? null : { name: row.category },
  tags: row.tags,
});

const HistoryEntry = z.object({
  id: publicId("Message"),
  author: z.object({
    type: z.enum(["customer", "agent"]),
    name: z.string().nullable().describe("customer: the customer's name; agent: the AI agent's name, or the assigned operator's for an operator's reply"),
  }),
  body: z.string(),
  created_at: timestamp,
});

/** Velents authors: the customer (USER), or the agent (the AI assistant, or an operator). SYSTEM notes are not shown. */
function historyEntry(message: GraphQLData, conversation: GraphQLData) {
  const customer = message.role === "USER";
  const name = customer ? conversation.customerName : message.role === "OPERATOR" ? conversation.assignedOperator : (conversation.agent?.name ?? null);
  return {
    id: publicIdOf("Message", message.id),
    author: { type: customer ? "customer" : "agent", name: name ?? null },
    body: message.content,
    created_at: message.createdAt,
  };
}

const HISTORY_PAGE = 100;
const TICKETS_PER_PAGE = 15;
const MAX_TICKETS_PER_PAGE = 100;

const conversationParam = z.object({ Conversation: publicId("Conversation") });

const routes: Route[] = [
  {
    method: "GET",
    path: "/Company/TenantAuth/me",
    operation: "VelentsMe",
    summary: "Confirm the token and capture the tenant id",
    scopes: [],
    response: z.object({ data: Me }),
    variables: () => ({}),
    result: me,
  },
  {
    method: "POST",
    path: "/Company/Support/Tickets",
    operation: "VelentsCreateTicket",
    summary: "Create a ticket (and its conversation) when a new case opens",
    scopes: ["Tickets-Create"],
    status: 201,
    body: z.object({
      subject: z.string().min(1).max(200),
      message: z.string().min(1).max(10_000).optional().describe("The customer's first message"),
      priority: z.enum(TICKET_PRIORITY.words).optional().describe("normal unless given"),
      identifier: z.string().max(200).optional().describe("Your own reference for the case (an order or CRM id)"),
      category: z.string().max(100).optional(),
      tags: z.array(z.string().min(1).max(50)).max(50).optional(),
      customer_name: z.string().max(200).optional(),
      customer_email: z.email().optional(),
    }),
    response: z.object({ data: Ticket }),
    variables: ({ body }) => {
      // GraphQL would take one string as a list of one; Laravel's `array` rule does not.
      if (body.tags != null && !Array.isArray(body.tags)) throw invalidField("tags", "must be an array");
      return defined({
        subject: body.subject,
        message: body.message,
        priority: TICKET_PRIORITY.canonical(body.priority),
        identifier: body.identifier,
        category: body.category,
        tags: body.tags,
        customerName: body.customer_name,
        customerEmail: body.customer_email,
      });
    },
    result: (data) => ({ data: ticket(data.createTicket) }),
    fields: {
      subject: "subject",
      message: "message",
      priority: "priority",
      identifier: "identifier",
      category: "category",
      tags: "tags",
      customerName: "customer_name",
      customerEmail: "customer_email",
      "input.subject": "subject",
      "input.message": "message",
      "input.priority": "priority",
      "input.identifier": "identifier",
      "input.category": "category",
      "input.tags": "tags",
      "input.customerName": "customer_name",
      "input.customerEmail": "customer_email",
    },
  },
  {
    method: "GET",
    path: "/Company/Support/Tickets",
    operation: "VelentsListTickets",
    summary: "List tickets, newest first",
    scopes: ["Tickets-Show"],
    query: z.object({
      page: integerParam(1, "From 1"),
      per_page: integerParam(1, `1 to ${MAX_TICKETS_PER_PAGE} (default ${TICKETS_PER_PAGE}; larger values are served as ${MAX_TICKETS_PER_PAGE})`),
      status: z.enum(TICKET_STATUS.words).optional(),
      priority: z.enum(TICKET_PRIORITY.words).optional(),
      identifier: z.string().optional().describe("Only tickets with this reference of yours"),
    }),
    response: paginatedSchema(TicketEntry),
    variables: ({ query }) => {
      const { first, offset } = pageOf(query.get("page"), query.get("per_page"), TICKETS_PER_PAGE, MAX_TICKETS_PER_PAGE);
      return defined({
        first,
        offset,
        status: TICKET_STATUS.canonical(param(query.get("status"))),
        priority: TICKET_PRIORITY.canonical(param(query.get("priority"))),
        identifier: param(query.get("identifier")),
      });
    },
    result: (data, { query }) => {
      const { page, perPage } = pageOf(query.get("page"), query.get("per_page"), TICKETS_PER_PAGE, MAX_TICKETS_PER_PAGE);
      return paginated(nodes(data.tickets).map(ticketEntry), {
        page: Number(page),
        perPage: Number(perPage),
        total: data.tickets.totalCount,
        path: "/Company/Support/Tickets",
        query,
      });
    },
    fields: { first: "per_page", offset: "page", status: "status", priority: "priority", identifier: "identifier" },
  },
  {
    method: "GET",
    path: "/Company/Support/Tickets/:public_id",
    operation: "VelentsShowTicket",
    summary: "Show a ticket: a list entry plus its assignee, category and tags",
    scopes: ["Tickets-Show"],
    params: z.object({ public_id: publicId("Ticket") }),
    notFound: NOT_FOUND.Ticket,
    response: z.object({ data: Ticket }),
    variables: ({ params }) => ({ id: pathPublicId("Ticket", params.public_id!) }),
    result: (data) => {
      const [row] = nodes(data.tickets);
      if (!row) throw missing("Ticket");
      return { data: ticket(row) };
    },
    fields: { id: "public_id", ids: "public_id" },
  },
  {
    method: "POST",
    path: "/Company/Conversation/:Conversation/Send",
    operation: "VelentsSendMessage",
    summary: "Push a customer reply into a conversation",
    scopes: ["Tickets-Send"],
    // The reply's author is the conversation's customer: its name is read for the answer.
    grants: ["conversations:read"],
    status: 201,
    params: conversationParam,
    notFound: NOT_FOUND.Conversation,
    body: z.object({ body: z.string().min(1).max(10_000).describe("The customer's message") }),
    response: z.object({ data: HistoryEntry }),
    variables: ({ params, body }) => defined({ conversationId: pathPublicId("Conversation", params.Conversation!), body: body.body }),
    result: (data) => ({ data: historyEntry(data.addMessage, data.addMessage.conversation) }),
    fields: { conversationId: "Conversation", "input.conversationId": "Conversation", body: "body", "input.content": "body" },
  },
  {
    method: "GET",
    path: "/Company/Conversation/:Conversation/history",
    operation: "VelentsConversationHistory",
    summary: "A conversation's messages, oldest first (SYSTEM notes left out)",
    scopes: ["Tickets-History"],
    // Agent replies are signed with the agent's name: the operation reads that name only.
    grants: ["agents:read"],
    params: conversationParam,
    notFound: NOT_FOUND.Conversation,
    query: z.object({ after: publicId("Message").optional().describe("links.next carries it: the last message of the previous page") }),
    response: z.object({
      data: z.array(HistoryEntry),
      meta: z.object({ total: z.number().int().describe("Messages in the history, SYSTEM notes left out as in `data`") }),
      links: z.object({ next: z.string().nullable().describe(`The next ${HISTORY_PAGE} messages; null on the last page`) }),
    }),
    variables: ({ params, query }) => {
      const id = pathPublicId("Conversation", params.Conversation!);
      const after = param(query.get("after"));
      if (after === undefined) return { id };
      const message = globalIdOfPublicId("Message", after);
      if (!message) throw invalidField("after", "must be a message id from links.next");
      return { id, after: formatPrismaCursor({ id: bareId(message)! }, "id") };
    },
    result: (data, { params }) => {
      const conversation = data.conversation;
      if (!conversation) throw missing("Conversation");
      // SYSTEM notes are not asked for (the operation names the roles shown), so totals and pages agree.
      const messages = nodes(conversation.messages);
      const last = messages[messages.length - 1];
      const next = conversation.messages.pageInfo.hasNextPage && last ? `/Company/Conversation/${params.Conversation}/history?after=${publicIdOf("Message", last.id)}` : null;
      return { data: messages.map((message) => historyEntry(message, conversation)), meta: { total: conversation.messages.totalCount }, links: { next } };
    },
    fields: { id: "Conversation", after: "after" },
  },
];

// ---------------------------------------------------------------------------------------
// Errors, as Laravel renders them.
// ---------------------------------------------------------------------------------------

export const ErrorBody = z.object({
  message: z.string(),
  ability: z.string().optional().describe("403: the missing ability"),
  errors: z.record(z.string(), z.array(z.string())).optional().describe("422: messages per field"),
});

/**
 * A validation message as Laravel words it: "The subject field is required.", "The customer
 * email field must be a valid email address." (an empty value fails `required` there too).
 */
function laravelMessage(field: string, message: string): string {
  const attribute = field.replace(/_/g, " ");
  if (/^(is required|must not be null|must not be empty)$/.test(message)) return `The ${attribute} field is required.`;
  return `The ${attribute} field ${message.replace(/\.$/, "")}.`;
}

export function error(failure: Failure) {
  if (failure.status === 401) return { message: "Unauthenticated." };
  if (failure.status === 403 && failure.scope) return { message: `This token lacks the ${failure.scope} ability.`, ability: failure.scope };
  if (failure.status === 422) {
    const errors = Object.fromEntries(Object.entries(failure.fields ?? {}).map(([field, messages]) => [field, messages.map((message) => laravelMessage(field, message))]));
    return { message: "The given data was invalid.", errors };
  }
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
  components: { Me, TicketEntry, Ticket, HistoryEntry },
  // 422s list ticket statuses and priorities as they are written here, in their own order.
  enumValues: { TicketStatus: TICKET_STATUS.words.join(", "), TicketPriority: TICKET_PRIORITY.words.join(", ") },
  enumCase: "lower",
};
