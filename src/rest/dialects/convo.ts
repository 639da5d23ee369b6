// Convo (Avelto) Public API v1: bare JSON, camelCase, bare uuids, canonical scope names,
// NestJS-style error bodies ({statusCode, error, message}) that name a missing scope.
// Where the documentation is silent: lists take `limit` (default 50, at most 100) and
// `offset`; creates answer 201, the bulk action 200; 422 bodies carry `errors` per field.
// Lead status: Convo's five words; a lead BOOKED elsewhere (Vorel) reads CONTACTED here, and
// `status=CONTACTED` lists both. POST /conversations/:id/operator-message answers 409 unless
// the conversation is HANDED_OFF: Convo documents the endpoint for handed-off conversations
// only, and an operator writing into a conversation the assistant still runs would talk over it.
// Webhooks: POST /integrations/webhook is strict (type must be "WEBHOOK", fields it does not
// document are a 422) and answers 201 with the signing secret, that once; GET /integrations
// lists the workspace's Convo webhooks (its only integrations here), CONNECTED while active,
// DISCONNECTED once disabled, never with the secret.
import { z } from "zod";
import { WEBHOOK_EVENTS } from "../../webhooks/catalog.js";
import { RestFailure, type Dialect, type GraphQLData, type Route } from "../route.js";
import { bareId, bodyId, integerParam, intParamAtLeast, nodes, param, pathId, reasonPhrase, vocabulary } from "../mapping.js";

const timestamp = z.string().describe("ISO 8601 date-time");
const uuid = z.string().describe("uuid");

const LEAD_STATUS = vocabulary({ NEW: "NEW", QUALIFIED: "QUALIFIED", CONTACTED: "CONTACTED", BOOKED: "CONTACTED", WON: "WON", LOST: "LOST" });

const Lead = z.object({
  id: uuid,
  status: z.enum(LEAD_STATUS.words),
  fields: z.record(z.string(), z.unknown()),
  score: z.number().int().nullable(),
  source: z.string().nullable(),
  conversationId: uuid.nullable(),
  crmExternalId: z.string().nullable(),
  createdAt: timestamp,
  updatedAt: timestamp,
});

const LeadStatusChange = z.object({ id: uuid, status: Lead.shape.status, updatedAt: timestamp });
const BulkResult = z.object({ updated: z.number().int(), skipped: z.number().int().describe("Ids already in that state, or not found") });

const ConversationStatus = z.enum(["OPEN", "HANDED_OFF", "CLOSED"]);
const ConversationRow = z.object({
  id: uuid,
  agentId: uuid.nullable(),
  channelId: uuid.nullable(),
  status: ConversationStatus,
  createdAt: timestamp,
});

/** Convo reports two roles; operator replies go out through the assistant, as its docs show. */
const Message = z.object({ id: uuid, role: z.enum(["USER", "ASSISTANT"]), content: z.string(), createdAt: timestamp });

const Conversation = ConversationRow.extend({
  sentiment: z.enum(["POSITIVE", "NEUTRAL", "NEGATIVE"]).nullable(),
  assignedOperator: z.string().nullable(),
  tags: z.array(z.object({ id: uuid, name: z.string() })),
  updatedAt: timestamp,
  messages: z.array(Message).describe("The transcript, oldest first (the first 100 messages)."),
});

const AgentRow = z.object({
  id: uuid,
  name: z.string(),
  status: z.enum(["DRAFT", "PUBLISHED", "ARCHIVED"]),
  modelProvider: z.string().nullable(),
  modelName: z.string().nullable(),
});
const Agent = AgentRow.extend({ systemPrompt: z.string(), createdAt: timestamp, updatedAt: timestamp });

const Channel = z.object({ id: uuid, type: z.string(), name: z.string(), agentId: uuid.nullable(), createdAt: timestamp });

const WebhookEvent = z.enum(WEBHOOK_EVENTS.CONVO as [string, ...string[]]);
const WEBHOOK_FIELDS = ["type", "url", "events"];
const CreatedWebhook = z.object({
  id: uuid,
  type: z.literal("WEBHOOK"),
  url: z.string(),
  events: z.array(z.string()),
  signingSecret: z.string().describe("wh_…: verify X-Convo-Signature with it. Returned this once; no API shows it again."),
});
const Webhook = z.object({
  id: uuid,
  type: z.literal("WEBHOOK"),
  url: z.string(),
  events: z.array(z.string()),
  status: z.enum(["CONNECTED", "DISCONNECTED"]).describe("DISCONNECTED once disabled (by its owner, or by the service after repeated failed deliveries)"),
  createdAt: timestamp,
});

/** A webhook registration's own rules: `type` is "WEBHOOK", `events` an array, and no field Convo does not document. */
function checkWebhookBody(body: Record<string, unknown>) {
  const errors: Record<string, string[]> = {};
  if (body.type === undefined) errors.type = ["is required"];
  else if (body.type !== "WEBHOOK") errors.type = ['must be "WEBHOOK"'];
  // GraphQL would take a lone name for a list of one: Convo documents an array.
  if (body.events !== undefined && !Array.isArray(body.events)) errors.events = ["must be an array of event names"];
  for (const field of Object.keys(body).filter((name) => !WEBHOOK_FIELDS.includes(name))) errors[field] = ["is not a known field"];
  const invalid = Object.keys(errors);
  if (invalid.length > 0) throw new RestFailure({ status: 422, code: "BAD_USER_INPUT", message: `${invalid[0]}: ${errors[invalid[0]!]![0]}`, fields: errors });
}

const lead = (row: GraphQLData) => ({ ...row, id: bareId(row.id), status: LEAD_STATUS.word(row.status), conversationId: bareId(row.conversationId) });
const conversationRow = (row: GraphQLData) => ({
  id: bareId(row.id),
  agentId: bareId(row.agentId),
  channelId: bareId(row.channelId),
  status: row.status,
  createdAt: row.createdAt,
});
const message = (row: GraphQLData) => ({
  id: bareId(row.id),
  role: row.role === "USER" ? "USER" : "ASSISTANT",
  content: row.content,
  createdAt: row.createdAt,
});

const page = z.object({
  limit: integerParam(1, "Page size, 1 to 100 (default 50; larger values are served as 100)"),
  offset: integerParam(0, "Rows to skip (default 0)"),
});
const pageVariables = (query: URLSearchParams) => ({
  first: intParamAtLeast("limit", query.get("limit"), 1) ?? 50,
  offset: intParamAtLeast("offset", query.get("offset"), 0),
});
const pageFields = { first: "limit", offset: "offset" };
const idParam = z.object({ id: uuid });

const routes: Route[] = [
  {
    method: "GET",
    path: "/leads",
    operation: "ConvoListLeads",
    summary: "List leads",
    scopes: ["leads:read"],
    query: page.extend({
      status: Lead.shape.status.optional(),
      sort: z.enum(["newest", "score"]).optional().describe("newest (default) or score, highest first"),
    }),
    response: z.array(Lead),
    variables: ({ query }) => ({ ...pageVariables(query), statusIn: LEAD_STATUS.every(param(query.get("status"))), sort: param(query.get("sort"))?.toUpperCase() }),
    result: (data) => nodes(data.leads).map(lead),
    fields: { ...pageFields, statusIn: "status" },
  },
  {
    method: "POST",
    path: "/leads",
    operation: "ConvoCreateLead",
    summary: "Create a lead",
    scopes: ["leads:write"],
    status: 201,
    body: z.object({
      fields: z.record(z.string(), z.unknown()).optional(),
      source: z.string().optional(),
      status: Lead.shape.status.optional(),
      score: z.number().int().min(0).max(100).optional(),
      conversationId: uuid.optional(),
      crmExternalId: z.string().optional(),
    }),
    response: Lead,
    variables: ({ body }) => ({
      input: {
        fields: body.fields,
        source: body.source,
        status: LEAD_STATUS.canonical(body.status),
        score: body.score,
        conversationId: bodyId("Conversation", body.conversationId),
        crmExternalId: body.crmExternalId,
      },
    }),
    result: (data) => lead(data.createLead),
    fields: {
      "input.fields": "fields",
      "input.source": "source",
      "input.status": "status",
      "input.score": "score",
      "input.conversationId": "conversationId",
      "input.crmExternalId": "crmExternalId",
    },
  },
  {
    method: "PATCH",
    path: "/leads/:id/status",
    operation: "ConvoUpdateLeadStatus",
    summary: "Update lead status",
    scopes: ["leads:write"],
    params: idParam,
    body: z.object({ status: Lead.shape.status }),
    response: LeadStatusChange,
    variables: ({ params, body }) => ({ id: pathId("Lead", params.id!), status: LEAD_STATUS.canonical(body.status) }),
    result: (data) => ({ ...data.updateLeadStatus, id: bareId(data.updateLeadStatus.id), status: LEAD_STATUS.word(data.updateLeadStatus.status) }),
    fields: { id: "id", status: "status" },
  },
  {
    method: "GET",
    path: "/conversations",
    operation: "ConvoListConversations",
    summary: "List conversations",
    scopes: ["conversations:read"],
    query: page.extend({
      agentId: uuid.optional(),
      channelId: uuid.optional(),
      status: ConversationStatus.optional(),
      tagIds: z.string().optional().describe("Comma-separated tag ids; matches conversations with any of them"),
    }),
    response: z.array(ConversationRow),
    variables: ({ query }) => ({
      ...pageVariables(query),
      agentId: bodyId("Agent", param(query.get("agentId"))),
      channelId: bodyId("Channel", param(query.get("channelId"))),
      status: param(query.get("status")),
      tagIds: param(query.get("tagIds"))
        ?.split(",")
        .map((id) => bodyId("Tag", id.trim())),
    }),
    result: (data) => nodes(data.conversations).map(conversationRow),
    fields: { ...pageFields, agentId: "agentId", channelId: "channelId", status: "status", tagIds: "tagIds" },
  },
  {
    method: "GET",
    path: "/conversations/:id",
    operation: "ConvoGetConversation",
    summary: "Fetch a conversation with its transcript",
    scopes: ["conversations:read"],
    params: idParam,
    response: Conversation,
    variables: ({ params }) => ({ id: pathId("Conversation", params.id!) }),
    result: ({ conversation }) => ({
      ...conversationRow(conversation),
      sentiment: conversation.sentiment,
      assignedOperator: conversation.assignedOperator,
      tags: conversation.tags.map((tag: GraphQLData) => ({ id: bareId(tag.id), name: tag.name })),
      updatedAt: conversation.updatedAt,
      messages: nodes(conversation.messages).map(message),
    }),
    fields: { id: "id" },
  },
  {
    method: "POST",
    path: "/conversations/:id/operator-message",
    operation: "ConvoSendOperatorMessage",
    summary: "Send an operator reply",
    scopes: ["conversations:write"],
    status: 201,
    params: idParam,
    body: z.object({ content: z.string().min(1).max(10_000) }),
    response: Message,
    variables: ({ params, body }) => ({ conversationId: pathId("Conversation", params.id!), content: body.content }),
    result: (data) => message(data.sendOperatorMessage),
    fields: { conversationId: "id", content: "content" },
  },
  {
    method: "POST",
    path: "/conversations/bulk",
    operation: "ConvoBulkUpdateConversations",
    summary: "Close, reopen, assign, tag or untag up to 200 conversations",
    scopes: ["conversations:write"],
    body: z.object({
      ids: z.array(uuid).min(1).max(200),
      action: z.enum(["close", "reopen", "assign", "tag", "untag"]),
      operator: z.string().nullable().optional().describe("For assign: the operator; null unassigns"),
      tagIds: z.array(uuid).optional().describe("For tag and untag"),
    }),
    response: BulkResult,
    variables: ({ body }) => ({
      input: {
        ids: Array.isArray(body.ids) ? body.ids.map((id) => bodyId("Conversation", id)) : body.ids,
        action: typeof body.action === "string" ? body.action.toUpperCase() : body.action,
        operator: body.operator,
        tagIds: Array.isArray(body.tagIds) ? body.tagIds.map((id) => bodyId("Tag", id)) : body.tagIds,
      },
    }),
    result: (data) => data.bulkUpdateConversations,
    fields: { "input.ids": "ids", "input.action": "action", "input.operator": "operator", "input.tagIds": "tagIds" },
  },
  {
    method: "GET",
    path: "/agents",
    operation: "ConvoListAgents",
    summary: "List agents",
    scopes: ["agents:read"],
    query: page,
    response: z.array(AgentRow),
    variables: ({ query }) => pageVariables(query),
    result: (data) => nodes(data.agents).map((agent) => ({ ...agent, id: bareId(agent.id) })),
    fields: pageFields,
  },
  {
    method: "GET",
    path: "/agents/:id",
    operation: "ConvoGetAgent",
    summary: "Fetch an agent",
    scopes: ["agents:read"],
    params: idParam,
    response: Agent,
    variables: ({ params }) => ({ id: pathId("Agent", params.id!) }),
    result: ({ agent }) => ({ ...agent, id: bareId(agent.id) }),
    fields: { id: "id" },
  },
  {
    method: "GET",
    path: "/channels",
    operation: "ConvoListChannels",
    summary: "List channels (any Convo token: Convo documents no scope for it)",
    scopes: [],
    grants: ["channels:read"],
    query: page,
    response: z.array(Channel),
    variables: ({ query }) => pageVariables(query),
    result: (data) => nodes(data.channels).map((channel) => ({ ...channel, id: bareId(channel.id), agentId: bareId(channel.agentId) })),
    fields: pageFields,
  },
  {
    method: "POST",
    path: "/integrations/webhook",
    operation: "ConvoCreateWebhook",
    summary: "Subscribe to outbound webhook events (the signing secret is returned this once)",
    scopes: ["webhooks:write"],
    status: 201,
    body: z
      .object({
        type: z.literal("WEBHOOK"),
        url: z.string().describe("An https URL"),
        events: z.array(WebhookEvent).min(1).describe("At least one, each once"),
      })
      .strict(),
    response: CreatedWebhook,
    variables: ({ body }) => {
      checkWebhookBody(body);
      return { input: { dialect: "CONVO", url: body.url, events: body.events } };
    },
    result: ({ createWebhookEndpoint: created }) => ({
      id: bareId(created.endpoint.id),
      type: "WEBHOOK",
      url: created.endpoint.url,
      events: created.endpoint.events,
      signingSecret: created.signingSecret,
    }),
    // "input": a rule about the registration as a whole (the number of webhooks a workspace may have).
    fields: { "input.url": "url", "input.events": "events", input: "body" },
  },
  {
    method: "GET",
    path: "/integrations",
    operation: "ConvoListIntegrations",
    summary: "List webhooks (the workspace's integrations), never with their secrets",
    scopes: ["webhooks:read"],
    response: z.array(Webhook),
    variables: () => ({}),
    result: (data) =>
      nodes(data.webhookEndpoints).map((endpoint) => ({
        id: bareId(endpoint.id),
        type: "WEBHOOK",
        url: endpoint.url,
        events: endpoint.events,
        status: endpoint.status === "ACTIVE" ? "CONNECTED" : "DISCONNECTED",
        createdAt: endpoint.createdAt,
      })),
  },
];

const ErrorBody = z.object({
  statusCode: z.number().int(),
  error: z.string().describe("The status's reason phrase"),
  message: z.string(),
  scope: z.string().optional().describe("403: the missing scope"),
  errors: z.record(z.string(), z.array(z.string())).optional().describe("422: messages per field"),
});

export const convo: Dialect = {
  name: "convo",
  title: "Convo (Avelto) Public API v1",
  formats: ["CONVO"],
  basePaths: ["/api/v1"],
  routes,
  errorSchema: ErrorBody,
  components: { Lead, LeadStatusChange, BulkResult, ConversationRow, Conversation, Message, AgentRow, Agent, Channel, CreatedWebhook, Webhook },
  enumValues: { LeadStatus: LEAD_STATUS.words.join(", ") },
  error: (failure) => ({
    statusCode: failure.status,
    error: reasonPhrase(failure.status),
    message: failure.message,
    ...(failure.scope ? { scope: failure.scope } : {}),
    ...(failure.fields ? { errors: failure.fields } : {}),
  }),
};
