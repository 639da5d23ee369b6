// Support tickets (the Velents Support Center's): a ticket IS a conversation (channel type
// SUPPORT) with case metadata: subject, status, priority, the caller's own reference, a
// category and tags. Creating one opens its conversation in the same transaction; its
// thread's messages are that conversation's, and its assignee is the conversation's
// assignedOperator, so inbox tools and live subscribers see tickets like any conversation.
import { randomUUID } from "node:crypto";
import { z } from "zod";
import type { Prisma } from "../../generated/prisma/client.js";
import { TicketPriority, TicketStatus } from "../../generated/prisma/enums.js";
import { reserveNumbers } from "../../db/numbers.js";
import { conversationEvent, conversationFacts } from "../../events/events.js";
import { builder } from "../builder.js";
import { transact } from "../publish.js";
import type { Context } from "../context.js";
import { notFound } from "../errors.js";
import { encodeId, idOf } from "../ids.js";
import { requireOwned } from "../ownership.js";
import { newestFirst, offsetArgOptions, withOffset } from "../pagination.js";
import { rules } from "../validation.js";
import { ContactRef } from "./contact.js";
import { appendMessage, ConversationRef } from "./conversation.js";

export const TicketStatusEnum = builder.enumType(TicketStatus, {
  name: "TicketStatus",
  description: "OPEN: new or awaiting the team; PENDING: awaiting the customer; RESOLVED: answered, may reopen; CLOSED: done (its conversation is CLOSED too).",
});
export const TicketPriorityEnum = builder.enumType(TicketPriority, { name: "TicketPriority" });


/** Where a ticket keeps the customer's email: its conversation's input values, handed to whoever answers. */
const CUSTOMER_EMAIL_KEY = "customerEmail";

const subjectRule = z.string().trim().min(1, "must not be empty").max(200, "must be at most 200 characters");
const categoryRule = z.string().trim().min(1, "must not be empty").max(100, "must be at most 100 characters").nullish();
const identifierRule = z.string().trim().min(1, "must not be empty").max(200, "must be at most 200 characters").nullish();

export const TicketRef = builder.prismaNode("Ticket", {
  id: { field: "id" },
  authScopes: { scope: "tickets:read", $granted: "written" },
  findUnique: (id, ctx) => ({ id, tenantId: ctx.tenantId }),
  fields: (t) => ({
    subject: t.exposeString("subject"),
    status: t.expose("status", { type: TicketStatusEnum }),
    priority: t.expose("priority", { type: TicketPriorityEnum }),
    identifier: t.exposeString("identifier", { nullable: true, description: "The caller's own reference for the case: an order or CRM id." }),
    category: t.exposeString("category", { nullable: true }),
    tags: t.exposeStringList("tags"),
    // The conversation's own fields a ticket shows, readable with tickets:read (the
    // `conversation` relation needs conversations:read).
    assignee: t.string({
      nullable: true,
      description: "Who handles the ticket: its conversation's assignedOperator.",
      select: { conversation: { select: { assignedOperator: true } } },
      resolve: (ticket) => ticket.conversation.assignedOperator,
    }),
    customerName: t.string({
      nullable: true,
      select: { conversation: { select: { customerName: true } } },
      resolve: (ticket) => ticket.conversation.customerName,
    }),
    customerEmail: t.string({
      nullable: true,
      select: { conversation: { select: { inputValues: true } } },
      resolve: (ticket) => {
        const values = ticket.conversation.inputValues as Record<string, unknown> | null;
        const email = values?.[CUSTOMER_EMAIL_KEY];
        return typeof email === "string" ? email : null;
      },
    }),
    conversationId: t.globalID({ description: "The ticket's thread.", resolve: (ticket) => ({ type: "Conversation", id: ticket.conversationId }) }),
    conversation: t.relation("conversation"),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    updatedAt: t.expose("updatedAt", { type: "DateTime" }),
  }),
});

// A SUPPORT conversation's ticket, from the conversation's side (null for other conversations).
builder.prismaObjectField(ConversationRef, "ticket", (t) => t.relation("ticket", { nullable: true }));

interface TicketFilter {
  ids?: { id: string }[] | null;
  status?: TicketStatus | null;
  priority?: TicketPriority | null;
  identifier?: string | null;
}

function ticketWhere(ctx: Context, args: TicketFilter): Prisma.TicketWhereInput {
  return {
    tenantId: ctx.tenantId,
    ...(args.ids ? { id: { in: args.ids.map((ticket) => ticket.id) } } : {}),
    ...(args.status ? { status: args.status } : {}),
    ...(args.priority ? { priority: args.priority } : {}),
    ...(args.identifier ? { identifier: args.identifier } : {}),
  };
}

builder.queryField("tickets", (t) =>
  t.prismaConnection({
    type: "Ticket",
    cursor: "id",
    authScopes: { scope: "tickets:read" },
    description: "Support tickets, newest first. `ids` fetches those tickets (unknown ids are left out, not errors).",
    args: {
      ids: t.arg.globalIDList({ for: TicketRef, validate: z.array(idOf("Ticket")).max(100).nullish() }),
      status: t.arg({ type: TicketStatusEnum }),
      priority: t.arg({ type: TicketPriorityEnum }),
      identifier: t.arg.string({ description: "Only tickets with this reference of the caller's.", validate: rules.shortText }),
      offset: t.arg.int(offsetArgOptions),
    },
    resolve: (query, _root, args, ctx) => ctx.prisma.ticket.findMany({ ...withOffset(query, args.offset), where: ticketWhere(ctx, args), orderBy: newestFirst }),
    totalCount: (_parent, args, ctx) => ctx.prisma.ticket.count({ where: ticketWhere(ctx, args) }),
  }),
);

const CreateTicketInput = builder.inputType("CreateTicketInput", {
  fields: (t) => ({
    subject: t.string({ required: true, validate: subjectRule }),
    message: t.string({ description: "The customer's first message, if the case opens with one.", validate: rules.messageContent.nullish() }),
    priority: t.field({ type: TicketPriorityEnum, description: "NORMAL unless given." }),
    identifier: t.string({ description: "The caller's own reference for the case: an order or CRM id.", validate: identifierRule }),
    category: t.string({ validate: categoryRule }),
    tags: t.stringList({ validate: rules.tags }),
    customerName: t.string({ validate: rules.optionalName }),
    customerEmail: t.string({ validate: rules.email }),
    customerLanguage: t.string({ validate: rules.language }),
    contactId: t.globalID({ for: ContactRef, description: "The contact the case is about, if known.", validate: idOf("Contact").nullish() }),
  }),
});

const UpdateTicketInput = builder.inputType("UpdateTicketInput", {
  description: "Omitted fields are left as they are; null clears identifier, category, tags and assignee.",
  fields: (t) => ({
    subject: t.string({ validate: subjectRule.nullish() }),
    status: t.field({ type: TicketStatusEnum, description: "CLOSED closes the ticket's conversation; leaving CLOSED reopens it." }),
    priority: t.field({ type: TicketPriorityEnum }),
    identifier: t.string({ validate: identifierRule }),
    category: t.string({ validate: categoryRule }),
    tags: t.stringList({ validate: rules.tags }),
    assignee: t.string({ description: "The operator handling it (the conversation's assignedOperator); null unassigns.", validate: rules.shortText }),
  }),
});

/** Trimmed, or null for null; undefined stays undefined (left as it is). */
const trimmed = (value: string | null | undefined) => (value == null ? value : value.trim());
const trimmedTags = (tags: string[] | null | undefined) => (tags === undefined ? undefined : [...new Set((tags ?? []).map((tag) => tag.trim()))]);

builder.mutationFields((t) => ({
  createTicket: t.prismaField({
    type: "Ticket",
    description:
      "Opens a support case: its conversation (channel type SUPPORT) and, with `message`, the customer's first message, in one transaction; then CREATED (and MESSAGE_ADDED) on conversationEvents.",
    authScopes: { scope: "tickets:write" },
    grantScopes: ["written"],
    args: { input: t.arg({ type: CreateTicketInput, required: true }) },
    resolve: async (query, _root, { input }, ctx) => {
      await requireOwned(ctx, "Contact", input.contactId?.id, "input.contactId");
      const id = randomUUID();
      const email = trimmed(input.customerEmail);
      return transact(ctx, async (tx, emit) => {
        const conversation = await tx.conversation.create({
          data: {
            tenantId: ctx.tenantId,
            number: await reserveNumbers(tx, ctx.tenantId, "lastConversationNumber"),
            channelType: "SUPPORT",
            contactId: input.contactId?.id,
            // Unique per tenant and channel type: a customer may open any number of tickets.
            customerIdentifier: encodeId("Ticket", id),
            customerName: trimmed(input.customerName) || null,
            customerLanguage: input.customerLanguage,
            inputValues: email ? { [CUSTOMER_EMAIL_KEY]: email } : {},
          },
          select: conversationFacts,
        });
        // The message before the ticket, so that the ticket's row as returned sees its thread's latest state.
        const first = input.message
          ? await appendMessage(tx, ctx.tenantId, conversation.id, { role: "USER", content: input.message.trim(), outbound: false })
          : undefined;
        const ticket = await tx.ticket.create({
          ...query,
          data: {
            id,
            tenantId: ctx.tenantId,
            conversationId: conversation.id,
            subject: input.subject.trim(),
            priority: input.priority ?? undefined,
            identifier: trimmed(input.identifier),
            category: trimmed(input.category),
            tags: trimmedTags(input.tags) ?? [],
          },
        });
        // Subscribers learn of the new conversation, then of its first message.
        emit(conversationEvent("CREATED", conversation));
        if (first) emit(conversationEvent("MESSAGE_ADDED", first.conversation, { messageId: first.message.id }));
        return ticket;
      });
    },
  }),
  updateTicket: t.prismaField({
    type: "Ticket",
    description:
      "Changes a ticket's case metadata or assignee. Its conversation changes with it (assignee; CLOSED closes it, leaving CLOSED reopens it), and conversationEvents carries UPDATED (CLOSED when it closed).",
    authScopes: { scope: "tickets:write" },
    grantScopes: ["written"],
    args: {
      id: t.arg.globalID({ for: TicketRef, required: true, validate: idOf("Ticket") }),
      input: t.arg({ type: UpdateTicketInput, required: true, validate: rules.someChange }),
    },
    resolve: async (query, _root, { id, input }, ctx) => {
      return transact(ctx, async (tx, emit) => {
        const existing = await tx.ticket.findFirst({
          where: { id: id.id, tenantId: ctx.tenantId },
          select: { conversationId: true, conversation: { select: { status: true } } },
        });
        if (!existing) throw notFound("Ticket", "id");
        const status = input.status ?? undefined;
        const conversationStatus =
          status === "CLOSED" ? "CLOSED" : status !== undefined && existing.conversation.status === "CLOSED" ? "OPEN" : undefined;
        // Touched whatever changed: a change to the case is a change to its conversation.
        const conversation = await tx.conversation.update({
          where: { id: existing.conversationId },
          data: { assignedOperator: input.assignee === undefined ? undefined : trimmed(input.assignee) || null, status: conversationStatus, updatedAt: new Date() },
          select: conversationFacts,
        });
        const ticket = await tx.ticket.update({
          ...query,
          where: { id: id.id },
          data: {
            subject: trimmed(input.subject) ?? undefined,
            status,
            priority: input.priority ?? undefined,
            identifier: trimmed(input.identifier),
            category: trimmed(input.category),
            tags: trimmedTags(input.tags),
          },
        });
        emit(conversationEvent(conversationStatus === "CLOSED" ? "CLOSED" : "UPDATED", conversation));
        return ticket;
      });
    },
  }),
}));
