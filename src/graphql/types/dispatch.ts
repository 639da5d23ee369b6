// Outbound starts, as Velents Agent.sa's Dispatch and Batch do them: an agent opens a WhatsApp
// or voice conversation with a phone number, hands the agent `values`, and may name a webhook
// for the conversation's lifecycle events. Nothing here talks to a phone network: the
// conversation is stored OPEN and announced (CREATED/UPDATED), and whoever runs the agent on
// that channel subscribes and starts talking, as channel workers do for outbound messages.
//
// Rules (README "Agent.sa" lists them too):
// - The conversation is keyed like every other one, by (channel type, customer identifier):
//   the phone, without spaces, dashes, dots or brackets (addressOf, as sendMessageToContact).
// - None there yet: created OPEN with the agent, the values and the webhook (CREATED).
//   A CLOSED one: reopened for this dispatch, with this agent, these values and this webhook
//   (a dispatch without a webhook clears the old one), its extraction emptied since it
//   belonged to the previous run, its history kept (UPDATED). An OPEN or HANDED_OFF one is a
//   run in progress: dispatchConversation answers CONFLICT, dispatchBatch skips the row and
//   reports it, as it does a row repeating an earlier row's phone. A batch is one transaction.
// - The agent: a VELENTS_AGENT token dispatches for its own agent only (agentId may be left
//   out); any other agent id is NOT_FOUND, exactly as an unknown one, so that probing
//   dispatch learns nothing about which agents exist. Other tokens name an agent of their
//   tenant.
// - The webhook ({link, body, headers}) is stored and never returned by any API (headers may
//   hold secrets); a conversation says only whether it has one (hasWebhook).
import { z } from "zod";
import { Prisma } from "../../generated/prisma/client.js";
import type { ChannelType } from "../../generated/prisma/enums.js";
import { reserveNumbers } from "../../db/numbers.js";
import { conversationEvent, conversationFacts } from "../../events/events.js";
import { builder } from "../builder.js";
import type { Context } from "../context.js";
import { badInput, conflict, notFound, prismaErrorCode } from "../errors.js";
import { idOf } from "../ids.js";
import { newestFirst } from "../pagination.js";
import { transact } from "../publish.js";
import { rules } from "../validation.js";
import { webhookUrlProblem } from "../../webhooks/send.js";
import { AgentRef } from "./agent.js";
import { ConversationRef } from "./conversation.js";
import { ChannelTypeEnum } from "./enums.js";
import { addressOf } from "./message.js";

/** The channels an agent can start a conversation on (Agent.sa: WhatsApp and voice). */
const DISPATCH_CHANNELS = ["WHATSAPP", "VOICE"] as const;
const MAX_BATCH_ROWS = 1_000;
const MAX_WEBHOOK_HEADERS = 50;
/** An HTTP header name (RFC 9110 token). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$/;

const webhookLink = z
  .url({ protocol: /^https?$/, error: "must be an http or https URL" })
  .max(2_048, "must be at most 2048 characters");

/** Sent as HTTP headers later: names must be tokens, values must not break a header line. */
const webhookHeaders = z
  .record(
    z.string().regex(HEADER_NAME, "header names must be HTTP header names such as X-Api-Key"),
    z
      .string("header values must be strings")
      .max(4_096, "header values must be at most 4096 characters")
      .refine((value) => !/[\r\n\0]/.test(value), "header values must not contain line breaks or NUL")
      // What node:http sends: tabs, printable ASCII and Latin-1; anything else would fail every attempt.
      .refine((value) => !/[^\t\x20-\x7e\x80-\xff]/.test(value), "header values must be printable ASCII or Latin-1 text"),
    "must be an object of header names to strings",
  )
  .refine((headers) => Object.keys(headers).length <= MAX_WEBHOOK_HEADERS, `at most ${MAX_WEBHOOK_HEADERS} headers`)
  .nullish();

const dispatchChannel = z.enum(DISPATCH_CHANNELS, "must be WHATSAPP or VOICE");

// ---------------------------------------------------------------------------------------
// Types.
// ---------------------------------------------------------------------------------------

const DispatchBatchCounts = builder
  .objectRef<{ total: number; open: number; handedOff: number; closed: number }>("DispatchBatchCounts")
  .implement({
    description: "The batch's conversations by status, now. A conversation dispatched again later by another batch counts there instead.",
    fields: (t) => ({
      total: t.exposeInt("total"),
      open: t.exposeInt("open"),
      handedOff: t.exposeInt("handedOff"),
      closed: t.exposeInt("closed"),
    }),
  });

export const DispatchBatchRef = builder.prismaNode("DispatchBatch", {
  id: { field: "id" },
  description: "A bulk outbound start (Velents Agent.sa Batch).",
  authScopes: { scope: "conversations:read", $granted: "written" },
  findUnique: (id, ctx) => ({ id, tenantId: ctx.tenantId }),
  fields: (t) => ({
    name: t.exposeString("name"),
    channelType: t.expose("channelType", { type: ChannelTypeEnum }),
    agentId: t.globalID({ resolve: (batch) => ({ type: "Agent", id: batch.agentId }) }),
    agent: t.relation("agent"),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    conversations: t.relatedConnection("conversations", {
      cursor: "id",
      totalCount: true,
      description: "The conversations this batch started or reopened, by number.",
      query: { orderBy: [{ number: "asc" }] },
    }),
    counts: t.field({
      type: DispatchBatchCounts,
      resolve: async (batch, _args, ctx) => {
        const groups = await ctx.prisma.conversation.groupBy({
          by: ["status"],
          where: { tenantId: ctx.tenantId, batchId: batch.id },
          _count: { _all: true },
        });
        const of = (status: string) => groups.find((group) => group.status === status)?._count._all ?? 0;
        return { total: groups.reduce((sum, group) => sum + group._count._all, 0), open: of("OPEN"), handedOff: of("HANDED_OFF"), closed: of("CLOSED") };
      },
    }),
  }),
});

builder.prismaObjectFields(ConversationRef, (t) => ({
  hasWebhook: t.boolean({
    description: "Whether a dispatch gave this conversation a webhook for its lifecycle events. The webhook itself is never returned.",
    select: { webhookEndpointId: true },
    resolve: (conversation) => conversation.webhookEndpointId !== null,
  }),
  batchId: t.globalID({
    nullable: true,
    description: "The Agent.sa batch that started or last reopened it.",
    resolve: (conversation) => (conversation.batchId ? { type: "DispatchBatch", id: conversation.batchId } : null),
  }),
  batch: t.relation("batch", { nullable: true }),
}));

const DispatchWebhookInput = builder.inputType("DispatchWebhookInput", {
  description: "Where the conversation's lifecycle events are to be POSTed. Stored, never returned: headers may hold secrets.",
  fields: (t) => ({
    link: t.string({ required: true, description: "An http or https URL.", validate: webhookLink }),
    body: t.field({ type: "JSON", description: "A JSON object sent along with every event.", validate: rules.jsonObject }),
    headers: t.field({ type: "JSON", description: "HTTP headers sent with every event: an object of header names to strings.", validate: webhookHeaders }),
  }),
});

const agentIdField = "The dispatching agent. A VELENTS_AGENT token may leave it out (its own agent) and may name no other; other tokens must give it.";

const DispatchConversationInput = builder.inputType("DispatchConversationInput", {
  fields: (t) => ({
    agentId: t.globalID({ for: AgentRef, description: agentIdField, validate: idOf("Agent").nullish() }),
    channelType: t.field({ type: ChannelTypeEnum, required: true, description: "WHATSAPP or VOICE.", validate: dispatchChannel }),
    phone: t.string({ required: true, description: "The customer's phone, E.164 recommended; stored without spaces, dashes, dots and brackets.", validate: rules.phone }),
    values: t.field({ type: "JSON", description: "A JSON object handed to the agent (Agent.sa `values`).", validate: rules.jsonObject }),
    webhook: t.field({ type: DispatchWebhookInput }),
  }),
});

const DispatchRowInput = builder.inputType("DispatchRowInput", {
  fields: (t) => ({
    phone: t.string({ required: true, validate: rules.phone }),
    values: t.field({ type: "JSON", validate: rules.jsonObject }),
  }),
});

const DispatchBatchInput = builder.inputType("DispatchBatchInput", {
  fields: (t) => ({
    agentId: t.globalID({ for: AgentRef, description: agentIdField, validate: idOf("Agent").nullish() }),
    channelType: t.field({ type: ChannelTypeEnum, required: true, description: "WHATSAPP or VOICE.", validate: dispatchChannel }),
    name: t.string({ required: true, validate: rules.name }),
    rows: t.field({
      type: [DispatchRowInput],
      required: true,
      description: `1 to ${MAX_BATCH_ROWS} rows.`,
      validate: z.array(z.unknown()).min(1, "must hold at least one row").max(MAX_BATCH_ROWS, `at most ${MAX_BATCH_ROWS} rows per batch`),
    }),
    webhook: t.field({ type: DispatchWebhookInput, description: "The same webhook for every conversation of the batch." }),
  }),
});

const DispatchSkipReason = builder.enumType("DispatchSkipReason", {
  values: {
    IN_PROGRESS: { description: "The tenant has an OPEN or HANDED_OFF conversation with this phone on this channel." },
    DUPLICATE: { description: "An earlier row of the batch has the same phone." },
  },
});

interface SkippedRow {
  row: number;
  phone: string;
  reason: "IN_PROGRESS" | "DUPLICATE";
  message: string;
}

interface DispatchedRow {
  row: number;
  conversationId: string;
  number: number;
  phone: string;
  reopened: boolean;
}

interface BatchOutcome {
  batchId: string;
  dispatched: DispatchedRow[];
  skipped: SkippedRow[];
}

const DispatchedRowRef = builder.objectRef<DispatchedRow>("DispatchedRow").implement({
  fields: (t) => ({
    row: t.exposeInt("row", { description: "The row's index in `rows`, from 0." }),
    conversationId: t.globalID({ resolve: (row) => ({ type: "Conversation", id: row.conversationId }) }),
    number: t.exposeInt("number", { description: "The conversation's number (Agent.sa's conversation id)." }),
    phone: t.exposeString("phone", { description: "As stored." }),
    reopened: t.exposeBoolean("reopened", { description: "A CLOSED conversation was reopened rather than a new one created." }),
  }),
});

const SkippedRowRef = builder.objectRef<SkippedRow>("DispatchSkippedRow").implement({
  fields: (t) => ({
    row: t.exposeInt("row", { description: "The row's index in `rows`, from 0." }),
    phone: t.exposeString("phone", { description: "As it would have been stored." }),
    reason: t.field({ type: DispatchSkipReason, resolve: (row) => row.reason }),
    message: t.exposeString("message"),
  }),
});

const DispatchBatchResult = builder.objectRef<BatchOutcome>("DispatchBatchResult").implement({
  fields: (t) => ({
    batch: t.prismaField({
      type: "DispatchBatch",
      grantScopes: ["written"],
      resolve: (query, outcome, _args, ctx) => ctx.prisma.dispatchBatch.findUniqueOrThrow({ ...query, where: { id: outcome.batchId } }),
    }),
    dispatched: t.field({ type: [DispatchedRowRef], description: "The rows dispatched, in row order.", resolve: (outcome) => outcome.dispatched }),
    conversations: t.prismaField({
      type: ["Conversation"],
      grantScopes: ["written"],
      description: "The conversations dispatched, in row order.",
      resolve: async (query, outcome, _args, ctx) => {
        const ids = outcome.dispatched.map((row) => row.conversationId);
        const found = await ctx.prisma.conversation.findMany({ ...query, where: { tenantId: ctx.tenantId, id: { in: ids } } });
        const byId = new Map(found.map((conversation) => [conversation.id, conversation]));
        return ids.map((id) => byId.get(id)).filter((conversation) => conversation !== undefined);
      },
    }),
    skipped: t.field({ type: [SkippedRowRef], description: "The rows not dispatched, in row order, each with its reason.", resolve: (outcome) => outcome.skipped }),
  }),
});

// ---------------------------------------------------------------------------------------
// Dispatching.
// ---------------------------------------------------------------------------------------

type Webhook = { link: string; body?: unknown; headers?: unknown } | null | undefined;

/** The agent the caller dispatches for; NOT_FOUND naming `field` for any it may not use. */
async function dispatchingAgent(tx: Prisma.TransactionClient, ctx: Context, requested: { id: string } | null | undefined, field: string): Promise<string> {
  const { token } = ctx.viewer;
  let agentId: string;
  if (token.format === "VELENTS_AGENT") {
    if (!token.agentId || (requested && requested.id !== token.agentId)) throw notFound("Agent", field);
    agentId = token.agentId;
  } else {
    if (!requested) throw badInput(field, "is required: only a VELENTS_AGENT token dispatches for its own agent without naming it");
    agentId = requested.id;
  }
  const agent = await tx.agent.findFirst({ where: { id: agentId, tenantId: ctx.tenantId }, select: { id: true } });
  if (!agent) throw notFound("Agent", field);
  return agentId;
}

/**
 * A dispatch's webhook as an endpoint (dialect VELENTS_AGENT) that its conversations point at:
 * deliveries, retries and the delivery log are those of every webhook. Its headers may carry
 * the integrator's credentials, so they are sealed like a signing secret. Dispatches that give
 * the same link, body and headers share one active endpoint rather than adding one each.
 */
async function dispatchEndpoint(tx: Prisma.TransactionClient, ctx: Context, webhook: Webhook, field: string): Promise<string | null> {
  if (!webhook) return null;
  requireWebhookLink(ctx, webhook, field);
  const headers = (webhook.headers ?? {}) as Record<string, string>;
  const body = (webhook.body ?? {}) as Prisma.InputJsonObject;
  const box = ctx.webhooks.box();
  const candidates = await tx.webhookEndpoint.findMany({
    where: { tenantId: ctx.tenantId, dialect: "VELENTS_AGENT", status: "ACTIVE", url: webhook.link },
    select: { id: true, extraBody: true, headersCiphertext: true },
    orderBy: newestFirst,
    take: 20,
  });
  const sameHeaders = (sealed: string | null) => canonicalJson(sealed ? JSON.parse(box.open(sealed)) : {}) === canonicalJson(headers);
  const same = candidates.find((endpoint) => canonicalJson(endpoint.extraBody ?? {}) === canonicalJson(body) && sameHeaders(endpoint.headersCiphertext));
  if (same) return same.id;
  const endpoint = await tx.webhookEndpoint.create({
    data: {
      tenantId: ctx.tenantId,
      dialect: "VELENTS_AGENT",
      url: webhook.link,
      events: [],
      headersCiphertext: Object.keys(headers).length > 0 ? box.seal(JSON.stringify(headers)) : null,
      extraBody: body,
    },
    select: { id: true },
  });
  return endpoint.id;
}

/** https, a public address unless WEBHOOK_ALLOW_PRIVATE: the rules of every webhook target. */
function requireWebhookLink(ctx: Context, webhook: Webhook, field: string) {
  const problem = webhook ? webhookUrlProblem(webhook.link, ctx.webhooks.allowPrivate) : null;
  if (problem) throw badInput(`${field}.link`, problem);
}

/** JSON with object keys sorted, so that equal values compare equal whatever their key order. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    inner && typeof inner === "object" && !Array.isArray(inner)
      ? Object.fromEntries(Object.entries(inner as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : inner,
  );
}

/** What a dispatch writes on its conversation, new or reopened. */
function runData(agentId: string, values: unknown, webhookEndpointId: string | null, batchId: string | null) {
  return {
    status: "OPEN" as const,
    agentId,
    inputValues: (values ?? {}) as Prisma.InputJsonObject,
    webhookEndpointId,
    batchId,
  };
}

/** Reopens a CLOSED conversation for a new run; false if it is no longer CLOSED (a concurrent dispatch won). */
async function reopen(tx: Prisma.TransactionClient, tenantId: string, id: string, data: ReturnType<typeof runData>) {
  const reopened = await tx.conversation.updateManyAndReturn({
    where: { id, tenantId, status: "CLOSED" },
    // The extraction belonged to the previous run: the new run's events start from none.
    data: { ...data, extractedValues: {} },
    select: { ...conversationFacts, number: true },
  });
  return reopened[0];
}

/**
 * No enum word in it: the REST dialects pass this message on, and each has its own words for
 * channels and statuses (the GraphQL caller has the skip's `reason` and the conversation).
 */
const inProgress = (phone: string) => `The conversation with ${phone} on this channel is still in progress: dispatch again once it has ended`;

/**
 * Runs a dispatch's transaction: a unique key taken meanwhile (another dispatch to the same
 * phone won the race) is a CONFLICT to retry, an agent deleted meanwhile NOT_FOUND.
 */
async function racing<T>(work: Promise<T>, field: string): Promise<T> {
  try {
    return await work;
  } catch (error) {
    const code = prismaErrorCode(error);
    if (code === "P2002") throw conflict("A concurrent write took a phone or conversation number this dispatch needed: retry");
    if (code === "P2003") throw notFound("Agent", field);
    throw error;
  }
}

type DispatchInput = typeof DispatchConversationInput.$inferInput;
type BatchInput = typeof DispatchBatchInput.$inferInput;

async function dispatchConversation(ctx: Context, input: DispatchInput) {
  const phone = addressOf(input.phone, "phone")!;
  const channelType = input.channelType;
  return racing(
    transact(ctx, async (tx, emit) => {
      const agentId = await dispatchingAgent(tx, ctx, input.agentId, "input.agentId");
      const data = runData(agentId, input.values, await dispatchEndpoint(tx, ctx, input.webhook, "input.webhook"), null);
      const existing = await tx.conversation.findFirst({
        where: { tenantId: ctx.tenantId, channelType, customerIdentifier: phone },
        select: { id: true, status: true },
      });
      if (existing) {
        const reopened = existing.status === "CLOSED" ? await reopen(tx, ctx.tenantId, existing.id, data) : undefined;
        if (!reopened) throw conflict(inProgress(phone));
        emit(conversationEvent("UPDATED", reopened, { started: true }));
        return reopened.id;
      }
      const created = await tx.conversation.create({
        data: {
          ...data,
          tenantId: ctx.tenantId,
          number: await reserveNumbers(tx, ctx.tenantId, "lastConversationNumber"),
          channelType,
          customerIdentifier: phone,
        },
        select: conversationFacts,
      });
      emit(conversationEvent("CREATED", created, { started: true }));
      return created.id;
    }),
    "input.agentId",
  );
}

async function dispatchBatch(ctx: Context, input: BatchInput): Promise<BatchOutcome> {
  const channelType = input.channelType;
  const rows = input.rows.map((row, index) => ({ row: index, phone: addressOf(row.phone, "phone")!, values: row.values }));
  requireWebhookLink(ctx, input.webhook, "input.webhook");
  const outcome = await racing(
    transact(
      ctx,
      async (tx, emit) => {
        const agentId = await dispatchingAgent(tx, ctx, input.agentId, "input.agentId");
        const batch = await tx.dispatchBatch.create({
          data: { tenantId: ctx.tenantId, agentId, name: input.name.trim(), channelType },
          select: { id: true },
        });
        const existing = await tx.conversation.findMany({
          where: { tenantId: ctx.tenantId, channelType, customerIdentifier: { in: [...new Set(rows.map((row) => row.phone))] } },
          select: { id: true, status: true, customerIdentifier: true },
        });
        const atPhone = new Map(existing.map((conversation) => [conversation.customerIdentifier, conversation]));

        const skipped: SkippedRow[] = [];
        const toCreate: typeof rows = [];
        const toReopen: (typeof rows[number] & { id: string })[] = [];
        const firstRowOf = new Map<string, number>();
        for (const row of rows) {
          const earlier = firstRowOf.get(row.phone);
          if (earlier !== undefined) {
            skipped.push({ row: row.row, phone: row.phone, reason: "DUPLICATE", message: `Row ${earlier} has the same phone` });
            continue;
          }
          firstRowOf.set(row.phone, row.row);
          const conversation = atPhone.get(row.phone);
          if (!conversation) toCreate.push(row);
          else if (conversation.status === "CLOSED") toReopen.push({ ...row, id: conversation.id });
          else skipped.push({ row: row.row, phone: row.phone, reason: "IN_PROGRESS", message: inProgress(row.phone) });
        }

        const dispatched: (DispatchedRow & { type: "CREATED" | "UPDATED"; facts: Prisma.ConversationGetPayload<{ select: typeof conversationFacts }> })[] = [];
        // Made only when the batch dispatches something: a batch of skipped rows leaves no endpoint.
        const webhookEndpointId = toCreate.length + toReopen.length > 0 ? await dispatchEndpoint(tx, ctx, input.webhook, "input.webhook") : null;
        if (toCreate.length > 0) {
          const first = await reserveNumbers(tx, ctx.tenantId, "lastConversationNumber", toCreate.length);
          const created = await tx.conversation.createManyAndReturn({
            data: toCreate.map((row, offset) => ({
              ...runData(agentId, row.values, webhookEndpointId, batch.id),
              tenantId: ctx.tenantId,
              number: first + offset,
              channelType,
              customerIdentifier: row.phone,
            })),
            select: { ...conversationFacts, number: true, customerIdentifier: true },
          });
          // RETURNING's order is not promised: rows are matched by their phone, unique here.
          const byPhone = new Map(created.map((conversation) => [conversation.customerIdentifier, conversation]));
          for (const row of toCreate) {
            const { number, customerIdentifier: _phone, ...facts } = byPhone.get(row.phone)!;
            dispatched.push({ row: row.row, conversationId: facts.id, number, phone: row.phone, reopened: false, type: "CREATED", facts });
          }
        }
        for (const row of toReopen) {
          const reopened = await reopen(tx, ctx.tenantId, row.id, runData(agentId, row.values, webhookEndpointId, batch.id));
          if (!reopened) {
            skipped.push({ row: row.row, phone: row.phone, reason: "IN_PROGRESS", message: inProgress(row.phone) });
            continue;
          }
          const { number, ...facts } = reopened;
          dispatched.push({ row: row.row, conversationId: row.id, number, phone: row.phone, reopened: true, type: "UPDATED", facts });
        }
        dispatched.sort((a, b) => a.row - b.row);
        skipped.sort((a, b) => a.row - b.row);
        for (const row of dispatched) emit(conversationEvent(row.type, row.facts, { started: true }));
        return { batchId: batch.id, dispatched, skipped };
      },
      // A thousand rows, some of them reopened one by one, outlast the 5 s default on a slow disk.
      { maxWait: 10_000, timeout: 60_000 },
    ),
    "input.agentId",
  );
  return {
    batchId: outcome.batchId,
    dispatched: outcome.dispatched.map(({ type: _type, facts: _facts, ...row }) => row),
    skipped: outcome.skipped,
  };
}

builder.mutationFields((t) => ({
  dispatchConversation: t.prismaField({
    type: "Conversation",
    description:
      "Starts an outbound WhatsApp or voice conversation for an agent (Velents Agent.sa Dispatch): a new OPEN conversation (CREATED), or the CLOSED one " +
      "with this phone reopened for this run (UPDATED: agent, values and webhook replaced, extraction emptied, history kept). CONFLICT while one is OPEN or HANDED_OFF.",
    authScopes: { scope: "conversations:write" },
    grantScopes: ["written"],
    args: { input: t.arg({ type: DispatchConversationInput, required: true }) },
    resolve: async (query, _root, { input }, ctx) => {
      const id = await dispatchConversation(ctx, input);
      return ctx.prisma.conversation.findUniqueOrThrow({ ...query, where: { id } });
    },
  }),
  dispatchBatch: t.field({
    type: DispatchBatchResult,
    description:
      "Dispatches up to 1000 rows at once for one agent, channel and webhook, in one transaction (Velents Agent.sa Batch). Rows whose phone has a conversation " +
      "in progress, or repeats an earlier row's, are skipped and reported; the rest are dispatched as dispatchConversation would.",
    authScopes: { scope: "conversations:write" },
    args: { input: t.arg({ type: DispatchBatchInput, required: true }) },
    resolve: (_root, { input }, ctx) => dispatchBatch(ctx, input),
  }),
}));
