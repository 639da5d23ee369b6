// Vorel Public API v1 (docs.vorel.ai): snake_case JSON, bare uuids, `vapk_live_` keys whose
// scope names (read, leads:write, appointments:write) map onto canonical scopes in
// src/auth/scopes.ts; canonical names are accepted too, and creating a conversation needs the
// canonical conversations:write (Vorel documents no scope for it).
//
// Every rule is the schema's: this file renames fields, translates channel slugs and status
// case, and turns bare uuids into global ids; GraphQL validates, checks scopes and tenancy.
//
// Where the documentation is silent (README lists these):
// - Error envelope: `{ "error": { "code", "message", "scope"?, "fields"? } }`. `code` is
//   lower snake case (unauthenticated, forbidden, not_found, conflict, validation_error,
//   malformed_body, method_not_allowed, payload_too_large, internal_error); `scope` (403) is
//   the missing scope in Vorel's name; `fields` (422) maps each snake_case body field to its
//   messages. A request without a token gets this body where only Vorel serves the path
//   (POST /conversations), the service's generic one where Convo shares it (POST /leads).
// - POST /conversations: unknown body fields are ignored. A channel other than the five
//   documented slugs (exact, lower case) is refused with 422 on `channel`, including
//   upper-case spellings such as "WHATSAPP" or "TELEGRAM". Timestamps carry milliseconds.
//   Status: OPEN -> "active", HANDED_OFF -> "awaiting_human" (the word Vorel's handoff
//   endpoint answers with), CLOSED -> "closed".
// - GET /conversations: cursor pages as Vorel documents them (`limit` 1-100, default 25;
//   `cursor` = the previous page's `next_cursor`, which is the id of its last row; newest
//   first); GET /conversations/{id}: the header only. PATCH /conversations/{id}: only
//   customer_name and customer_language, at least one, null clears; channel,
//   customer_identifier and status are refused with 422 ("cannot be changed"), other unknown
//   fields ignored as on create.
// - POST /conversations/{id}/send: `text` 1-4096 and `language` (ar, en, mixed: checked, not
//   stored) -> 201 { message_id, sequence_number, sent_at, mocked }. The message is stored as
//   the agent's (role ASSISTANT, Vorel's agent_bot), QUEUED for the channel's worker; `mocked`
//   is always true, since this service talks to no messaging provider itself. The scope is
//   conversations:write (Vorel names it on its intro page; the endpoint page names none).
// - POST /leads: body `{ conversation_id (required), name?, email?, phone?, fields?, source?,
//   score? (0-100) }`; name, email and phone are stored in the lead's captured `fields`
//   (overriding keys of the same name in `fields`). Answers 201 with the lead, status in
//   lower case ("new"). An unknown conversation_id, or another tenant's, answers 404 (the
//   docs require "an existing conversation_id"; a uuid naming nothing is a missing resource,
//   as GraphQL reports it); a conversation_id that is not a uuid answers 422.
// - 405 with an Allow header for a known path with another method; 404 for unknown paths.
import { z } from "zod";
import { invalidField, RestFailure, type Dialect, type Failure, type GraphQLData, type Route } from "../route.js";
import { formatPrismaCursor } from "@pothos/plugin-prisma";
import { globalIdOf } from "../../graphql/ids.js";
import { bareId, bodyId, intParamAtLeast, nodes, param, pathId } from "../mapping.js";

const timestamp = z.iso.datetime().describe("ISO 8601 date-time, UTC");
const uuid = z.guid();

/** Vorel's channel slugs and the GraphQL ChannelType each one is. */
const CHANNELS = new Map([
  ["whatsapp", "WHATSAPP"],
  ["voice", "VOICE"],
  ["webform", "WEBFORM"],
  ["instagram", "INSTAGRAM"],
  ["email", "EMAIL"],
]);
const CHANNEL_SLUGS = [...CHANNELS.keys()] as [string, ...string[]];

/**
 * A documented slug as its GraphQL enum value. Any other string goes on in lower case, which
 * no GraphQL enum value is, so the schema refuses it (and an upper-case GraphQL name such as
 * "TELEGRAM" cannot slip through); a non-string goes on unchanged and is refused as well.
 */
const channelType = (value: unknown) => (typeof value === "string" ? (CHANNELS.get(value) ?? value.toLowerCase()) : value);

/** Vorel's words for conversation status: its handoff endpoint answers "awaiting_human". */
const STATUS = { OPEN: "active", HANDED_OFF: "awaiting_human", CLOSED: "closed" } as const;

/** The request's variables without the ones it did not send, so GraphQL reports those as not provided. */
const defined = (variables: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(variables).filter(([, value]) => value !== undefined));

const Conversation = z.object({
  id: uuid,
  channel: z.string().describe("Inbound channel slug — e.g. whatsapp, voice, webform."),
  customer_identifier: z.string(),
  status: z.enum(["active", "awaiting_human", "closed"]).describe("Conversation lifecycle state"),
  created_at: timestamp,
  customer_name: z.string().nullable(),
  customer_language: z.string().nullable(),
  first_message_at: timestamp.nullable(),
  last_message_at: timestamp.nullable(),
});

const conversation = (row: GraphQLData) => ({
  id: bareId(row.id),
  channel: String(row.channelType).toLowerCase(),
  customer_identifier: row.customerIdentifier,
  status: STATUS[row.status as keyof typeof STATUS],
  created_at: row.createdAt,
  customer_name: row.customerName,
  customer_language: row.customerLanguage,
  first_message_at: row.firstMessageAt,
  last_message_at: row.lastMessageAt,
});

const Lead = z.object({
  id: uuid,
  conversation_id: uuid,
  status: z.enum(["new", "qualified", "contacted", "won", "lost"]),
  name: z.string().nullable(),
  email: z.string().nullable(),
  phone: z.string().nullable(),
  fields: z.record(z.string(), z.unknown()).describe("Every captured field, name, email and phone included"),
  source: z.string().nullable(),
  score: z.number().int().nullable(),
  created_at: timestamp,
  updated_at: timestamp,
});

const text = (value: unknown) => (typeof value === "string" ? value : null);
const lead = (row: GraphQLData) => ({
  id: bareId(row.id),
  conversation_id: bareId(row.conversationId),
  status: String(row.status).toLowerCase(),
  name: text(row.fields.name),
  email: text(row.fields.email),
  phone: text(row.fields.phone),
  fields: row.fields,
  source: row.source,
  score: row.score,
  created_at: row.createdAt,
  updated_at: row.updatedAt,
});

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** name, email and phone join the captured fields; a `fields` that is not an object goes on to be refused. */
function leadFields(body: Record<string, unknown>): unknown {
  const named = defined({ name: body.name, email: body.email, phone: body.phone });
  if (body.fields !== undefined && body.fields !== null && !isPlainObject(body.fields)) return body.fields;
  if (body.fields == null && Object.keys(named).length === 0) return body.fields;
  return { ...(body.fields as Record<string, unknown> | null | undefined), ...named };
}

const idParam = z.object({ id: uuid });

/** Vorel's cursor pages: `limit` 1-100 (default 25) and `cursor`, the id of the previous page's last row. */
const LIST_QUERY = z.object({
  limit: z.string().regex(/^\d+$/).optional().describe("Page size, 1 to 100 (default 25; larger values are served as 100)"),
  cursor: uuid.optional().describe("next_cursor of the previous page; omit for the first page"),
});
const DEFAULT_LIMIT = 25;
const MAX_LIMIT = 100;

function pageVariables(query: URLSearchParams) {
  const limit = intParamAtLeast("limit", query.get("limit"), 1) ?? DEFAULT_LIMIT;
  const cursor = param(query.get("cursor"));
  if (cursor !== undefined && !globalIdOf("Conversation", cursor)) {
    throw invalidField("cursor", "must be a next_cursor from a previous page");
  }
  return { first: typeof limit === "number" ? Math.min(limit, MAX_LIMIT) : limit, after: cursor === undefined ? undefined : formatPrismaCursor({ id: cursor }, "id") };
}

const cursorPage = <T extends z.ZodType>(item: T) =>
  z.object({ data: z.array(item), next_cursor: uuid.nullable().describe("Pass as `cursor` for the next page; null on the last"), has_more: z.boolean() });

function page(connection: GraphQLData, shape: (row: GraphQLData) => Record<string, unknown>) {
  const rows = nodes(connection).map(shape);
  const hasMore = Boolean(connection.pageInfo.hasNextPage);
  return { data: rows, next_cursor: hasMore ? (rows[rows.length - 1]?.id ?? null) : null, has_more: hasMore };
}

/** Vorel's `language` for an outbound message. */
const MESSAGE_LANGUAGES = ["ar", "en", "mixed"] as const;
const MAX_TEXT = 4_096;

const routes: Route[] = [
  {
    method: "POST",
    path: "/conversations",
    operation: "VorelCreateConversation",
    summary: "Create a conversation (strict: 409 if one exists for this channel and customer identifier)",
    scopes: ["conversations:write"],
    status: 201,
    body: z.object({
      channel: z.enum(CHANNEL_SLUGS).describe("Inbound channel slug. whatsapp / voice / webform are live; instagram / email are reserved."),
      customer_identifier: z.string().min(1).max(255).describe("Channel-native identifier — phone for WhatsApp/voice, email for webform, etc."),
      customer_name: z.string().max(200).nullable().optional(),
      customer_language: z
        .string()
        .regex(/^[a-z]{2}(-[A-Z]{2})?$/)
        .nullable()
        .optional()
        .describe("ISO 639-1 (en, ar) or BCP 47 short tag (en-US)"),
    }),
    response: Conversation,
    variables: ({ body }) =>
      defined({
        channel: channelType(body.channel),
        customerIdentifier: body.customer_identifier,
        customerName: body.customer_name,
        customerLanguage: body.customer_language,
      }),
    result: (data) => conversation(data.createConversation),
    fields: {
      channel: "channel",
      customerIdentifier: "customer_identifier",
      customerName: "customer_name",
      customerLanguage: "customer_language",
      "input.channelType": "channel",
      "input.customerIdentifier": "customer_identifier",
      "input.customerName": "customer_name",
      "input.customerLanguage": "customer_language",
    },
  },
  {
    method: "POST",
    path: "/leads",
    operation: "VorelCreateLead",
    summary: "Create a lead on an existing conversation",
    scopes: ["leads:write"],
    status: 201,
    body: z.object({
      conversation_id: uuid.describe("An existing conversation of this tenant (POST /conversations creates one)"),
      name: z.string().optional(),
      email: z.string().optional(),
      phone: z.string().optional(),
      fields: z.record(z.string(), z.unknown()).optional().describe("Other captured fields"),
      source: z.string().max(200).optional(),
      score: z.number().int().min(0).max(100).optional(),
    }),
    response: Lead,
    variables: ({ body }) =>
      defined({
        conversationId: bodyId("Conversation", body.conversation_id),
        fields: leadFields(body),
        source: body.source,
        score: body.score,
      }),
    result: (data) => lead(data.createLead),
    fields: {
      conversationId: "conversation_id",
      fields: "fields",
      source: "source",
      score: "score",
      "input.conversationId": "conversation_id",
      "input.fields": "fields",
      "input.source": "source",
      "input.score": "score",
    },
  },
  {
    method: "GET",
    path: "/conversations",
    operation: "VorelListConversations",
    summary: "List conversations, newest first (cursor pages)",
    scopes: ["conversations:read"],
    query: LIST_QUERY,
    response: cursorPage(Conversation),
    variables: ({ query }) => defined(pageVariables(query)),
    result: (data) => page(data.conversations, conversation),
    fields: { first: "limit", after: "cursor" },
  },
  {
    method: "GET",
    path: "/conversations/:id",
    operation: "VorelGetConversation",
    summary: "Get a conversation (its header; no transcript)",
    scopes: ["conversations:read"],
    params: idParam,
    response: Conversation,
    variables: ({ params }) => ({ id: pathId("Conversation", params.id!) }),
    result: (data) => conversation(data.conversation),
    fields: { id: "id" },
  },
  {
    method: "PATCH",
    path: "/conversations/:id",
    operation: "VorelUpdateConversation",
    summary: "Update a conversation's customer_name or customer_language (at least one; null clears)",
    scopes: ["conversations:write"],
    params: idParam,
    body: z.object({
      customer_name: z.string().max(200).nullable().optional(),
      customer_language: z
        .string()
        .regex(/^[a-z]{2}(-[A-Z]{2})?$/)
        .nullable()
        .optional(),
    }),
    response: Conversation,
    variables: ({ params, body }) => {
      const fixed = ["channel", "customer_identifier", "status"].filter((field) => field in body);
      if (fixed.length > 0) {
        const fields = Object.fromEntries(fixed.map((field) => [field, ["cannot be changed: only customer_name and customer_language can"]]));
        throw new RestFailure({ status: 422, code: "BAD_USER_INPUT", message: `${fixed[0]}: cannot be changed`, fields });
      }
      return defined({ id: pathId("Conversation", params.id!), customerName: body.customer_name, customerLanguage: body.customer_language });
    },
    result: (data) => conversation(data.updateConversation),
    fields: {
      id: "id",
      input: "body",
      customerName: "customer_name",
      customerLanguage: "customer_language",
      "input.customerName": "customer_name",
      "input.customerLanguage": "customer_language",
    },
  },
  {
    method: "POST",
    path: "/conversations/:id/send",
    operation: "VorelSendMessage",
    summary: "Send an outbound message, verbatim, as the agent (stored, then queued for the channel's worker)",
    scopes: ["conversations:write"],
    status: 201,
    params: idParam,
    body: z.object({
      text: z.string().min(1).max(MAX_TEXT),
      language: z.enum(MESSAGE_LANGUAGES).optional().describe("Accepted and checked; the message is stored as written, whatever its language"),
    }),
    response: z.object({
      message_id: uuid,
      sequence_number: z.number().int().min(1),
      sent_at: timestamp.describe("When the message was stored and queued"),
      mocked: z.boolean().describe("Always true here: this service queues the message for a channel worker and talks to no provider itself"),
    }),
    variables: ({ params, body }) => {
      if (typeof body.text === "string" && body.text.length > MAX_TEXT) {
        throw invalidField("text", `must be at most ${MAX_TEXT} characters`);
      }
      if (body.language !== undefined && !MESSAGE_LANGUAGES.includes(body.language as (typeof MESSAGE_LANGUAGES)[number])) {
        throw invalidField("language", `must be one of: ${MESSAGE_LANGUAGES.join(", ")}`);
      }
      return defined({ conversationId: pathId("Conversation", params.id!), content: body.text });
    },
    result: (data) => ({
      message_id: bareId(data.sendMessage.id),
      sequence_number: data.sendMessage.sequence,
      sent_at: data.sendMessage.createdAt,
      mocked: true,
    }),
    fields: { conversationId: "id", content: "text", "input.content": "text" },
  },
];


const CODES: Record<string, string> = {
  UNAUTHENTICATED: "unauthenticated",
  FORBIDDEN: "forbidden",
  NOT_FOUND: "not_found",
  CONFLICT: "conflict",
  BAD_USER_INPUT: "validation_error",
  MALFORMED_BODY: "malformed_body",
  METHOD_NOT_ALLOWED: "method_not_allowed",
  PAYLOAD_TOO_LARGE: "payload_too_large",
  QUERY_TOO_COMPLEX: "bad_request",
};

const ErrorBody = z.object({
  error: z.object({
    code: z.string().describe("unauthenticated, forbidden, not_found, conflict, validation_error, malformed_body, …"),
    message: z.string(),
    scope: z.string().optional().describe("403: the missing scope, in Vorel's name"),
    fields: z.record(z.string(), z.array(z.string())).optional().describe("422: messages per body field"),
  }),
});

function error(failure: Failure) {
  return {
    error: {
      code: CODES[failure.code] ?? (failure.status >= 500 ? "internal_error" : failure.code.toLowerCase()),
      message: failure.message,
      ...(failure.scope ? { scope: failure.scope } : {}),
      ...(failure.fields ? { fields: failure.fields } : {}),
    },
  };
}

export const vorel: Dialect = {
  name: "vorel",
  title: "Vorel Public API v1",
  formats: ["VOREL"],
  basePaths: ["/api/v1"],
  routes,
  errorSchema: ErrorBody,
  error,
  enumValues: { ChannelType: CHANNEL_SLUGS.join(", ") },
};
