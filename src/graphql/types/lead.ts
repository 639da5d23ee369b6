import type { Prisma } from "../../generated/prisma/client.js";
import { builder } from "../builder.js";
import { offsetArgOptions, withOffset } from "../pagination.js";
import type { Context } from "../context.js";
import { leadEvent } from "../../events/events.js";
import { orNotFound } from "../errors.js";
import { publishAfter } from "../publish.js";
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

function leadWhere(ctx: Context, status: string | null | undefined): Prisma.LeadWhereInput {
  return { tenantId: ctx.tenantId, ...(status ? { status: status as Prisma.LeadWhereInput["status"] } : {}) };
}

builder.queryField("leads", (t) =>
  t.prismaConnection({
    type: "Lead",
    cursor: "id",
    authScopes: { scope: "leads:read" },
    args: {
      status: t.arg({ type: LeadStatusEnum }),
      sort: t.arg({ type: LeadSort, defaultValue: "NEWEST" }),
      offset: t.arg.int(offsetArgOptions),
    },
    resolve: (query, _root, args, ctx) =>
      ctx.prisma.lead.findMany({
        ...withOffset(query, args.offset),
        where: leadWhere(ctx, args.status),
        orderBy:
          args.sort === "SCORE"
            ? [{ score: { sort: "desc", nulls: "last" } }, { createdAt: "desc" }, { id: "desc" }]
            : [{ createdAt: "desc" }, { id: "desc" }],
      }),
    totalCount: (_parent, args, ctx) => ctx.prisma.lead.count({ where: leadWhere(ctx, args.status) }),
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
  }),
});

builder.mutationFields((t) => ({
  createLead: t.prismaField({
    type: "Lead",
    authScopes: { scope: "leads:write" },
    grantScopes: ["written"],
    args: { input: t.arg({ type: CreateLeadInput, required: true }) },
    resolve: async (query, _root, { input }, ctx) => {
      await requireOwned(ctx, "Contact", input.contactId?.id, "input.contactId");
      await requireOwned(ctx, "Conversation", input.conversationId?.id, "input.conversationId");
      const lead = ctx.prisma.lead.create({
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
      return publishAfter(ctx, lead, (row) => leadEvent("CREATED", row));
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
      publishAfter(
        ctx,
        orNotFound("Lead", ctx.prisma.lead.update({ ...query, where: { id: id.id, tenantId: ctx.tenantId }, data: { status } })),
        (row) => leadEvent("UPDATED", row),
      ),
  }),
}));
