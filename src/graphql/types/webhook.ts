// Outbound webhooks as their owners see them: endpoints (where a dialect's events are POSTed,
// signed with the endpoint's secret), their deliveries (one event's body for one endpoint,
// with every attempt made), and the mutations that manage them. The rules live in
// src/webhooks/endpoints.ts, shared with the admin CLI; delivering is src/webhooks/engine.ts.
//
// - Scopes: webhooks:read to see endpoints and deliveries, webhooks:write to change them. A
//   mutation's own endpoint is readable with webhooks:write alone ("written"), its deliveries
//   are not: they replay events' data.
// - A signing secret is returned once, by createWebhookEndpoint and rotateWebhookSecret; an
//   endpoint shows only its first characters (secretPrefix). Sealed secrets, Agent.sa headers
//   and Agent.sa body are never fields.
// - Agent.sa (VELENTS_AGENT) endpoints are made by dispatches, not here. They are listed, with
//   their link shown only as its origin and their deliveries without payload: the dispatch's
//   link and body, which every such payload carries, are never returned (see dispatch.ts).
import { WebhookDeliveryStatus, WebhookDialect, WebhookEndpointStatus } from "../../generated/prisma/enums.js";
import type { Prisma } from "../../generated/prisma/client.js";
import { createEndpoint, deleteEndpoint, publicUrl, REGISTERED_DIALECTS, rotateSecret, updateEndpoint } from "../../webhooks/endpoints.js";
import { builder } from "../builder.js";
import type { Context } from "../context.js";
import { conflict, notFound } from "../errors.js";
import { encodeId, idOf } from "../ids.js";
import { newestFirst } from "../pagination.js";

export const WebhookDialectEnum = builder.enumType(WebhookDialect, {
  name: "WebhookDialect",
  description: "Whose format an endpoint's deliveries take: their bodies, event names and signature. VELENTS_AGENT endpoints are made by Agent.sa dispatches.",
});
const RegisteredWebhookDialectEnum = builder.enumType("RegisteredWebhookDialect", {
  description: "The dialects whose endpoints are registered by their owners (Agent.sa's come with its dispatches).",
  values: REGISTERED_DIALECTS,
});
export const WebhookEndpointStatusEnum = builder.enumType(WebhookEndpointStatus, {
  name: "WebhookEndpointStatus",
  description: "DISABLED by its owner, or by the service after a long run of failed deliveries (disabledReason says which); nothing is sent to it meanwhile.",
});
export const WebhookDeliveryStatusEnum = builder.enumType(WebhookDeliveryStatus, {
  name: "WebhookDeliveryStatus",
  description: "PENDING: waiting for its first or next attempt; DELIVERED: a 2xx came back; FAILED: a 4xx, a refused target, or every attempt failed (redeliverWebhook tries again).",
});

export const WebhookEndpointRef = builder.prismaNode("WebhookEndpoint", {
  id: { field: "id" },
  authScopes: { scope: "webhooks:read", $granted: "written" },
  findUnique: (id, ctx) => ({ id, tenantId: ctx.tenantId }),
  fields: (t) => ({
    dialect: t.expose("dialect", { type: WebhookDialectEnum }),
    url: t.string({
      description: "Where deliveries are POSTed. An Agent.sa endpoint shows only its origin: a dispatch's link is never returned.",
      resolve: (endpoint) => publicUrl(endpoint),
    }),
    events: t.exposeStringList("events", { description: "The dialect's event names it receives; empty for Agent.sa endpoints, which receive all four." }),
    description: t.exposeString("description", { nullable: true }),
    status: t.expose("status", { type: WebhookEndpointStatusEnum }),
    disabledReason: t.exposeString("disabledReason", { nullable: true }),
    secretPrefix: t.exposeString("secretPrefix", {
      nullable: true,
      description: "The signing secret's first characters, to tell which one a receiver holds. The secret itself is shown once only; null for Agent.sa endpoints, which are not signed.",
    }),
    consecutiveFailures: t.exposeInt("consecutiveFailures", { description: "Deliveries in a row that ended FAILED; one delivered resets it." }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    updatedAt: t.expose("updatedAt", { type: "DateTime" }),
    deliveries: t.relatedConnection("deliveries", {
      cursor: "id",
      totalCount: true,
      description: "Its deliveries, newest first.",
      // Payloads replay events' data: the "written" grant of a mutation does not reach them.
      authScopes: { scope: "webhooks:read" },
      args: { status: t.arg({ type: WebhookDeliveryStatusEnum }) },
      query: (args) => ({ where: args.status ? { status: args.status } : {}, orderBy: newestFirst }),
    }),
  }),
});

builder.prismaObject("WebhookAttempt", {
  description: "One try at sending a delivery.",
  fields: (t) => ({
    number: t.exposeInt("number", { description: "1 for the first attempt." }),
    statusCode: t.exposeInt("statusCode", { nullable: true, description: "The response's status; null when none came (timeout, network error, refused target)." }),
    durationMs: t.exposeInt("durationMs"),
    error: t.exposeString("error", { nullable: true, description: "Why no response counted: a timeout, a network error, a refused target." }),
    responseBody: t.exposeString("responseBody", { nullable: true, description: "The start of the response body (at most 1 KiB)." }),
    attemptedAt: t.expose("attemptedAt", { type: "DateTime" }),
    nextAttemptAt: t.expose("nextAttemptAt", { type: "DateTime", nullable: true, description: "When the next attempt is due; null when this one ended the delivery." }),
  }),
});

export const WebhookDeliveryRef = builder.prismaNode("WebhookDelivery", {
  id: { field: "id" },
  description: "One event's body for one endpoint, and its attempts.",
  authScopes: { scope: "webhooks:read" },
  findUnique: (id, ctx) => ({ id, tenantId: ctx.tenantId }),
  fields: (t) => ({
    endpoint: t.relation("endpoint"),
    eventName: t.exposeString("eventName", { description: "The dialect's name for the event (booking.created, onEnded, ...)." }),
    eventId: t.exposeID("eventId", { description: "The change it reports: every endpoint's delivery of one change has the same eventId." }),
    status: t.expose("status", { type: WebhookDeliveryStatusEnum }),
    attemptCount: t.exposeInt("attemptCount"),
    nextAttemptAt: t.expose("nextAttemptAt", { type: "DateTime", nullable: true }),
    deliveredAt: t.expose("deliveredAt", { type: "DateTime", nullable: true }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    payload: t.field({
      type: "JSON",
      nullable: true,
      description: "The body sent (and signed) on every attempt. Null for Agent.sa deliveries: they carry their dispatch's webhook body, which is never returned.",
      select: { body: true, endpoint: { select: { dialect: true } } },
      resolve: (delivery) => (delivery.endpoint.dialect === "VELENTS_AGENT" ? null : (JSON.parse(delivery.body) as unknown)),
    }),
    attempts: t.relation("attempts", { description: "Oldest first.", query: { orderBy: { number: "asc" } } }),
  }),
});

// ---------------------------------------------------------------------------------------
// Queries.
// ---------------------------------------------------------------------------------------

function endpointWhere(ctx: Context, dialect: WebhookDialect | null | undefined): Prisma.WebhookEndpointWhereInput {
  return { tenantId: ctx.tenantId, ...(dialect ? { dialect } : {}) };
}

builder.queryField("webhookEndpoints", (t) =>
  t.prismaConnection({
    type: "WebhookEndpoint",
    cursor: "id",
    authScopes: { scope: "webhooks:read" },
    description: "The tenant's webhook endpoints, newest first.",
    args: { dialect: t.arg({ type: WebhookDialectEnum }) },
    resolve: (query, _root, args, ctx) => ctx.prisma.webhookEndpoint.findMany({ ...query, where: endpointWhere(ctx, args.dialect), orderBy: newestFirst }),
    totalCount: (_parent, args, ctx) => ctx.prisma.webhookEndpoint.count({ where: endpointWhere(ctx, args.dialect) }),
  }),
);

// ---------------------------------------------------------------------------------------
// Mutations.
// ---------------------------------------------------------------------------------------

const WebhookEndpointSecret = builder.objectRef<{ endpointId: string; signingSecret: string }>("WebhookEndpointSecret").implement({
  fields: (t) => ({
    endpoint: t.prismaField({
      type: "WebhookEndpoint",
      grantScopes: ["written"],
      resolve: (query, parent, _args, ctx) => ctx.prisma.webhookEndpoint.findUniqueOrThrow({ ...query, where: { id: parent.endpointId } }),
    }),
    signingSecret: t.exposeString("signingSecret", {
      description: "The endpoint's signing secret. Shown this once: it is stored encrypted and no API returns it again (rotateWebhookSecret makes a new one).",
    }),
  }),
});

const CreateWebhookEndpointInput = builder.inputType("CreateWebhookEndpointInput", {
  fields: (t) => ({
    dialect: t.field({ type: RegisteredWebhookDialectEnum, required: true, description: "Whose bodies, event names and signature its deliveries take." }),
    url: t.string({ required: true, description: "An https URL (http and private addresses only where the service allows them: WEBHOOK_ALLOW_PRIVATE)." }),
    events: t.stringList({ required: true, description: "The dialect's event names to receive: at least one, each once." }),
    description: t.string({ description: "At most 500 characters." }),
  }),
});

const UpdateWebhookEndpointInput = builder.inputType("UpdateWebhookEndpointInput", {
  description: "Omitted fields are left as they are; null clears the description. An Agent.sa endpoint's url and events are its dispatch's (CONFLICT).",
  fields: (t) => ({
    url: t.string(),
    events: t.stringList(),
    description: t.string(),
    enabled: t.boolean({
      description:
        "true: ACTIVE again, with its failure count and disabled reason cleared, and its paused deliveries resumed; false: DISABLED: its pending deliveries pause, events meanwhile are not sent to it.",
    }),
  }),
});

builder.mutationFields((t) => ({
  createWebhookEndpoint: t.field({
    type: WebhookEndpointSecret,
    description: "Registers an endpoint (at most 25 a tenant) and returns its signing secret, this once.",
    authScopes: { scope: "webhooks:write" },
    args: { input: t.arg({ type: CreateWebhookEndpointInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const { endpoint, signingSecret } = await createEndpoint(ctx.prisma, ctx.webhooks.box(), ctx.webhooks.allowPrivate, {
        tenantId: ctx.tenantId,
        dialect: input.dialect,
        url: input.url,
        events: input.events,
        description: input.description,
      });
      return { endpointId: endpoint.id, signingSecret };
    },
  }),
  updateWebhookEndpoint: t.prismaField({
    type: "WebhookEndpoint",
    description: "Changes an endpoint's url, events or description, or disables or enables it (enabling clears its failure count and disabled reason).",
    authScopes: { scope: "webhooks:write" },
    grantScopes: ["written"],
    args: { id: t.arg.globalID({ for: WebhookEndpointRef, required: true, validate: idOf("WebhookEndpoint") }), input: t.arg({ type: UpdateWebhookEndpointInput, required: true }) },
    resolve: async (query, _root, { id, input }, ctx) => {
      const endpoint = await updateEndpoint(ctx.prisma, ctx.webhooks.allowPrivate, ctx.tenantId, id.id, input);
      if (input.enabled === true) ctx.webhooks.resume();
      return ctx.prisma.webhookEndpoint.findUniqueOrThrow({ ...query, where: { id: endpoint.id } });
    },
  }),
  rotateWebhookSecret: t.field({
    type: WebhookEndpointSecret,
    description: "Replaces an endpoint's signing secret at once and returns the new one, this once. CONFLICT for Agent.sa endpoints, which are not signed.",
    authScopes: { scope: "webhooks:write" },
    args: { id: t.arg.globalID({ for: WebhookEndpointRef, required: true, validate: idOf("WebhookEndpoint") }) },
    resolve: async (_root, { id }, ctx) => {
      const { endpoint, signingSecret } = await rotateSecret(ctx.prisma, ctx.webhooks.box(), ctx.tenantId, id.id);
      return { endpointId: endpoint.id, signingSecret };
    },
  }),
  deleteWebhookEndpoint: t.field({
    type: "ID",
    description: "Deletes an endpoint with its deliveries; nothing more is sent to it. Returns the id.",
    authScopes: { scope: "webhooks:write" },
    args: { id: t.arg.globalID({ for: WebhookEndpointRef, required: true, validate: idOf("WebhookEndpoint") }) },
    resolve: async (_root, { id }, ctx) => {
      await deleteEndpoint(ctx.prisma, ctx.tenantId, id.id);
      return encodeId("WebhookEndpoint", id.id);
    },
  }),
  redeliverWebhook: t.prismaField({
    type: "WebhookDelivery",
    description:
      "Queues one more attempt for a delivery that ended (DELIVERED or FAILED), or whose attempt is over 5 minutes late; it is PENDING again. CONFLICT while it is PENDING on time, or while its endpoint is disabled.",
    authScopes: { scope: "webhooks:write" },
    args: { id: t.arg.globalID({ for: WebhookDeliveryRef, required: true, validate: idOf("WebhookDelivery") }) },
    resolve: async (query, _root, { id }, ctx) => {
      const delivery = await ctx.prisma.webhookDelivery.findFirst({
        where: { id: id.id, tenantId: ctx.tenantId },
        select: { status: true, endpoint: { select: { status: true } } },
      });
      if (!delivery) throw notFound("WebhookDelivery", "id");
      if (delivery.endpoint.status !== "ACTIVE") throw conflict("Its endpoint is disabled: enable it before redelivering");
      if ((await ctx.webhooks.redeliver(ctx.tenantId, { deliveryId: id.id })) === 0) {
        throw conflict("This delivery is still pending: its next attempt is already queued");
      }
      return ctx.prisma.webhookDelivery.findUniqueOrThrow({ ...query, where: { id: id.id } });
    },
  }),
  redeliverFailedWebhooks: t.int({
    description:
      "Recovery after an outage: one more attempt for every FAILED delivery of the endpoint made since `since` (the endpoint must be ACTIVE). Returns how many were queued.",
    authScopes: { scope: "webhooks:write" },
    args: {
      endpointId: t.arg.globalID({ for: WebhookEndpointRef, required: true, validate: idOf("WebhookEndpoint") }),
      since: t.arg({ type: "DateTime", required: true }),
    },
    resolve: async (_root, { endpointId, since }, ctx) => {
      const endpoint = await ctx.prisma.webhookEndpoint.findFirst({ where: { id: endpointId.id, tenantId: ctx.tenantId }, select: { status: true } });
      if (!endpoint) throw notFound("WebhookEndpoint", "endpointId");
      if (endpoint.status !== "ACTIVE") throw conflict("The endpoint is disabled: enable it before redelivering");
      return ctx.webhooks.redeliver(ctx.tenantId, { endpointId: endpointId.id, failedSince: since });
    },
  }),
}));
