// Veleria API v1: the `{ success, data, pagination }` envelope, snake_case fields, prefixed
// ids (con_…, bkg_…: exactly our global ids, passed through unchanged), enum values in lower
// case (the webhook payload's `"status": "confirmed"`), served at /api/v1 (the endpoint list)
// and /v1 (the quick start's curl).
//
// Where the documentation is silent:
// - Lists take `page` (from 1, default 1) and `per_page` (default 20, at most 100: a larger
//   value is served as 100 and reported as such); `pagination` is { total, page, per_page,
//   total_pages } and appears on lists only.
// - Contacts list newest first; bookings by start time, earliest first; conversations newest
//   first. `search` matches every word against names, email and phone.
// - Booking filters: `from` is inclusive and `to` exclusive, both on `starts_at`; `status`
//   and `contact_id` match exactly. Conversation filters: `status`, `channel` (the channel
//   type), `contact_id`, `agent_id`.
// - Enum values are the schema's in lower case: booking status pending, confirmed,
//   rescheduled, cancelled, completed, no_show (cancelled, completed and no_show are final:
//   a later change of status or time is a 409); conversation status open, handed_off, closed; channel whatsapp,
//   sms, email, website, voice, …. Requests may send them in any case.
// - Conversation ids are conv_…, agents agt_… (our global ids, as con_ and bkg_ are).
// - A booking made through Vorel (an appointment for a named customer) has no contact_id or
//   service: both are null in answers here; creating one here still requires both.
// - Creates answer 201; PUT changes only the fields sent (null clears one); DELETE answers
//   200 { success: true, data: { id, deleted: true } }.
// - POST /messages/send (its body is not documented): { contact_id, channel, content } ->
//   201 { success, data: { id (msg_…), conversation_id, contact_id, channel, role
//   "assistant", content, sequence, status "queued", created_at } }. The message goes into
//   the contact's latest conversation on that channel, else the one at the contact's phone
//   (whatsapp, sms, voice, viber, telegram) or email (email, webform), else a new one; a
//   contact without that address is a 422 on `channel`, and an address whose conversation
//   belongs to another contact a 409. It is QUEUED for the channel's
//   worker, which reports sent or failed (README "Outbound messages"); needs
//   conversations:write.
// - Errors: { success: false, error: { code, message, scope?, fields? } } where `code` is
//   the status's reason phrase in lower_snake case (bad_request, unauthorized, forbidden,
//   not_found, method_not_allowed, conflict, payload_too_large, unprocessable_entity,
//   internal_server_error); 403 names the missing scope in `scope`; 422 maps each field, in
//   Veleria's names, to its messages in `fields`. An unknown, malformed or other tenant's id
//   answers the same 404 body, message "Not found"; an unknown path names the path. A
//   booking whose contact_id names no contact of the tenant answers that 404 as well (the
//   schema's NOT_FOUND); a malformed contact_id is a 422.
import { z } from "zod";
import { BookingStatus as BookingStatuses, ChannelType, ConversationStatus as ConversationStatuses } from "../../generated/prisma/enums.js";
import { globalIdOf, rawId } from "../../graphql/ids.js";
import { defined, integerParam, intParam, nodes, pageOf, param, reasonPhrase } from "../mapping.js";
import { notFoundFailure, type Dialect, type GraphQLData, type RestRequest, type Route } from "../route.js";

const DEFAULT_PAGE_SIZE = 20;
/** The schema's largest connection page (maxConnectionSize). */
const MAX_PAGE_SIZE = 100;

/** JSON Schema's date-time format, without zod's own long pattern (the schema is the judge). */
const dateTime = (description: string) => z.string().meta({ format: "date-time", description });
const timestamp = dateTime("ISO 8601 date-time, UTC");
const UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";
const prefixed = (prefix: string) => z.string().regex(new RegExp(`^${prefix}_${UUID}$`)).describe(`${prefix}_<uuid>`);

const Contact = z.object({
  id: prefixed("con"),
  first_name: z.string().nullable(),
  last_name: z.string().nullable(),
  email: z.string().nullable(),
  phone: z.string().nullable(),
  tags: z.array(z.string()),
  custom_fields: z.record(z.string(), z.unknown()),
  language: z.string().nullable(),
  created_at: timestamp,
  updated_at: timestamp,
});

/** The schema's enum in Veleria's lower case. */
const lowerEnum = <T extends string>(values: Record<string, T>) =>
  z.enum(Object.values(values).map((value) => value.toLowerCase() as Lowercase<T>) as [Lowercase<T>, ...Lowercase<T>[]]);

const BookingStatus = lowerEnum(BookingStatuses);
const Booking = z.object({
  id: prefixed("bkg"),
  contact_id: prefixed("con").nullable().describe("Null for an appointment booked for a named customer (Vorel)"),
  service: z.string().nullable().describe("Null for an appointment made without one (Vorel)"),
  status: BookingStatus,
  starts_at: timestamp,
  ends_at: timestamp,
  notes: z.string().nullable(),
  created_at: timestamp,
  updated_at: timestamp,
});

const ConversationStatus = lowerEnum(ConversationStatuses);
const Channel = lowerEnum(ChannelType).describe("The conversation's channel type");
const Conversation = z.object({
  id: prefixed("conv"),
  channel: Channel,
  status: ConversationStatus,
  customer_identifier: z.string(),
  customer_name: z.string().nullable(),
  contact_id: prefixed("con").nullable(),
  agent_id: prefixed("agt").nullable(),
  last_message_at: timestamp.nullable(),
  created_at: timestamp,
});

/** A message sent through the assistant: QUEUED until the channel's worker reports it. */
const OutboundMessage = z.object({
  id: prefixed("msg"),
  conversation_id: prefixed("conv"),
  contact_id: prefixed("con"),
  channel: Channel,
  role: z.literal("assistant"),
  content: z.string(),
  sequence: z.number().int().min(1).describe("The message's position in its conversation, from 1"),
  status: z.enum(["queued", "sent", "failed"]).describe("queued: handed to the channel's worker; it reports sent or failed"),
  created_at: timestamp,
});

const Pagination = z.object({
  total: z.number().int(),
  page: z.number().int(),
  per_page: z.number().int(),
  total_pages: z.number().int(),
});

const Deletion = z.object({ id: prefixed("con"), deleted: z.literal(true) });
const one = <T extends z.ZodType>(data: T) => z.object({ success: z.literal(true), data });
const list = <T extends z.ZodType>(item: T) => z.object({ success: z.literal(true), data: z.array(item), pagination: Pagination });

const contact = (row: GraphQLData) => ({
  id: row.id,
  first_name: row.firstName,
  last_name: row.lastName,
  email: row.email,
  phone: row.phone,
  tags: row.tags,
  custom_fields: row.customFields,
  language: row.language,
  created_at: row.createdAt,
  updated_at: row.updatedAt,
});

const booking = (row: GraphQLData) => ({
  id: row.id,
  contact_id: row.contactId,
  service: row.service,
  status: lower(row.status),
  starts_at: row.startsAt,
  ends_at: row.endsAt,
  notes: row.notes,
  created_at: row.createdAt,
  updated_at: row.updatedAt,
});

const conversation = (row: GraphQLData) => ({
  id: row.id,
  channel: lower(row.channelType),
  status: lower(row.status),
  customer_identifier: row.customerIdentifier,
  customer_name: row.customerName,
  contact_id: row.contactId,
  agent_id: row.agentId,
  last_message_at: row.lastMessageAt,
  created_at: row.createdAt,
});

/** The sent message; its contact and channel are the request's (what a write-only key sent, it may read back). */
const outboundMessage = (row: GraphQLData, body: RestRequest["body"]) => ({
  id: row.id,
  conversation_id: row.conversationId,
  contact_id: body.contact_id as string,
  channel: lower(String(body.channel)),
  role: lower(row.role),
  content: row.content,
  sequence: row.sequence,
  status: lower(row.deliveryStatus),
  created_at: row.createdAt,
});

const lower = (value: string) => value.toLowerCase();
/** A Veleria enum value as the schema's; anything else passes through to be rejected. */
const upper = (value: unknown) => (typeof value === "string" ? value.toUpperCase() : value);

/** A prefixed id from the path; one of another type, or no id at all, names no row: 404. */
function pathId(type: Parameters<typeof globalIdOf>[0], value: string): string {
  if (globalIdOf(type, rawId(value)) !== value) throw notFoundFailure();
  return value;
}

const pageRequested = (query: URLSearchParams) => pageOf(query.get("page"), query.get("per_page"), DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);

const pageVariables = (query: URLSearchParams) => {
  const { first, offset } = pageRequested(query);
  return { first, offset };
};

/** The envelope of a list page; only called once GraphQL accepted the page numbers. */
function listed<T>(connection: GraphQLData, request: RestRequest, shape: (row: GraphQLData) => T) {
  const { page, perPage } = pageRequested(request.query) as { page: number; perPage: number };
  const total: number = connection.totalCount;
  return {
    success: true,
    data: nodes(connection).map(shape),
    pagination: { total, page, per_page: perPage, total_pages: perPage > 0 ? Math.ceil(total / perPage) : 0 },
  };
}

const page = z.object({
  page: integerParam(1, "Page number, from 1 (default 1)"),
  per_page: integerParam(1, `Page size, 1 to ${MAX_PAGE_SIZE} (default ${DEFAULT_PAGE_SIZE}; larger values are served as ${MAX_PAGE_SIZE})`),
});
const pageFields = { first: "per_page", offset: "page" };

const ContactBody = z.object({
  first_name: z.string().nullable().optional(),
  last_name: z.string().nullable().optional(),
  email: z.string().meta({ format: "email" }).nullable().optional(),
  phone: z.string().nullable().optional(),
  tags: z.array(z.string()).nullable().optional(),
  custom_fields: z.record(z.string(), z.unknown()).nullable().optional(),
  language: z.string().nullable().optional().describe("en or en-US"),
});

const contactInput = (body: Record<string, unknown>) => ({
  firstName: body.first_name,
  lastName: body.last_name,
  email: body.email,
  phone: body.phone,
  tags: body.tags,
  customFields: body.custom_fields,
  language: body.language,
});

const contactFields = {
  input: "body",
  "input.firstName": "first_name",
  "input.lastName": "last_name",
  "input.email": "email",
  "input.phone": "phone",
  "input.tags": "tags",
  "input.customFields": "custom_fields",
  "input.language": "language",
};

const idParam = (prefix: string) => z.object({ id: prefixed(prefix) });

const routes: Route[] = [
  {
    method: "GET",
    path: "/contacts",
    operation: "VeleriaListContacts",
    summary: "List all contacts with pagination",
    scopes: ["contacts:read"],
    query: page.extend({ search: z.string().optional().describe("Every word must match a name, the email or the phone") }),
    response: list(Contact),
    variables: ({ query }) => ({ ...pageVariables(query), search: param(query.get("search")) }),
    result: (data, request) => listed(data.contacts, request, contact),
    fields: { ...pageFields, search: "search" },
  },
  {
    method: "POST",
    path: "/contacts",
    operation: "VeleriaCreateContact",
    summary: "Create a new contact",
    scopes: ["contacts:write"],
    status: 201,
    body: ContactBody.describe("At least a name, an email or a phone"),
    response: one(Contact),
    variables: ({ body }) => ({ input: contactInput(body) }),
    result: (data) => ({ success: true, data: contact(data.createContact) }),
    fields: contactFields,
  },
  {
    method: "GET",
    path: "/contacts/:id",
    operation: "VeleriaGetContact",
    summary: "Get contact by ID",
    scopes: ["contacts:read"],
    params: idParam("con"),
    response: one(Contact),
    variables: ({ params }) => ({ id: pathId("Contact", params.id!) }),
    result: (data) => {
      if (!data.contact?.id) throw notFoundFailure();
      return { success: true, data: contact(data.contact) };
    },
    fields: { id: "id" },
  },
  {
    method: "PUT",
    path: "/contacts/:id",
    operation: "VeleriaUpdateContact",
    summary: "Update contact details (fields sent are changed, others kept; null clears)",
    scopes: ["contacts:write"],
    params: idParam("con"),
    body: ContactBody,
    response: one(Contact),
    variables: ({ params, body }) => ({ id: pathId("Contact", params.id!), input: contactInput(body) }),
    result: (data) => ({ success: true, data: contact(data.updateContact) }),
    fields: { id: "id", ...contactFields },
  },
  {
    method: "DELETE",
    path: "/contacts/:id",
    operation: "VeleriaDeleteContact",
    summary: "Delete a contact (and its bookings)",
    scopes: ["contacts:write"],
    params: idParam("con"),
    response: one(Deletion),
    variables: ({ params }) => ({ id: pathId("Contact", params.id!) }),
    result: (data) => ({ success: true, data: { id: data.deleteContact, deleted: true } }),
    fields: { id: "id" },
  },
  {
    method: "POST",
    path: "/bookings",
    operation: "VeleriaCreateBooking",
    summary: "Create a new booking",
    scopes: ["bookings:write"],
    status: 201,
    body: z.object({
      contact_id: prefixed("con"),
      service: z.string(),
      starts_at: dateTime("ISO 8601 date-time with a time zone"),
      ends_at: dateTime("After starts_at"),
      status: BookingStatus.optional().describe("Default pending"),
      notes: z.string().nullable().optional(),
    }),
    response: one(Booking),
    variables: ({ body }) =>
      defined({
        contactId: body.contact_id,
        service: body.service,
        startsAt: body.starts_at,
        endsAt: body.ends_at,
        status: upper(body.status),
        notes: body.notes,
      }),
    result: (data) => ({ success: true, data: booking(data.createBooking) }),
    fields: {
      contactId: "contact_id",
      service: "service",
      startsAt: "starts_at",
      endsAt: "ends_at",
      status: "status",
      notes: "notes",
      "input.contactId": "contact_id",
      "input.service": "service",
      "input.startsAt": "starts_at",
      "input.endsAt": "ends_at",
      "input.status": "status",
      "input.notes": "notes",
    },
  },
  {
    method: "GET",
    path: "/bookings",
    operation: "VeleriaListBookings",
    summary: "List all bookings with filters",
    scopes: ["bookings:read"],
    query: page.extend({
      status: BookingStatus.optional(),
      contact_id: prefixed("con").optional(),
      from: dateTime("Bookings starting at or after this time").optional(),
      to: dateTime("Bookings starting before this time").optional(),
    }),
    response: list(Booking),
    variables: ({ query }) => ({
      ...pageVariables(query),
      status: upper(param(query.get("status"))),
      contactId: param(query.get("contact_id")),
      from: param(query.get("from")),
      to: param(query.get("to")),
    }),
    result: (data, request) => listed(data.bookings, request, booking),
    fields: { ...pageFields, status: "status", contactId: "contact_id", from: "from", to: "to" },
  },
  {
    method: "GET",
    path: "/conversations",
    operation: "VeleriaListConversations",
    summary: "List conversation threads",
    scopes: ["conversations:read"],
    query: page.extend({
      status: ConversationStatus.optional(),
      channel: Channel.optional(),
      contact_id: prefixed("con").optional(),
      agent_id: prefixed("agt").optional(),
    }),
    response: list(Conversation),
    variables: ({ query }) => ({
      ...pageVariables(query),
      status: upper(param(query.get("status"))),
      channelType: upper(param(query.get("channel"))),
      contactId: param(query.get("contact_id")),
      agentId: param(query.get("agent_id")),
    }),
    result: (data, request) => listed(data.conversations, request, conversation),
    fields: { ...pageFields, status: "status", channelType: "channel", contactId: "contact_id", agentId: "agent_id" },
  },
  {
    method: "POST",
    path: "/messages/send",
    operation: "VeleriaSendMessage",
    summary: "Send message via AI assistant: to a contact on a channel, in its conversation there (opened if need be)",
    scopes: ["conversations:write"],
    status: 201,
    body: z.object({
      contact_id: prefixed("con"),
      channel: Channel.describe("The channel to send on: phone channels (whatsapp, sms, voice, viber, telegram) use the contact's phone, email and webform its email"),
      content: z.string().min(1).max(10_000),
    }),
    response: one(OutboundMessage),
    variables: ({ body }) => ({ input: { contactId: body.contact_id, channelType: upper(body.channel), content: body.content } }),
    result: (data, { body }) => ({ success: true, data: outboundMessage(data.sendMessageToContact, body) }),
    fields: {
      input: "body",
      "input.contactId": "contact_id",
      "input.channelType": "channel",
      "input.content": "content",
    },
  },
];

const ErrorBody = z.object({
  success: z.literal(false),
  error: z.object({
    code: z.string().describe("The status's reason phrase in lower_snake case: not_found, unprocessable_entity, …"),
    message: z.string(),
    scope: z.string().optional().describe("403: the missing scope"),
    fields: z.record(z.string(), z.array(z.string())).optional().describe("422: messages per field"),
  }),
});

const snake = (phrase: string) => phrase.toLowerCase().replace(/[^a-z0-9]+/g, "_").replace(/^_|_$/g, "");

export const veleria: Dialect = {
  name: "veleria",
  title: "Veleria API v1",
  formats: ["VELERIA"],
  basePaths: ["/api/v1", "/v1"],
  routes,
  errorSchema: ErrorBody,
  components: { Contact, Booking, Conversation, OutboundMessage, Pagination, Deletion },
  enumCase: "lower",
  error: (failure) => ({
    success: false,
    error: {
      code: snake(reasonPhrase(failure.status)),
      message: failure.message,
      ...(failure.scope ? { scope: failure.scope } : {}),
      ...(failure.fields ? { fields: failure.fields } : {}),
    },
  }),
};
