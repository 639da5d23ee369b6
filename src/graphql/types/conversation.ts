// Conversations, their messages, and the tags that label them.
import { z } from "zod";
import type { Prisma } from "../../generated/prisma/client.js";
import type { ConversationStatus, MessageRole } from "../../generated/prisma/enums.js";
import { reserveNumbers } from "../../db/numbers.js";
import { conversationEvent, conversationFacts, type ConversationEventType } from "../../events/events.js";
import { builder } from "../builder.js";
import { newestFirst, offsetArgOptions, withOffset } from "../pagination.js";
import type { Context } from "../context.js";
import { badInput, conflict, notFound, orNotFound, prismaErrorCode } from "../errors.js";
import { requireOwned } from "../ownership.js";
import { transact } from "../publish.js";
import { idOf } from "../ids.js";
import { rules } from "../validation.js";
import { AgentRef, ChannelRef } from "./agent.js";
import { ContactRef } from "./contact.js";
import { ChannelTypeEnum, ConversationStatusEnum, DeliveryStatusEnum, MessageRoleEnum, SentimentEnum } from "./enums.js";


export const TagRef = builder.prismaNode("Tag", {
  id: { field: "id" },
  authScopes: { scope: "conversations:read", $granted: "written" },
  findUnique: (id, ctx) => ({ id, tenantId: ctx.tenantId }),
  fields: (t) => ({
    name: t.exposeString("name"),
    color: t.exposeString("color", { nullable: true }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
  }),
});

export const MessageRef = builder.prismaNode("Message", {
  id: { field: "id" },
  authScopes: { scope: "conversations:read", $granted: "written" },
  findUnique: (id, ctx) => ({ id, tenantId: ctx.tenantId }),
  fields: (t) => ({
    sequence: t.exposeInt("sequence", { description: "1, 2, 3, ... within the conversation, in the order messages were stored." }),
    role: t.expose("role", { type: MessageRoleEnum }),
    content: t.exposeString("content"),
    deliveryStatus: t.expose("deliveryStatus", {
      type: DeliveryStatusEnum,
      nullable: true,
      description: "For messages sent to the customer: QUEUED until the channel's worker reports SENT or FAILED (reportMessageDelivery). Null for the rest.",
    }),
    deliveryError: t.exposeString("deliveryError", { nullable: true, description: "Why delivery failed, as the channel's worker reported it." }),
    deliveryReportedAt: t.expose("deliveryReportedAt", { type: "DateTime", nullable: true, description: "When the worker reported the outcome." }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    conversationId: t.globalID({ resolve: (message) => ({ type: "Conversation", id: message.conversationId }) }),
    conversation: t.relation("conversation"),
  }),
});

export const ConversationRef = builder.prismaNode("Conversation", {
  id: { field: "id" },
  authScopes: { scope: "conversations:read", $granted: "written" },
  findUnique: (id, ctx) => ({ id, tenantId: ctx.tenantId }),
  fields: (t) => ({
    number: t.exposeInt("number", { description: "Integer id, as Velents Agent.sa exposes conversations." }),
    channelType: t.expose("channelType", { type: ChannelTypeEnum }),
    channel: t.relation("channel", { nullable: true }),
    agent: t.relation("agent", { nullable: true }),
    contact: t.relation("contact", { nullable: true }),
    // The ids alone, readable with conversations:read (the relations need their own scopes).
    channelId: t.globalID({ nullable: true, resolve: (c) => (c.channelId ? { type: "Channel", id: c.channelId } : null) }),
    agentId: t.globalID({ nullable: true, resolve: (c) => (c.agentId ? { type: "Agent", id: c.agentId } : null) }),
    contactId: t.globalID({ nullable: true, resolve: (c) => (c.contactId ? { type: "Contact", id: c.contactId } : null) }),
    customerIdentifier: t.exposeString("customerIdentifier"),
    customerName: t.exposeString("customerName", { nullable: true }),
    customerLanguage: t.exposeString("customerLanguage", { nullable: true }),
    status: t.expose("status", { type: ConversationStatusEnum }),
    inputValues: t.expose("inputValues", { type: "JSON" }),
    extractedValues: t.expose("extractedValues", { type: "JSON" }),
    sentiment: t.expose("sentiment", { type: SentimentEnum, nullable: true }),
    assignedOperator: t.exposeString("assignedOperator", { nullable: true }),
    firstMessageAt: t.expose("firstMessageAt", { type: "DateTime", nullable: true }),
    lastMessageAt: t.expose("lastMessageAt", { type: "DateTime", nullable: true }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    updatedAt: t.expose("updatedAt", { type: "DateTime" }),
    tags: t.field({
      type: [TagRef],
      select: { tags: { include: { tag: true }, orderBy: { createdAt: "asc" } } },
      resolve: (conversation) => conversation.tags.map((link) => link.tag),
    }),
    messages: t.relatedConnection("messages", {
      cursor: "id",
      totalCount: true,
      description: "The full transcript, oldest first (messages with the same time in the order they were stored); `roles` keeps only those roles, totalCount included.",
      args: { roles: t.arg({ type: [MessageRoleEnum], validate: z.array(z.string()).max(4).nullish() }) },
      query: (args) => ({
        where: args.roles ? { role: { in: args.roles } } : {},
        orderBy: [{ createdAt: "asc" as const }, { sequence: "asc" as const }],
      }),
    }),
    lastMessages: t.field({
      type: [MessageRef],
      description: "The last `count` messages, oldest first: what an inbox row shows.",
      args: { count: t.arg.int({ defaultValue: 3, validate: z.number().int().min(1).max(50) }) },
      complexity: (args) => ({ field: 1, multiplier: args.count ?? 3 }),
      resolve: (conversation, args, ctx) => ctx.loaders.lastMessages(args.count ?? 3).load(conversation.id),
    }),
    leads: t.relation("leads", { query: { orderBy: newestFirst } }),
  }),
});

interface ConversationFilter {
  agentId?: { id: string } | null;
  channelId?: { id: string } | null;
  channelType?: string | null;
  contactId?: { id: string } | null;
  status?: string | null;
  tagIds?: { id: string }[] | null;
}

function conversationWhere(ctx: Context, args: ConversationFilter): Prisma.ConversationWhereInput {
  return {
    tenantId: ctx.tenantId,
    ...(args.agentId ? { agentId: args.agentId.id } : {}),
    ...(args.channelId ? { channelId: args.channelId.id } : {}),
    ...(args.channelType ? { channelType: args.channelType as Prisma.ConversationWhereInput["channelType"] } : {}),
    ...(args.contactId ? { contactId: args.contactId.id } : {}),
    ...(args.status ? { status: args.status as Prisma.ConversationWhereInput["status"] } : {}),
    ...(args.tagIds?.length ? { tags: { some: { tagId: { in: args.tagIds.map((tag) => tag.id) } } } } : {}),
  };
}

builder.queryFields((t) => ({
  conversations: t.prismaConnection({
    type: "Conversation",
    cursor: "id",
    authScopes: { scope: "conversations:read" },
    description: "Conversations, newest first. `tagIds` matches conversations carrying any of the tags.",
    args: {
      agentId: t.arg.globalID({ for: AgentRef, validate: idOf("Agent").nullish() }),
      channelId: t.arg.globalID({ for: ChannelRef, validate: idOf("Channel").nullish() }),
      channelType: t.arg({ type: ChannelTypeEnum }),
      contactId: t.arg.globalID({ for: ContactRef, validate: idOf("Contact").nullish() }),
      status: t.arg({ type: ConversationStatusEnum }),
      tagIds: t.arg.globalIDList({ for: TagRef, validate: z.array(idOf("Tag")).max(50).nullish() }),
      offset: t.arg.int(offsetArgOptions),
    },
    resolve: (query, _root, args, ctx) =>
      ctx.prisma.conversation.findMany({ ...withOffset(query, args.offset), where: conversationWhere(ctx, args), orderBy: newestFirst }),
    totalCount: (_parent, args, ctx) => ctx.prisma.conversation.count({ where: conversationWhere(ctx, args) }),
  }),
  tags: t.prismaConnection({
    type: "Tag",
    cursor: "id",
    authScopes: { scope: "conversations:read" },
    resolve: (query, _root, _args, ctx) =>
      ctx.prisma.tag.findMany({ ...query, where: { tenantId: ctx.tenantId }, orderBy: [{ name: "asc" }, { id: "asc" }] }),
    totalCount: (_parent, _args, ctx) => ctx.prisma.tag.count({ where: { tenantId: ctx.tenantId } }),
  }),
}));

const CreateConversationInput = builder.inputType("CreateConversationInput", {
  fields: (t) => ({
    channelType: t.field({ type: ChannelTypeEnum, required: true }),
    channelId: t.globalID({ for: ChannelRef, validate: idOf("Channel").nullish() }),
    agentId: t.globalID({ for: AgentRef, validate: idOf("Agent").nullish() }),
    contactId: t.globalID({ for: ContactRef, validate: idOf("Contact").nullish() }),
    customerIdentifier: t.string({
      required: true,
      description: "Channel-native identifier: phone for WhatsApp/voice (E.164 recommended), email for webform, ...",
      validate: rules.customerIdentifier,
    }),
    customerName: t.string({ validate: rules.optionalName }),
    customerLanguage: t.string({ validate: rules.language }),
    inputValues: t.field({ type: "JSON", validate: rules.jsonObject }),
  }),
});

const UpdateConversationInput = builder.inputType("UpdateConversationInput", {
  description: "Omitted fields are left as they are; null clears a field.",
  fields: (t) => ({
    status: t.field({ type: ConversationStatusEnum }),
    sentiment: t.field({ type: SentimentEnum }),
    assignedOperator: t.string({ validate: rules.shortText }),
    customerName: t.string({ validate: rules.optionalName }),
    customerLanguage: t.string({ validate: rules.language }),
    extractedValues: t.field({ type: "JSON", validate: rules.jsonObject }),
    agentId: t.globalID({ for: AgentRef, validate: idOf("Agent").nullish() }),
    contactId: t.globalID({ for: ContactRef, validate: idOf("Contact").nullish() }),
  }),
});

const AddMessageInput = builder.inputType("AddMessageInput", {
  fields: (t) => ({
    conversationId: t.globalID({ for: ConversationRef, required: true, validate: idOf("Conversation") }),
    role: t.field({ type: MessageRoleEnum, required: true }),
    content: t.string({ required: true, validate: rules.messageContent }),
  }),
});

const BulkConversationAction = builder.enumType("BulkConversationAction", {
  values: ["CLOSE", "REOPEN", "ASSIGN", "TAG", "UNTAG"] as const,
});

const BulkUpdateConversationsInput = builder.inputType("BulkUpdateConversationsInput", {
  fields: (t) => ({
    ids: t.globalIDList({
      for: ConversationRef,
      required: true,
      validate: z
        .array(idOf("Conversation"))
        .min(1, "must name at least one conversation")
        .max(200, "at most 200 conversations per call"),
    }),
    action: t.field({ type: BulkConversationAction, required: true }),
    operator: t.string({ description: "For ASSIGN: the operator to assign; null unassigns.", validate: rules.shortText }),
    tagIds: t.globalIDList({
      for: TagRef,
      description: "For TAG and UNTAG.",
      validate: z.array(idOf("Tag")).max(50).nullish(),
    }),
  }),
});

const BulkResult = builder.objectRef<{ updated: number; skipped: number }>("BulkResult").implement({
  description: "`skipped` counts ids that did not change: already in that state, or not found.",
  fields: (t) => ({ updated: t.exposeInt("updated"), skipped: t.exposeInt("skipped") }),
});

/**
 * Appends a message inside a transaction and moves the conversation's message times; the
 * database numbers it. `outbound` messages go to the customer: stored QUEUED for the
 * channel's worker. The caller publishes MESSAGE_ADDED once the transaction committed.
 */
export async function appendMessage(
  tx: Prisma.TransactionClient,
  tenantId: string,
  conversationId: string,
  message: { role: MessageRole; content: string; outbound: boolean },
  query: object = {},
  field?: string,
  requireStatus?: ConversationStatus | null,
) {
  const conversation = await tx.conversation.findFirst({ where: { id: conversationId, tenantId }, select: { id: true, firstMessageAt: true, status: true } });
  if (!conversation) throw notFound("Conversation", field);
  if (requireStatus && conversation.status !== requireStatus) {
    throw conflict(`The conversation is ${conversation.status}, not ${requireStatus}`);
  }
  const created = await tx.message.create({
    ...query,
    data: { tenantId, conversationId, role: message.role, content: message.content, deliveryStatus: message.outbound ? "QUEUED" : null },
  });
  const updated = await tx.conversation.update({
    where: { id: conversationId },
    data: { lastMessageAt: created.createdAt, firstMessageAt: conversation.firstMessageAt ?? created.createdAt },
    select: conversationFacts,
  });
  return { message: created, conversation: updated };
}

/**
 * Appends a message in a transaction of its own and publishes MESSAGE_ADDED after it.
 * `field` names the conversation id argument in a NOT_FOUND.
 */
export async function addMessage(
  ctx: Context,
  query: object,
  conversationId: string,
  role: MessageRole,
  content: string,
  { outbound = false, field, requireStatus }: { outbound?: boolean; field?: string; requireStatus?: ConversationStatus | null } = {},
) {
  return transact(ctx, async (tx, emit) => {
    const { message, conversation } = await appendMessage(tx, ctx.tenantId, conversationId, { role, content, outbound }, query, field, requireStatus);
    emit(conversationEvent("MESSAGE_ADDED", conversation, { messageId: message.id }));
    return message;
  });
}

type BulkInput = typeof BulkUpdateConversationsInput.$inferInput;

async function bulkUpdate(ctx: Context, input: BulkInput): Promise<{ updated: number; skipped: number }> {
  const ids = [...new Set(input.ids.map((id) => id.id))];
  const tagIds = [...new Set((input.tagIds ?? []).map((id) => id.id))];
  const inTenant = { tenantId: ctx.tenantId, id: { in: ids } };
  if ((input.action === "TAG" || input.action === "UNTAG") && tagIds.length === 0) {
    throw badInput("input.tagIds", `${input.action} needs at least one tag id`);
  }
  if (input.action === "ASSIGN" && input.operator === undefined) {
    throw badInput("input.operator", "ASSIGN needs an operator (null unassigns)");
  }
  await requireOwned(ctx, "Tag", tagIds, "input.tagIds");

  const type: ConversationEventType = input.action === "CLOSE" ? "CLOSED" : "UPDATED";
  const changed = await transact(ctx, async (tx, emit) => {
    const changed = await bulkChange(tx);
    for (const conversation of changed) emit(conversationEvent(type, conversation));
    return changed;
  });
  return { updated: changed.length, skipped: ids.length - changed.length };

  async function bulkChange(tx: Prisma.TransactionClient) {
    const update = (where: Prisma.ConversationWhereInput, data: Prisma.ConversationUpdateManyMutationInput) =>
      tx.conversation.updateManyAndReturn({ where: { ...inTenant, ...where }, data, select: conversationFacts });
    switch (input.action) {
      case "CLOSE":
        return update({ status: { not: "CLOSED" } }, { status: "CLOSED" });
      case "REOPEN":
        return update({ status: "CLOSED" }, { status: "OPEN" });
      case "ASSIGN": {
        const operator = input.operator ?? null;
        const notAlready = operator === null ? { assignedOperator: { not: null } } : { OR: [{ assignedOperator: null }, { assignedOperator: { not: operator } }] };
        return update(notAlready, { assignedOperator: operator });
      }
      case "TAG":
      case "UNTAG": {
        const conversations = await tx.conversation.findMany({
          where: inTenant,
          select: { id: true, tags: { where: { tagId: { in: tagIds } }, select: { tagId: true } } },
        });
        const changed = conversations.filter((c) => (input.action === "TAG" ? c.tags.length < tagIds.length : c.tags.length > 0));
        if (input.action === "TAG") {
          await tx.conversationTag.createMany({
            data: changed.flatMap((c) => tagIds.map((tagId) => ({ tenantId: ctx.tenantId, conversationId: c.id, tagId }))),
            skipDuplicates: true,
          });
        } else {
          await tx.conversationTag.deleteMany({ where: { tenantId: ctx.tenantId, conversationId: { in: ids }, tagId: { in: tagIds } } });
        }
        if (changed.length === 0) return [];
        return update({ id: { in: changed.map((c) => c.id) } }, { updatedAt: new Date() });
      }
    }
  }
}

builder.mutationFields((t) => ({
  createConversation: t.prismaField({
    type: "Conversation",
    description: "Strict create: CONFLICT if the tenant already has a conversation for this channel type and customer identifier.",
    authScopes: { scope: "conversations:write" },
    grantScopes: ["written"],
    args: { input: t.arg({ type: CreateConversationInput, required: true }) },
    resolve: async (query, _root, { input }, ctx) => {
      await requireOwned(ctx, "Agent", input.agentId?.id, "input.agentId");
      await requireOwned(ctx, "Contact", input.contactId?.id, "input.contactId");
      if (input.channelId) {
        const channel = await ctx.prisma.channel.findFirst({ where: { id: input.channelId.id, tenantId: ctx.tenantId } });
        if (!channel) throw notFound("Channel", "input.channelId");
        if (channel.type !== input.channelType) {
          throw badInput("input.channelId", `Channel is ${channel.type}, not ${input.channelType}`);
        }
      }
      try {
        return await transact(ctx, async (tx, emit) => {
          const created = await tx.conversation.create({
            ...query,
            data: {
              tenantId: ctx.tenantId,
              number: await reserveNumbers(tx, ctx.tenantId, "lastConversationNumber"),
              channelType: input.channelType,
              channelId: input.channelId?.id,
              agentId: input.agentId?.id,
              contactId: input.contactId?.id,
              customerIdentifier: input.customerIdentifier,
              customerName: input.customerName,
              customerLanguage: input.customerLanguage,
              inputValues: (input.inputValues ?? {}) as Prisma.InputJsonObject,
            },
          });
          emit(conversationEvent("CREATED", created));
          return created;
        });
      } catch (error) {
        if (prismaErrorCode(error) === "P2002") {
          // No enum word in the message: the REST dialects pass it on in their own vocabularies.
          throw conflict("A conversation on this channel with this customer identifier already exists");
        }
        throw error;
      }
    },
  }),
  updateConversation: t.prismaField({
    type: "Conversation",
    authScopes: { scope: "conversations:write" },
    grantScopes: ["written"],
    args: {
      id: t.arg.globalID({ for: ConversationRef, required: true, validate: idOf("Conversation") }),
      input: t.arg({ type: UpdateConversationInput, required: true, validate: rules.someChange }),
    },
    resolve: async (query, _root, { id, input }, ctx) => {
      await requireOwned(ctx, "Agent", input.agentId?.id, "input.agentId");
      await requireOwned(ctx, "Contact", input.contactId?.id, "input.contactId");
      return transact(ctx, async (tx, emit) => {
        const updated = await orNotFound(
          "Conversation",
          tx.conversation.update({
            ...query,
            where: { id: id.id, tenantId: ctx.tenantId },
            data: {
              status: input.status ?? undefined,
              sentiment: input.sentiment,
              assignedOperator: input.assignedOperator,
              customerName: input.customerName,
              customerLanguage: input.customerLanguage,
              extractedValues: input.extractedValues === null ? {} : (input.extractedValues as Prisma.InputJsonObject | undefined),
              agentId: input.agentId === null ? null : input.agentId?.id,
              contactId: input.contactId === null ? null : input.contactId?.id,
            },
          }),
        );
        const changed = Object.keys(input).filter((key) => input[key as keyof typeof input] !== undefined);
        emit(conversationEvent(input.status === "CLOSED" ? "CLOSED" : "UPDATED", updated, { changed }));
        return updated;
      });
    },
  }),
  addMessage: t.prismaField({
    type: "Message",
    description: "Appends a message of any role: what a channel worker or bot records.",
    authScopes: { scope: "conversations:write" },
    grantScopes: ["written"],
    args: { input: t.arg({ type: AddMessageInput, required: true }) },
    resolve: (query, _root, { input }, ctx) => addMessage(ctx, query, input.conversationId.id, input.role, input.content, { field: "input.conversationId" }),
  }),
  sendOperatorMessage: t.prismaField({
    type: "Message",
    description: "Posts an operator-authored reply into a conversation, QUEUED for delivery to the customer.",
    authScopes: { scope: "conversations:write" },
    grantScopes: ["written"],
    args: {
      conversationId: t.arg.globalID({ for: ConversationRef, required: true, validate: idOf("Conversation") }),
      content: t.arg.string({ required: true, validate: rules.messageContent }),
      requireStatus: t.arg({
        type: ConversationStatusEnum,
        description: "CONFLICT unless the conversation has this status (Convo: HANDED_OFF), so a reply never lands where nobody expects one.",
      }),
    },
    resolve: (query, _root, args, ctx) =>
      addMessage(ctx, query, args.conversationId.id, "OPERATOR", args.content, {
        outbound: true,
        field: "conversationId",
        requireStatus: args.requireStatus,
      }),
  }),
  bulkUpdateConversations: t.field({
    type: BulkResult,
    description: "Close, reopen, assign, tag or untag up to 200 conversations at once, all or nothing.",
    authScopes: { scope: "conversations:write" },
    args: { input: t.arg({ type: BulkUpdateConversationsInput, required: true }) },
    resolve: (_root, { input }, ctx) => bulkUpdate(ctx, input),
  }),
  createTag: t.prismaField({
    type: "Tag",
    authScopes: { scope: "conversations:write" },
    grantScopes: ["written"],
    args: {
      name: t.arg.string({ required: true, validate: z.string().trim().min(1).max(50) }),
      color: t.arg.string({ validate: z.string().regex(/^#[0-9a-fA-F]{6}$/, "must be a colour such as #3366ff").nullish() }),
    },
    resolve: async (query, _root, args, ctx) => {
      try {
        return await ctx.prisma.tag.create({ ...query, data: { tenantId: ctx.tenantId, name: args.name.trim(), color: args.color } });
      } catch (error) {
        if (prismaErrorCode(error) === "P2002") throw conflict(`A tag named "${args.name.trim()}" already exists`);
        throw error;
      }
    },
  }),
}));
