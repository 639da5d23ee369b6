// Outbound messages: sent to a customer by the assistant or an operator, stored QUEUED and
// handed to whoever delivers for the channel. The service talks to no messaging provider
// itself: a channel worker subscribes (conversationEvents, MESSAGE_ADDED with a QUEUED
// message), delivers, and reports SENT or FAILED with reportMessageDelivery.
import { z } from "zod";
import { reserveNumbers } from "../../db/numbers.js";
import { conversationEvent, conversationFacts } from "../../events/events.js";
import type { ChannelType } from "../../generated/prisma/enums.js";
import { builder } from "../builder.js";
import { newestFirst } from "../pagination.js";
import { badInput, conflict, notFound } from "../errors.js";
import { transact } from "../publish.js";
import { idOf } from "../ids.js";
import { rules } from "../validation.js";
import { ContactRef } from "./contact.js";
import { addMessage, appendMessage, ConversationRef, MessageRef } from "./conversation.js";
import { ChannelTypeEnum, DeliveryStatusEnum, MessageRoleEnum } from "./enums.js";

/** A contact's phone as conversations key it (no spaces, dashes, dots or brackets), or its email as it is. */
export function addressOf(value: string | null, kind: "phone" | "email"): string | null {
  if (!value) return null;
  return kind === "phone" ? value.replace(/[\s().-]/g, "") : value.trim();
}

/** How a contact is reached on each channel a contact's details can address. */
const CONTACT_ADDRESS: Partial<Record<ChannelType, "phone" | "email">> = {
  WHATSAPP: "phone",
  SMS: "phone",
  VOICE: "phone",
  VIBER: "phone",
  TELEGRAM: "phone",
  EMAIL: "email",
  WEBFORM: "email",
};

const SendMessageInput = builder.inputType("SendMessageInput", {
  fields: (t) => ({
    conversationId: t.globalID({ for: ConversationRef, required: true, validate: idOf("Conversation") }),
    content: t.string({ required: true, validate: rules.messageContent }),
    role: t.field({
      type: MessageRoleEnum,
      defaultValue: "ASSISTANT",
      description: "ASSISTANT (the default: the AI assistant speaks) or OPERATOR (a human does).",
      validate: z.enum(["ASSISTANT", "OPERATOR"], "must be ASSISTANT or OPERATOR").nullish(),
    }),
  }),
});

const SendMessageToContactInput = builder.inputType("SendMessageToContactInput", {
  fields: (t) => ({
    contactId: t.globalID({ for: ContactRef, required: true, validate: idOf("Contact") }),
    channelType: t.field({ type: ChannelTypeEnum, required: true }),
    content: t.string({ required: true, validate: rules.messageContent }),
  }),
});

const ReportMessageDeliveryInput = builder.inputType("ReportMessageDeliveryInput", {
  fields: (t) => ({
    messageId: t.globalID({ for: MessageRef, required: true, validate: idOf("Message") }),
    status: t.field({ type: DeliveryStatusEnum, required: true, validate: z.enum(["SENT", "FAILED"], "must be SENT or FAILED") }),
    error: t.string({ description: "Why it failed: required with FAILED, refused with SENT.", validate: z.string().trim().min(1).max(500).nullish() }),
  }),
});

builder.mutationFields((t) => ({
  sendMessage: t.prismaField({
    type: "Message",
    description: "Sends a message to the customer of a conversation: stored QUEUED for the channel's worker.",
    authScopes: { scope: "conversations:write" },
    grantScopes: ["written"],
    args: { input: t.arg({ type: SendMessageInput, required: true }) },
    resolve: (query, _root, { input }, ctx) =>
      addMessage(ctx, query, input.conversationId.id, input.role ?? "ASSISTANT", input.content, { outbound: true, field: "input.conversationId" }),
  }),
  sendMessageToContact: t.prismaField({
    type: "Message",
    description:
      "Sends the assistant's message to a contact on a channel: in the contact's latest conversation on that channel, else in the one for " +
      "the contact's phone or email there (UPDATED, when it had no contact yet), else in a new one (CREATED); then MESSAGE_ADDED. Phone channels: WHATSAPP, SMS, VOICE, VIBER, " +
      "TELEGRAM; email channels: EMAIL, WEBFORM. Stored QUEUED for the channel's worker.",
    authScopes: { scope: "conversations:write" },
    grantScopes: ["written"],
    args: { input: t.arg({ type: SendMessageToContactInput, required: true }) },
    resolve: async (query, _root, { input }, ctx) => {
      const channelType = input.channelType;
      return transact(ctx, async (tx, emit) => {
        const contact = await tx.contact.findFirst({ where: { id: input.contactId.id, tenantId: ctx.tenantId } });
        if (!contact) throw notFound("Contact", "input.contactId");
        let conversation = await tx.conversation.findFirst({
          where: { tenantId: ctx.tenantId, contactId: contact.id, channelType },
          orderBy: newestFirst,
          select: { id: true },
        });
        let created = false;
        let linked = false;
        if (!conversation) {
          const address = CONTACT_ADDRESS[channelType];
          const identifier = address ? addressOf(contact[address], address) : null;
          if (!identifier) {
            throw badInput(
              "input.channelType",
              address ? `The contact has no ${address} to reach on this channel` : "A contact cannot be reached on this channel from its details: start the conversation there first",
            );
          }
          const atAddress = await tx.conversation.findFirst({
            where: { tenantId: ctx.tenantId, channelType, customerIdentifier: identifier },
            select: { id: true, contactId: true },
          });
          // The address's conversation is the contact's from now on, unless another contact has it.
          if (atAddress?.contactId && atAddress.contactId !== contact.id) {
            throw conflict(`Another contact's conversation is at ${identifier} on this channel: send to that contact, or to the conversation itself`);
          }
          if (atAddress && !atAddress.contactId) {
            await tx.conversation.update({ where: { id: atAddress.id }, data: { contactId: contact.id } });
            linked = true;
          }
          conversation = atAddress;
          if (!conversation) {
            const name = [contact.firstName, contact.lastName].filter(Boolean).join(" ") || null;
            conversation = await tx.conversation.create({
              data: {
                tenantId: ctx.tenantId,
                number: await reserveNumbers(tx, ctx.tenantId, "lastConversationNumber"),
                channelType,
                contactId: contact.id,
                customerIdentifier: identifier,
                customerName: name,
                customerLanguage: contact.language,
              },
              select: { id: true },
            });
            created = true;
          }
        }
        const appended = await appendMessage(tx, ctx.tenantId, conversation.id, { role: "ASSISTANT", content: input.content, outbound: true }, query);
        if (created) emit(conversationEvent("CREATED", appended.conversation));
        if (linked) emit(conversationEvent("UPDATED", appended.conversation, { changed: ["contactId"] }));
        emit(conversationEvent("MESSAGE_ADDED", appended.conversation, { messageId: appended.message.id }));
        return appended.message;
      });
    },
  }),
  reportMessageDelivery: t.prismaField({
    type: "Message",
    description: "What a channel's worker reports for a QUEUED message: SENT, or FAILED with the reason. Reported once: CONFLICT after that.",
    authScopes: { scope: "conversations:write" },
    grantScopes: ["written"],
    args: { input: t.arg({ type: ReportMessageDeliveryInput, required: true }) },
    resolve: async (query, _root, { input }, ctx) => {
      if (input.status === "SENT" && input.error != null) throw badInput("input.error", "only a FAILED delivery has an error");
      if (input.status === "FAILED" && input.error == null) throw badInput("input.error", "a FAILED delivery needs its reason");
      const id = input.messageId.id;
      const reported = await transact(ctx, async (tx, emit) => {
        const reported = await tx.message.updateManyAndReturn({
          where: { id, tenantId: ctx.tenantId, deliveryStatus: "QUEUED" },
          data: { deliveryStatus: input.status, deliveryError: input.error?.trim() ?? null, deliveryReportedAt: new Date() },
          select: { id: true, conversation: { select: conversationFacts } },
        });
        if (reported[0]) emit(conversationEvent("MESSAGE_UPDATED", reported[0].conversation, { messageId: id }));
        return reported;
      });
      if (reported.length === 0) {
        const message = await ctx.prisma.message.findFirst({ where: { id, tenantId: ctx.tenantId }, select: { deliveryStatus: true } });
        if (!message) throw notFound("Message", "input.messageId");
        if (message.deliveryStatus === null) throw badInput("input.messageId", "This message was not sent to the customer: it has no delivery to report");
        throw conflict(`This message's delivery was already reported ${message.deliveryStatus}`);
      }
      return ctx.prisma.message.findUniqueOrThrow({ ...query, where: { id } });
    },
  }),
}));
