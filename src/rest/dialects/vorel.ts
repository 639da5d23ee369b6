// Vorel Public API v1 (docs.vorel.ai): snake_case JSON, bare uuids, `vapk_live_` keys whose
// scope names (read, leads:write, appointments:write, offerings:write) map onto canonical scopes in
// src/auth/scopes.ts; canonical names are accepted too, and creating a conversation needs the
// canonical conversations:write (Vorel documents no scope for it). Each GET needs just the
// canonical read scope of what it reads (leads:read, bookings:read, conversations:read,
// offerings:read), which
// Vorel's `read` grants; a 403 names `read`, Vorel's narrowest name for it.
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
// - Leads: Vorel's lead object (attributes, intent, timeline, qualification_score). name,
//   email, phone, intent and timeline are keys of the lead's captured fields, and
//   `attributes` are the other keys, so Convo and GraphQL see one `fields` object. An
//   attribute named like one of those five is refused (422), not silently moved.
//   Status words: new, qualified, booked, converted (canonical WON), lost; a lead CONTACTED
//   through another API reads "qualified" (Vorel has no such stage).
// - POST /leads: strict, one lead per conversation (409 otherwise, safe under concurrent
//   creates: the conversation row is locked while its leads are counted). An unknown or
//   another tenant's conversation_id is 404 "conversation_id: Conversation not found"; one
//   that is not a uuid is 422.
// - GET /leads: cursor pages newest first. stale_for_days (1-365, else 400 bad_request):
//   leads reading "qualified" whose conversation's last message is older than N days, or
//   that have none.
// - PATCH /leads/{id}: at least one field; null clears a field; attributes shallow-merged, a
//   null value removes the key, `attributes: null` is refused; conversation_id and notes 422.
// - POST /leads/{id}/handoff: 201 { handoff_id, lead_id, conversation_id, conversation_status:
//   "awaiting_human", notified_channel: null }. null because this service sends no Slack or
//   email: the handoff is an audit row plus a HANDOFF_REQUESTED event for live subscribers
//   (and webhooks). A lead without a conversation (made through Convo) is a 409.
// - Appointments are the bookings table: customer_name/phone/email, location_text, and the
//   optional conversation_id, lead_id and offering_id (checked: a 404 names the bad one; a
//   deleted offering is not found). An appointment keeps its offering_id after that offering
//   is deleted. google_calendar_event_id is always null. Times need
//   an offset and are answered in UTC (the offset given is not kept). Default status
//   confirmed; a booking PENDING through Veleria reads "confirmed". PATCH: cancelled,
//   completed and no_show are final (409 on a status or time change); a time change is a
//   RESCHEDULED booking event; the status becomes "rescheduled" only when sent.
// - Offerings: `price` is a number in requests and a string with two decimals in answers
//   ("1250.00"): stored as an exact decimal, never a float. A price with more than two
//   decimal places, below 0 or from 10^12 up is a 422 (nothing is rounded). price_currency
//   defaults to AED, status to "active" (a free word, as Vorel documents it). photos are
//   http(s) URLs. POST and PATCH are strict: a field Vorel does not document is a 422;
//   assigned_user_id, deleted_at and metadata are refused by PATCH as "cannot be changed".
//   PATCH: null clears a nullable field; title, price, price_currency, status and photos
//   cannot be cleared; attributes are shallow-merged as a lead's. Deleting is GraphQL's
//   (deleteOffering, soft): a deleted offering is the same 404 as an unknown one and is left
//   out of GET /offerings. offering.created and offering.updated webhooks are sent (README:
//   Webhooks).
// - 405 with an Allow header for a known path with another method; 404 for unknown paths.
import { z } from "zod";
import { invalidField, RestFailure, type Dialect, type Failure, type GraphQLData, type Route } from "../route.js";
import { formatPrismaCursor } from "@pothos/plugin-prisma";
import { globalIdOf } from "../../graphql/ids.js";
import { bareId, bodyId, defined, integerParam, intParamAtLeast, nodes, param, pathId, vocabulary } from "../mapping.js";

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

/** Vorel's words for lead status: its pipeline has no "contacted", so a CONTACTED lead reads as qualified. */
const LEAD_STATUS = vocabulary({ NEW: "new", QUALIFIED: "qualified", CONTACTED: "qualified", BOOKED: "booked", WON: "converted", LOST: "lost" });

/** Lead fields Vorel names on their own; every other captured field is one of its `attributes`. */
const NAMED_FIELDS = {
  name: z.string().max(200),
  email: z.email().max(254),
  phone: z.string().max(32),
  intent: z.string().max(40),
  timeline: z.string().max(40),
};
type NamedField = keyof typeof NAMED_FIELDS;
const NAMED = Object.keys(NAMED_FIELDS) as NamedField[];
const MAX_SOURCE = 40;

const Lead = z.object({
  id: uuid,
  conversation_id: uuid.nullable().describe("Null only for a lead created without a conversation through another API"),
  attributes: z.record(z.string(), z.unknown()).describe("Vertical-specific captured fields (budget_min, preferred_stylist, ...)"),
  status: z.enum(LEAD_STATUS.words),
  name: z.string().nullable(),
  email: z.string().nullable(),
  phone: z.string().nullable(),
  intent: z.string().nullable(),
  timeline: z.string().nullable(),
  qualification_score: z.number().int().min(0).max(100).nullable(),
  source: z.string().nullable(),
  created_at: timestamp,
  updated_at: timestamp,
});

const text = (value: unknown) => (typeof value === "string" ? value : null);
const lead = (row: GraphQLData) => {
  const fields = row.fields as Record<string, unknown>;
  return {
    id: bareId(row.id),
    conversation_id: bareId(row.conversationId),
    attributes: Object.fromEntries(Object.entries(fields).filter(([key]) => !NAMED.includes(key as NamedField))),
    status: LEAD_STATUS.word(row.status),
    name: text(fields.name),
    email: text(fields.email),
    phone: text(fields.phone),
    intent: text(fields.intent),
    timeline: text(fields.timeline),
    qualification_score: row.score,
    source: row.source,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
  };
};

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * The lead body's named fields and attributes as one patch of captured fields (null removes a
 * key), checked as Vorel documents them: a 422 lists every field that is wrong.
 */
function leadFieldsPatch(body: Record<string, unknown>): Record<string, unknown> | undefined {
  const errors: Record<string, string[]> = {};
  const patch: Record<string, unknown> = {};
  for (const name of NAMED) {
    const value = body[name];
    if (value === undefined) continue;
    const checked = value === null ? { success: true as const } : NAMED_FIELDS[name].safeParse(value);
    if (checked.success) patch[name] = value;
    else errors[name] = [checked.error.issues[0]?.message ?? "is invalid"];
  }
  if (typeof body.source === "string" && body.source.length > MAX_SOURCE) errors.source = [`must be at most ${MAX_SOURCE} characters`];
  if (body.attributes !== undefined && body.attributes !== null) {
    if (!isPlainObject(body.attributes)) errors.attributes = ["must be an object"];
    else {
      const clashing = Object.keys(body.attributes).filter((key) => NAMED.includes(key as NamedField));
      if (clashing.length > 0) errors.attributes = [`${clashing.join(", ")}: send as a field of its own, not an attribute`];
      else Object.assign(patch, body.attributes);
    }
  } else if (body.attributes === null) {
    errors.attributes = ["cannot be null: set a key to null to remove it"];
  }
  const invalid = Object.keys(errors);
  if (invalid.length > 0) {
    throw new RestFailure({ status: 422, code: "BAD_USER_INPUT", message: `${invalid[0]}: ${errors[invalid[0]!]![0]}`, fields: errors });
  }
  return Object.keys(patch).length > 0 ? patch : undefined;
}

/** Body fields that a PATCH must not carry: a 422 naming each, since silently ignoring them would hide a mistake. */
function refuseFixed(body: Record<string, unknown>, fixed: string[], changeable: string) {
  const sent = fixed.filter((field) => field in body);
  if (sent.length === 0) return;
  const fields = Object.fromEntries(sent.map((field) => [field, [`cannot be changed: only ${changeable} can`]]));
  throw new RestFailure({ status: 422, code: "BAD_USER_INPUT", message: `${sent[0]}: cannot be changed`, fields });
}

const LEAD_BODY = {
  status: z.enum(LEAD_STATUS.words).optional(),
  name: z.string().max(200).nullable().optional(),
  email: z.email().max(254).nullable().optional(),
  phone: z.string().max(32).nullable().optional(),
  intent: z.string().max(40).nullable().optional(),
  timeline: z.string().max(40).nullable().optional(),
  qualification_score: z.number().int().min(0).max(100).nullable().optional(),
  source: z.string().max(MAX_SOURCE).nullable().optional(),
  attributes: z.record(z.string(), z.unknown()).optional().describe("Shallow-merged into the stored attributes; a key set to null is removed"),
};

const LEAD_FIELDS = {
  status: "status",
  score: "qualification_score",
  source: "source",
  fields: "attributes",
  "input.status": "status",
  "input.score": "qualification_score",
  "input.source": "source",
  "input.fieldsPatch": "attributes",
};

/** Vorel's words for appointment status: it has no "pending", so a booking still pending elsewhere (Veleria) reads as confirmed. */
const APPOINTMENT_STATUS = vocabulary({
  CONFIRMED: "confirmed",
  PENDING: "confirmed",
  RESCHEDULED: "rescheduled",
  CANCELLED: "cancelled",
  COMPLETED: "completed",
  NO_SHOW: "no_show",
});

/** RFC 3339 with an offset (Z or ±hh:mm), as Vorel requires for appointment times. */
const WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;
const scheduled = z.string().regex(WITH_OFFSET).describe("RFC 3339 date-time with an offset, e.g. 2026-05-15T14:00:00+04:00");

function appointmentTimes(body: Record<string, unknown>) {
  for (const field of ["scheduled_start", "scheduled_end"]) {
    const value = body[field];
    if (value === null) throw invalidField(field, "cannot be cleared");
    if (typeof value === "string" && !WITH_OFFSET.test(value)) {
      throw invalidField(field, "must be an RFC 3339 date-time with an offset, e.g. 2026-05-15T14:00:00+04:00");
    }
  }
}

const Appointment = z.object({
  id: uuid,
  customer_name: z.string().nullable().describe("Null only for a booking made for a contact through another API"),
  customer_phone: z.string().nullable().describe("Null only for a booking made for a contact through another API"),
  scheduled_start: timestamp,
  scheduled_end: timestamp,
  status: z.enum(APPOINTMENT_STATUS.words),
  created_at: timestamp,
  conversation_id: uuid.nullable(),
  lead_id: uuid.nullable(),
  offering_id: uuid.nullable().describe("The offering booked, if any (kept after that offering is deleted)"),
  customer_email: z.string().nullable(),
  location_text: z.string().nullable(),
  google_calendar_event_id: z.string().nullable().describe("Always null: this service syncs no calendar"),
});

const appointment = (row: GraphQLData) => ({
  id: bareId(row.id),
  customer_name: row.customerName,
  customer_phone: row.customerPhone,
  scheduled_start: row.startsAt,
  scheduled_end: row.endsAt,
  status: APPOINTMENT_STATUS.word(row.status),
  created_at: row.createdAt,
  conversation_id: bareId(row.conversationId),
  lead_id: bareId(row.leadId),
  offering_id: bareId(row.offeringId),
  customer_email: row.customerEmail,
  location_text: row.locationText,
  google_calendar_event_id: null,
});

const APPOINTMENT_FIELDS = {
  customerName: "customer_name",
  customerPhone: "customer_phone",
  customerEmail: "customer_email",
  startsAt: "scheduled_start",
  endsAt: "scheduled_end",
  status: "status",
  locationText: "location_text",
  conversationId: "conversation_id",
  leadId: "lead_id",
  offeringId: "offering_id",
  "input.customerName": "customer_name",
  "input.customerPhone": "customer_phone",
  "input.customerEmail": "customer_email",
  "input.startsAt": "scheduled_start",
  "input.endsAt": "scheduled_end",
  "input.status": "status",
  "input.locationText": "location_text",
  "input.conversationId": "conversation_id",
  "input.leadId": "lead_id",
  "input.offeringId": "offering_id",
};

const idParam = z.object({ id: uuid });

/** Vorel's cursor pages: `limit` 1-100 (default 25) and `cursor`, the id of the previous page's last row. */
const LIST_QUERY = z.object({
  limit: integerParam(1, "Page size, 1 to 100 (default 25; larger values are served as 100)"),
  cursor: uuid.optional().describe("next_cursor of the previous page; omit for the first page"),
});
const DEFAULT_LIMIT = 25;
const MAX_LIMIT = 100;

function pageVariables(query: URLSearchParams, type: "Conversation" | "Lead" | "Booking" | "Offering") {
  const limit = intParamAtLeast("limit", query.get("limit"), 1) ?? DEFAULT_LIMIT;
  const cursor = param(query.get("cursor"));
  if (cursor !== undefined && !globalIdOf(type, cursor)) {
    throw invalidField("cursor", "must be a next_cursor from a previous page");
  }
  return { first: typeof limit === "number" ? Math.min(limit, MAX_LIMIT) : limit, after: cursor === undefined ? undefined : formatPrismaCursor({ id: cursor }, "id") };
}

/** Vorel's `stale_for_days`: 1 to 365, anything else a 400 as documented. */
function staleSince(value: string | null): Date | undefined {
  if (value === null) return undefined;
  const days = /^\d{1,3}$/.test(value) ? Number(value) : NaN;
  if (!(days >= 1 && days <= 365)) {
    throw new RestFailure({ status: 400, code: "BAD_REQUEST", message: "stale_for_days must be a whole number from 1 to 365" });
  }
  return new Date(Date.now() - days * 86_400_000);
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

const Handoff = z.object({
  handoff_id: uuid,
  lead_id: uuid,
  conversation_id: uuid,
  conversation_status: z.enum(["awaiting_human"]),
  notified_channel: z
    .enum(["slack", "email"])
    .nullable()
    .describe("Always null: this service sends no Slack or email itself; the handoff reaches subscribers and webhooks as an event"),
});

const SentMessage = z.object({
  message_id: uuid,
  sequence_number: z.number().int().min(1),
  sent_at: timestamp.describe("When the message was stored and queued"),
  mocked: z.boolean().describe("Always true here: this service queues the message for a channel worker and talks to no provider itself"),
});

/** Vorel's offering: a price as a string (an exact decimal), dates as YYYY-MM-DD. */
const Offering = z.object({
  id: uuid,
  title: z.string(),
  price: z.string().regex(/^\d+\.\d{2}$/).describe('A decimal serialised as a string to keep its precision, e.g. "1250.00"'),
  price_currency: z.string().regex(/^[A-Z]{3}$/).describe("ISO 4217"),
  photos: z.array(z.string()).describe("Photo URLs, in order"),
  status: z.string().describe("A free word; active unless set"),
  created_at: timestamp,
  updated_at: timestamp,
  external_id: z.string().nullable(),
  reference_number: z.string().nullable(),
  title_ar: z.string().nullable(),
  description: z.string().nullable(),
  description_ar: z.string().nullable(),
  address: z.string().nullable(),
  available_from: z.iso.date().nullable().describe("YYYY-MM-DD"),
  attributes: z.record(z.string(), z.unknown()).describe("Vertical-specific fields (bedrooms, size_sqft, ...)"),
});

const offering = (row: GraphQLData) => ({
  id: bareId(row.id),
  title: row.title,
  price: row.price,
  price_currency: row.priceCurrency,
  photos: row.photos,
  status: row.status,
  created_at: row.createdAt,
  updated_at: row.updatedAt,
  external_id: row.externalId,
  reference_number: row.referenceNumber,
  title_ar: row.titleAr,
  description: row.description,
  description_ar: row.descriptionAr,
  address: row.address,
  available_from: row.availableFrom,
  attributes: row.attributes,
});

/** An offering body's fields, as Vorel documents them (POST; PATCH takes each as optional). */
const OFFERING_BODY = {
  title: z.string().min(1).max(500),
  price: z.number().min(0).describe("A number ≥ 0 with at most two decimal places; answered as a string"),
  price_currency: z.string().regex(/^[A-Z]{3}$/).optional().describe("ISO 4217; AED if omitted"),
  external_id: z.string().max(120).nullable().optional().describe("Your own id for it"),
  reference_number: z.string().max(120).nullable().optional(),
  title_ar: z.string().max(500).nullable().optional(),
  description: z.string().max(10_000).nullable().optional(),
  description_ar: z.string().max(10_000).nullable().optional(),
  address: z.string().max(500).nullable().optional(),
  photos: z.array(z.url().max(2_048)).max(20).optional().describe("At most 20 http(s) URLs"),
  status: z.string().min(1).max(40).optional().describe("A free word; active if omitted"),
  available_from: z.string().regex(/^\d{4}-\d{2}-\d{2}$/).nullable().optional().describe("YYYY-MM-DD"),
  attributes: z.record(z.string(), z.unknown()).optional().describe("Vertical-specific fields; PATCH merges them one level deep, a key set to null is removed"),
};
const OFFERING_KEYS = Object.keys(OFFERING_BODY);

/** Body fields Vorel does not document: a 422 naming each (Vorel's bodies are strict). */
function refuseUnknown(body: Record<string, unknown>, known: string[]) {
  const unknown = Object.keys(body).filter((field) => !known.includes(field));
  if (unknown.length === 0) return;
  const fields = Object.fromEntries(unknown.map((field) => [field, ["is not a known field"]]));
  throw new RestFailure({ status: 422, code: "BAD_USER_INPUT", message: `${unknown[0]}: is not a known field`, fields });
}

/**
 * Vorel's price, a JSON number, as the exact decimal string GraphQL takes. A number JavaScript
 * writes with an exponent (1e+21, 1e-7) is out of range either way; anything else that is not a
 * number is refused here, since the schema would take a string.
 */
function priceOf(value: unknown): unknown {
  if (value === undefined || value === null) return value;
  if (typeof value !== "number") throw invalidField("price", "must be a number");
  if (!Number.isFinite(value)) throw invalidField("price", value < 0 ? "must be 0 or more" : "must be less than 1000000000000");
  const written = String(value);
  if (!written.includes("e")) return written;
  throw invalidField("price", value < 0 ? "must be 0 or more" : value >= 1 ? "must be less than 1000000000000" : "must have at most 2 decimal places");
}

/** The offering body's fields as GraphQL variables (undefined: not sent). */
const offeringVariables = (body: Record<string, unknown>) => ({
  title: body.title,
  titleAr: body.title_ar,
  description: body.description,
  descriptionAr: body.description_ar,
  price: priceOf(body.price),
  priceCurrency: body.price_currency,
  externalId: body.external_id,
  referenceNumber: body.reference_number,
  address: body.address,
  photos: body.photos,
  status: body.status,
  availableFrom: body.available_from,
});

/** GraphQL's names for the offering body's fields, bare (create's variables) and under `input` (update's). */
const OFFERING_FIELDS = Object.fromEntries(
  (
    [
      ["title", "title"],
      ["titleAr", "title_ar"],
      ["description", "description"],
      ["descriptionAr", "description_ar"],
      ["price", "price"],
      ["priceCurrency", "price_currency"],
      ["externalId", "external_id"],
      ["referenceNumber", "reference_number"],
      ["address", "address"],
      ["photos", "photos"],
      ["status", "status"],
      ["availableFrom", "available_from"],
      ["attributes", "attributes"],
      ["attributesPatch", "attributes"],
    ] as const
  ).flatMap(([graphql, rest]) => [
    [graphql, rest],
    [`input.${graphql}`, rest],
  ]),
);

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
    summary: "Create the lead of a conversation (strict: 409 if the conversation already has one)",
    scopes: ["leads:write"],
    status: 201,
    body: z.object({ conversation_id: uuid.describe("An existing conversation of this tenant (POST /conversations creates one)"), ...LEAD_BODY }),
    response: Lead,
    variables: ({ body }) =>
      defined({
        conversationId: bodyId("Conversation", body.conversation_id),
        status: LEAD_STATUS.canonical(body.status ?? undefined),
        fields: leadFieldsPatch(body),
        source: body.source ?? undefined,
        score: body.qualification_score ?? undefined,
      }),
    result: (data) => lead(data.createLead),
    fields: { ...LEAD_FIELDS, conversationId: "conversation_id", "input.conversationId": "conversation_id" },
  },
  {
    method: "GET",
    path: "/leads",
    operation: "VorelListLeads",
    summary: "List leads, newest first (cursor pages); stale_for_days keeps qualified leads gone quiet",
    scopes: ["leads:read"],
    query: LIST_QUERY.extend({
      stale_for_days: z
        .number()
        .int()
        .min(1)
        .max(365)
        .optional()
        .describe("1 to 365: only qualified leads whose conversation's last message is older than this many days, or has none"),
    }),
    response: cursorPage(Lead),
    variables: ({ query }) => {
      const quietSince = staleSince(query.get("stale_for_days"));
      return defined({ ...pageVariables(query, "Lead"), statusIn: quietSince ? LEAD_STATUS.every("qualified") : undefined, quietSince: quietSince?.toISOString() });
    },
    result: (data) => page(data.leads, lead),
    fields: { first: "limit", after: "cursor" },
  },
  {
    method: "GET",
    path: "/leads/:id",
    operation: "VorelGetLead",
    summary: "Get a lead",
    scopes: ["leads:read"],
    params: idParam,
    response: Lead,
    variables: ({ params }) => ({ id: pathId("Lead", params.id!) }),
    result: (data) => lead(data.lead),
    fields: { id: "id" },
  },
  {
    method: "PATCH",
    path: "/leads/:id",
    operation: "VorelUpdateLead",
    summary: "Update a lead (at least one field; null clears; attributes are shallow-merged, a null value removes that key)",
    scopes: ["leads:write"],
    params: idParam,
    body: z.object(LEAD_BODY),
    response: Lead,
    variables: ({ params, body }) => {
      refuseFixed(body, ["conversation_id", "notes"], "the lead's own fields");
      if (body.status === null) throw invalidField("status", "cannot be cleared");
      return {
        id: pathId("Lead", params.id!),
        input: defined({
          status: LEAD_STATUS.canonical(body.status),
          score: body.qualification_score,
          source: body.source,
          fieldsPatch: leadFieldsPatch(body),
        }),
      };
    },
    result: (data) => lead(data.updateLead),
    fields: { ...LEAD_FIELDS, id: "id", input: "body" },
  },
  {
    method: "POST",
    path: "/leads/:id/handoff",
    operation: "VorelLeadHandoff",
    summary: "Escalate a lead to a human: its conversation becomes awaiting_human and an audit entry is written (not idempotent)",
    scopes: ["leads:write"],
    status: 201,
    params: idParam,
    body: z.object({
      reason: z.string().max(200).optional().describe("e.g. no-response-7d"),
      summary: z.string().max(1_000).optional(),
    }),
    response: Handoff,
    variables: ({ params, body }) => defined({ id: pathId("Lead", params.id!), reason: body.reason, summary: body.summary }),
    result: ({ requestLeadHandoff: handoff }) => ({
      handoff_id: bareId(handoff.id),
      lead_id: bareId(handoff.leadId),
      conversation_id: bareId(handoff.conversationId),
      conversation_status: STATUS.HANDED_OFF,
      notified_channel: null,
    }),
    fields: { id: "id", reason: "reason", summary: "summary" },
  },
  {
    method: "GET",
    path: "/appointments",
    operation: "VorelListAppointments",
    summary: "List appointments, latest start first (cursor pages)",
    scopes: ["bookings:read"],
    query: LIST_QUERY,
    response: cursorPage(Appointment),
    variables: ({ query }) => defined(pageVariables(query, "Booking")),
    result: (data) => page(data.bookings, appointment),
    fields: { first: "limit", after: "cursor" },
  },
  {
    method: "POST",
    path: "/appointments",
    operation: "VorelCreateAppointment",
    summary: "Create an appointment (conversation_id, lead_id and offering_id are checked: a 404 names the one that is not found)",
    scopes: ["appointments:write"],
    status: 201,
    body: z.object({
      customer_name: z.string().min(1).max(200),
      customer_phone: z.string().min(5).max(32),
      scheduled_start: scheduled,
      scheduled_end: scheduled.describe("Strictly after scheduled_start"),
      conversation_id: uuid.optional(),
      lead_id: uuid.optional(),
      offering_id: uuid.optional().describe("An offering of this tenant that is not deleted (POST /offerings creates one)"),
      customer_email: z.email().optional(),
      location_text: z.string().max(500).optional(),
      status: z.enum(APPOINTMENT_STATUS.words).optional().describe("Default confirmed"),
    }),
    response: Appointment,
    variables: ({ body }) => {
      appointmentTimes(body);
      return defined({
        customerName: body.customer_name,
        customerPhone: body.customer_phone,
        customerEmail: body.customer_email,
        startsAt: body.scheduled_start,
        endsAt: body.scheduled_end,
        status: APPOINTMENT_STATUS.canonical(body.status ?? "confirmed"),
        locationText: body.location_text,
        conversationId: bodyId("Conversation", body.conversation_id),
        leadId: bodyId("Lead", body.lead_id),
        offeringId: bodyId("Offering", body.offering_id),
      });
    },
    result: (data) => appointment(data.createBooking),
    fields: APPOINTMENT_FIELDS,
  },
  {
    method: "GET",
    path: "/appointments/:id",
    operation: "VorelGetAppointment",
    summary: "Get an appointment",
    scopes: ["bookings:read"],
    params: idParam,
    response: Appointment,
    variables: ({ params }) => ({ id: pathId("Booking", params.id!) }),
    result: (data) => appointment(data.appointment),
    fields: { id: "id" },
  },
  {
    method: "PATCH",
    path: "/appointments/:id",
    operation: "VorelUpdateAppointment",
    summary: "Update an appointment: reschedule, cancel, complete (cancelled, completed and no_show are final: 409)",
    scopes: ["appointments:write"],
    params: idParam,
    body: z.object({
      customer_name: z.string().min(1).max(200).optional(),
      customer_phone: z.string().min(5).max(32).optional(),
      customer_email: z.email().nullable().optional(),
      scheduled_start: scheduled.optional(),
      scheduled_end: scheduled.optional(),
      location_text: z.string().max(500).nullable().optional(),
      status: z.enum(APPOINTMENT_STATUS.words).optional(),
    }),
    response: Appointment,
    variables: ({ params, body }) => {
      refuseFixed(
        body,
        ["conversation_id", "lead_id", "offering_id", "google_calendar_event_id", "notes", "assigned_user_id"],
        "the customer's details, the times, the location and the status",
      );
      appointmentTimes(body);
      for (const field of ["customer_name", "customer_phone", "status"]) {
        if (body[field] === null) throw invalidField(field, "cannot be cleared");
      }
      return {
        id: pathId("Booking", params.id!),
        input: defined({
          customerName: body.customer_name,
          customerPhone: body.customer_phone,
          customerEmail: body.customer_email,
          startsAt: body.scheduled_start,
          endsAt: body.scheduled_end,
          locationText: body.location_text,
          status: APPOINTMENT_STATUS.canonical(body.status),
        }),
      };
    },
    result: (data) => appointment(data.updateBooking),
    fields: { ...APPOINTMENT_FIELDS, id: "id", input: "body" },
  },
  {
    method: "GET",
    path: "/offerings",
    operation: "VorelListOfferings",
    summary: "List offerings, newest first (cursor pages); deleted offerings are left out",
    scopes: ["offerings:read"],
    query: LIST_QUERY,
    response: cursorPage(Offering),
    variables: ({ query }) => defined(pageVariables(query, "Offering")),
    result: (data) => page(data.offerings, offering),
    fields: { first: "limit", after: "cursor" },
  },
  {
    method: "POST",
    path: "/offerings",
    operation: "VorelCreateOffering",
    summary: "Create an offering (strict: a field not documented here is a 422)",
    scopes: ["offerings:write"],
    status: 201,
    body: z.object(OFFERING_BODY).strict(),
    response: Offering,
    variables: ({ body }) => {
      refuseUnknown(body, OFFERING_KEYS);
      return defined({ ...offeringVariables(body), attributes: body.attributes });
    },
    result: (data) => offering(data.createOffering),
    fields: OFFERING_FIELDS,
  },
  {
    method: "GET",
    path: "/offerings/:id",
    operation: "VorelGetOffering",
    summary: "Get an offering (a deleted one is a 404, as an unknown one)",
    scopes: ["offerings:read"],
    params: idParam,
    response: Offering,
    variables: ({ params }) => ({ id: pathId("Offering", params.id!) }),
    result: (data) => offering(data.offering),
    fields: { id: "id" },
  },
  {
    method: "PATCH",
    path: "/offerings/:id",
    operation: "VorelUpdateOffering",
    summary: "Update an offering (strict partial: at least one field; null clears; attributes are shallow-merged, a null value removes that key)",
    scopes: ["offerings:write"],
    params: idParam,
    body: z.object({ ...OFFERING_BODY, title: OFFERING_BODY.title.optional(), price: OFFERING_BODY.price.optional() }).strict(),
    response: Offering,
    variables: ({ params, body }) => {
      refuseFixed(body, ["assigned_user_id", "deleted_at", "metadata"], "the offering's own fields");
      refuseUnknown(body, OFFERING_KEYS);
      if (body.attributes === null) throw invalidField("attributes", "cannot be null: set a key to null to remove it");
      return { id: pathId("Offering", params.id!), input: defined({ ...offeringVariables(body), attributesPatch: body.attributes }) };
    },
    result: (data) => offering(data.updateOffering),
    fields: { ...OFFERING_FIELDS, id: "id", input: "body" },
  },
  {
    method: "GET",
    path: "/conversations",
    operation: "VorelListConversations",
    summary: "List conversations, newest first (cursor pages)",
    scopes: ["conversations:read"],
    query: LIST_QUERY,
    response: cursorPage(Conversation),
    variables: ({ query }) => defined(pageVariables(query, "Conversation")),
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
      refuseFixed(body, ["channel", "customer_identifier", "status"], "customer_name and customer_language");
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
    response: SentMessage,
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
  BAD_REQUEST: "bad_request",
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
  components: { Conversation, Lead, Handoff, Appointment, Offering, SentMessage },
  enumValues: {
    ChannelType: CHANNEL_SLUGS.join(", "),
    LeadStatus: LEAD_STATUS.words.join(", "),
    BookingStatus: APPOINTMENT_STATUS.words.join(", "),
  },
};
