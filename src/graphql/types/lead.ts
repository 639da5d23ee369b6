import { z } from "zod";
import type { Prisma } from "../../generated/prisma/client.js";
import type { LeadStatus } from "../../generated/prisma/enums.js";
import { builder } from "../builder.js";
import { newestFirst, offsetArgOptions, withOffset } from "../pagination.js";
import type { Context } from "../context.js";
import { conversationEvent, conversationFacts, leadEvent } from "../../events/events.js";
import { badInput, conflict, notFound, orNotFound } from "../errors.js";
import { transact } from "../publish.js";
import { requireOwned } from "../ownership.js";
import { idOf } from "../ids.js";
import { rules } from "../validation.js";
import { ContactRef } from "./contact.js";
import { ConversationRef } from "./conversation.js";
import { LeadStatusEnum } from "./enums.js";

export const LeadRef = builder.prismaNode("Lead", {
  id: { field: "id" },
  authScopes: { scope: "leads:read", $granted: "written" },
  findUnique: (id, ctx) => ({ id, tenantId: ctx.tenantId }),
  fields: (t) => ({
    status: t.expose("status", { type: LeadStatusEnum }),
    fields: t.expose("fields", { type: "JSON", description: "Free-form captured fields: name, email, phone, ..." }),
    score: t.exposeInt("score", { nullable: true }),
    source: t.exposeString("source", { nullable: true }),
    crmExternalId: t.exposeString("crmExternalId", { nullable: true }),
    contact: t.relation("contact", { nullable: true }),
    conversation: t.relation("conversation", { nullable: true }),
    contactId: t.globalID({ nullable: true, resolve: (lead) => (lead.contactId ? { type: "Contact", id: lead.contactId } : null) }),
    conversationId: t.globalID({
      nullable: true,
      resolve: (lead) => (lead.conversationId ? { type: "Conversation", id: lead.conversationId } : null),
    }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    updatedAt: t.expose("updatedAt", { type: "DateTime" }),
  }),
});

const LeadSort = builder.enumType("LeadSort", {
  values: {
    NEWEST: { description: "Newest first." },
    SCORE: { description: "Highest score first; unscored leads last." },
  },
});

interface LeadFilter {
  status?: LeadStatus | null;
  statusIn?: LeadStatus[] | null;
  quietSince?: Date | null;
}

function leadWhere(ctx: Context, args: LeadFilter): Prisma.LeadWhereInput {
  const conditions: Prisma.LeadWhereInput[] = [];
  if (args.status) conditions.push({ status: args.status });
  if (args.statusIn) conditions.push({ status: { in: args.statusIn } });
  if (args.quietSince) {
    conditions.push({ conversation: { is: { OR: [{ lastMessageAt: null }, { lastMessageAt: { lt: args.quietSince } }] } } });
  }
  return { tenantId: ctx.tenantId, AND: conditions };
}

builder.queryField("leads", (t) =>
  t.prismaConnection({
    type: "Lead",
    cursor: "id",
    authScopes: { scope: "leads:read" },
    args: {
      status: t.arg({ type: LeadStatusEnum }),
      statusIn: t.arg({
        type: [LeadStatusEnum],
        description: "Leads with any of these statuses (with `status`, both must hold).",
        validate: z.array(z.string()).max(10).nullish(),
      }),
      quietSince: t.arg({
        type: "DateTime",
        description: "Only leads whose conversation has had no message since this time, or none at all (leads without a conversation are left out).",
      }),
      sort: t.arg({ type: LeadSort, defaultValue: "NEWEST" }),
      offset: t.arg.int(offsetArgOptions),
    },
    resolve: (query, _root, args, ctx) =>
      ctx.prisma.lead.findMany({
        ...withOffset(query, args.offset),
        where: leadWhere(ctx, args),
        orderBy:
          args.sort === "SCORE"
            ? [{ score: { sort: "desc", nulls: "last" } }, ...newestFirst]
            : newestFirst,
      }),
    totalCount: (_parent, args, ctx) => ctx.prisma.lead.count({ where: leadWhere(ctx, args) }),
  }),
);

const CreateLeadInput = builder.inputType("CreateLeadInput", {
  fields: (t) => ({
    fields: t.field({ type: "JSON", validate: rules.jsonObject }),
    source: t.string({ validate: rules.shortText }),
    status: t.field({ type: LeadStatusEnum }),
    score: t.int({ validate: rules.score }),
    contactId: t.globalID({ for: ContactRef, validate: idOf("Contact").nullish() }),
    conversationId: t.globalID({ for: ConversationRef, validate: idOf("Conversation").nullish() }),
    crmExternalId: t.string({ validate: rules.shortText }),
    exclusive: t.boolean({
      description: "CONFLICT if the conversation already has a lead (Vorel: one lead per conversation). Needs conversationId.",
    }),
  }),
});

const UpdateLeadInput = builder.inputType("UpdateLeadInput", {
  description: "Omitted fields are left as they are; null clears a field.",
  fields: (t) => ({
    status: t.field({ type: LeadStatusEnum }),
    score: t.int({ validate: rules.score }),
    source: t.string({ validate: rules.shortText }),
    crmExternalId: t.string({ validate: rules.shortText }),
    fieldsPatch: t.field({
      type: "JSON",
      description: "Merged into the captured fields, one level deep: a key set to null is removed, keys not named are kept.",
      validate: rules.jsonObject,
    }),
  }),
});

/** A conversation's lead count, with the conversation row locked until the transaction ends, so two exclusive creates cannot both see none. */
async function leadsOfLockedConversation(tx: Prisma.TransactionClient, tenantId: string, conversationId: string) {
  const locked = await tx.$queryRaw<{ id: string }[]>`
    SELECT id FROM "Conversation" WHERE id = ${conversationId}::uuid AND "tenantId" = ${tenantId}::uuid FOR UPDATE`;
  if (locked.length === 0) throw notFound("Conversation", "input.conversationId");
  return tx.lead.count({ where: { tenantId, conversationId } });
}

/** A lead's status, locked until the transaction ends so that the event's previousStatus is the one this write replaced. */
async function statusOf(tx: Prisma.TransactionClient, tenantId: string, id: string): Promise<string | undefined> {
  const rows = await tx.$queryRaw<{ status: string }[]>`
    SELECT status::text FROM "Lead" WHERE id = ${id}::uuid AND "tenantId" = ${tenantId}::uuid FOR UPDATE`;
  return rows[0]?.status;
}

/** Applies a shallow patch to a lead's captured fields in one statement: keys set to null go, the rest are merged. */
async function patchLeadFields(tx: Prisma.TransactionClient, tenantId: string, id: string, patch: Record<string, unknown>) {
  const removed = Object.keys(patch).filter((key) => patch[key] === null);
  const merged = Object.fromEntries(Object.entries(patch).filter(([, value]) => value !== null));
  return tx.$executeRaw`
    UPDATE "Lead" SET fields = (fields || ${JSON.stringify(merged)}::jsonb) - ${removed}::text[], "updatedAt" = now()
    WHERE id = ${id}::uuid AND "tenantId" = ${tenantId}::uuid`;
}

const HandoffRef = builder.prismaNode("Handoff", {
  id: { field: "id" },
  description: "A request for a human to take over a conversation, kept as an audit record.",
  authScopes: { scope: "conversations:read", $granted: "written" },
  findUnique: (id, ctx) => ({ id, tenantId: ctx.tenantId }),
  fields: (t) => ({
    reason: t.exposeString("reason", { nullable: true }),
    summary: t.exposeString("summary", { nullable: true }),
    conversation: t.relation("conversation"),
    conversationId: t.globalID({ resolve: (handoff) => ({ type: "Conversation", id: handoff.conversationId }) }),
    lead: t.relation("lead", { nullable: true }),
    leadId: t.globalID({ nullable: true, resolve: (handoff) => (handoff.leadId ? { type: "Lead", id: handoff.leadId } : null) }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
  }),
});

builder.mutationFields((t) => ({
  createLead: t.prismaField({
    type: "Lead",
    authScopes: { scope: "leads:write" },
    grantScopes: ["written"],
    args: { input: t.arg({ type: CreateLeadInput, required: true }) },
    resolve: async (query, _root, { input }, ctx) => {
      if (input.exclusive && !input.conversationId) throw badInput("input.conversationId", "an exclusive lead needs a conversationId");
      await requireOwned(ctx, "Contact", input.contactId?.id, "input.contactId");
      // An exclusive create checks the conversation as it locks it.
      if (!input.exclusive) await requireOwned(ctx, "Conversation", input.conversationId?.id, "input.conversationId");
      return transact(ctx, async (tx, emit) => {
        if (input.exclusive && input.conversationId) {
          const existing = await leadsOfLockedConversation(tx, ctx.tenantId, input.conversationId.id);
          if (existing > 0) throw conflict("This conversation already has a lead");
        }
        const lead = await tx.lead.create({
          ...query,
          data: {
            tenantId: ctx.tenantId,
            fields: (input.fields ?? {}) as Prisma.InputJsonObject,
            source: input.source,
            status: input.status ?? undefined,
            score: input.score,
            contactId: input.contactId?.id,
            conversationId: input.conversationId?.id,
            crmExternalId: input.crmExternalId,
          },
        });
        emit(leadEvent("CREATED", lead));
        return lead;
      });
    },
  }),
  updateLead: t.prismaField({
    type: "Lead",
    description: "Changes a lead's status, score, source, CRM id or captured fields (fieldsPatch).",
    authScopes: { scope: "leads:write" },
    grantScopes: ["written"],
    args: {
      id: t.arg.globalID({ for: LeadRef, required: true, validate: idOf("Lead") }),
      input: t.arg({ type: UpdateLeadInput, required: true, validate: rules.someChange }),
    },
    resolve: async (query, _root, { id, input }, ctx) => {
      if (input.status === null) throw badInput("input.status", "status cannot be cleared");
      return transact(ctx, async (tx, emit) => {
        if (input.fieldsPatch) await patchLeadFields(tx, ctx.tenantId, id.id, input.fieldsPatch as Record<string, unknown>);
        const before = input.status ? await statusOf(tx, ctx.tenantId, id.id) : undefined;
        const lead = await orNotFound(
          "Lead",
          tx.lead.update({
            ...query,
            where: { id: id.id, tenantId: ctx.tenantId },
            data: { status: input.status ?? undefined, score: input.score, source: input.source, crmExternalId: input.crmExternalId },
          }),
        );
        emit(leadEvent("UPDATED", lead, before));
        return lead;
      });
    },
  }),
  updateLeadStatus: t.prismaField({
    type: "Lead",
    description: "Moves a lead across pipeline stages.",
    authScopes: { scope: "leads:write" },
    grantScopes: ["written"],
    args: {
      id: t.arg.globalID({ for: LeadRef, required: true, validate: idOf("Lead") }),
      status: t.arg({ type: LeadStatusEnum, required: true }),
    },
    resolve: (query, _root, { id, status }, ctx) =>
      transact(ctx, async (tx, emit) => {
        const before = await statusOf(tx, ctx.tenantId, id.id);
        const lead = await orNotFound("Lead", tx.lead.update({ ...query, where: { id: id.id, tenantId: ctx.tenantId }, data: { status } }));
        emit(leadEvent("UPDATED", lead, before));
        return lead;
      }),
  }),
  requestLeadHandoff: t.prismaField({
    type: HandoffRef,
    description:
      "Asks for a human to take over the lead's conversation: the conversation becomes HANDED_OFF and an audit record is kept. " +
      "Not idempotent: each call records a new handoff. Subscribers see a HANDOFF_REQUESTED conversation event; no Slack or email is sent by this service.",
    authScopes: { scope: "leads:write" },
    grantScopes: ["written"],
    args: {
      id: t.arg.globalID({ for: LeadRef, required: true, validate: idOf("Lead") }),
      reason: t.arg.string({ validate: z.string().max(200).nullish() }),
      summary: t.arg.string({ validate: z.string().max(1_000).nullish() }),
    },
    resolve: async (query, _root, { id, reason, summary }, ctx) => {
      return transact(ctx, async (tx, emit) => {
        const lead = await tx.lead.findFirst({ where: { id: id.id, tenantId: ctx.tenantId }, select: { conversationId: true } });
        if (!lead) throw notFound("Lead", "id");
        if (!lead.conversationId) throw conflict("This lead has no conversation to hand off");
        const conversation = await tx.conversation.update({
          where: { id: lead.conversationId },
          data: { status: "HANDED_OFF" },
          select: conversationFacts,
        });
        const handoff = await tx.handoff.create({
          ...query,
          data: { tenantId: ctx.tenantId, conversationId: lead.conversationId, leadId: id.id, reason, summary },
        });
        emit(conversationEvent("HANDOFF_REQUESTED", conversation, { handoffId: handoff.id }));
        return handoff;
      });
    },
  }),
}));
