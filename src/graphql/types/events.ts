// Subscriptions: what a live client watches. Each event's payload is the schema's own type,
// loaded after the change committed with the subscriber's selection; subscribers on this
// instance with the same selection share that load (loadOnce), and nested lists batch
// through the event's shared loaders.
import type { BookingEvent, ConversationEvent, DomainEvent, LeadEvent } from "../../events/events.js";
import { loadOnce, type Delivery, type StreamItem } from "../../live/stream.js";
import { builder } from "../builder.js";
import type { Context } from "../context.js";
import { notFound } from "../errors.js";
import { idOf } from "../ids.js";
import { requireOwned } from "../ownership.js";
import { AgentRef, ChannelRef } from "./agent.js";
import { ConversationRef } from "./conversation.js";
import { ChannelTypeEnum, ConversationStatusEnum, LeadStatusEnum } from "./enums.js";

/** Unwraps a stream item for execution: a stream that ended with an error reports it here. */
function delivered<E extends DomainEvent>(item: StreamItem<E>, ctx: Context): Delivery<E> {
  if ("end" in item) throw item.end;
  ctx.loaders = item.loaders;
  return item;
}

/** The row an event names, loaded once per distinct selection and event. */
async function loadRow<T>(delivery: Delivery, type: string, query: object, load: () => Promise<T | null>): Promise<T> {
  const row = await loadOnce(delivery, `${type}:${JSON.stringify(query)}`, load);
  // Deleted between the change and this delivery: nothing current to show.
  if (!row) throw notFound(type);
  return row;
}

const ConversationEventTypeEnum = builder.enumType("ConversationEventType", {
  values: {
    CREATED: {},
    UPDATED: {},
    CLOSED: {},
    MESSAGE_ADDED: {},
    MESSAGE_UPDATED: { description: "A message's delivery status changed (reportMessageDelivery)." },
    HANDOFF_REQUESTED: { description: "A human was asked to take over (requestLeadHandoff); `handoff` says why." },
  },
});
const LeadEventTypeEnum = builder.enumType("LeadEventType", { values: ["CREATED", "UPDATED"] as const });
const BookingEventTypeEnum = builder.enumType("BookingEventType", {
  values: {
    CREATED: {},
    UPDATED: { description: "Anything but its times or a cancellation or completion changed." },
    RESCHEDULED: { description: "Its start or end time changed." },
    CANCELLED: {},
    COMPLETED: {},
  },
});

const ConversationEventRef = builder.objectRef<Delivery<ConversationEvent>>("ConversationEvent").implement({
  description: "A conversation changed. Its fields are read after the change committed, so they may be newer than the event.",
  fields: (t) => ({
    eventId: t.id({ resolve: (delivery) => delivery.event.id }),
    type: t.field({ type: ConversationEventTypeEnum, resolve: (delivery) => delivery.event.type }),
    occurredAt: t.field({ type: "DateTime", resolve: (delivery) => new Date(delivery.event.occurredAt) }),
    conversation: t.prismaField({
      type: "Conversation",
      resolve: (query, delivery, _args, ctx) =>
        loadRow(delivery, "Conversation", query, () =>
          ctx.prisma.conversation.findFirst({ ...query, where: { id: delivery.event.conversationId, tenantId: ctx.tenantId } }),
        ),
    }),
    message: t.prismaField({
      type: "Message",
      nullable: true,
      description: "The message, for MESSAGE_ADDED and MESSAGE_UPDATED.",
      resolve: (query, delivery, _args, ctx) => {
        const id = delivery.event.messageId;
        if (!id) return null;
        return loadRow(delivery, "Message", query, () => ctx.prisma.message.findFirst({ ...query, where: { id, tenantId: ctx.tenantId } }));
      },
    }),
    handoff: t.prismaField({
      type: "Handoff",
      nullable: true,
      description: "The handoff, for HANDOFF_REQUESTED.",
      resolve: (query, delivery, _args, ctx) => {
        const id = delivery.event.handoffId;
        if (!id) return null;
        return loadRow(delivery, "Handoff", query, () => ctx.prisma.handoff.findFirst({ ...query, where: { id, tenantId: ctx.tenantId } }));
      },
    }),
  }),
});

const LeadEventRef = builder.objectRef<Delivery<LeadEvent>>("LeadEvent").implement({
  fields: (t) => ({
    eventId: t.id({ resolve: (delivery) => delivery.event.id }),
    type: t.field({ type: LeadEventTypeEnum, resolve: (delivery) => delivery.event.type }),
    occurredAt: t.field({ type: "DateTime", resolve: (delivery) => new Date(delivery.event.occurredAt) }),
    lead: t.prismaField({
      type: "Lead",
      resolve: (query, delivery, _args, ctx) =>
        loadRow(delivery, "Lead", query, () => ctx.prisma.lead.findFirst({ ...query, where: { id: delivery.event.leadId, tenantId: ctx.tenantId } })),
    }),
  }),
});

const BookingEventRef = builder.objectRef<Delivery<BookingEvent>>("BookingEvent").implement({
  fields: (t) => ({
    eventId: t.id({ resolve: (delivery) => delivery.event.id }),
    type: t.field({ type: BookingEventTypeEnum, resolve: (delivery) => delivery.event.type }),
    occurredAt: t.field({ type: "DateTime", resolve: (delivery) => new Date(delivery.event.occurredAt) }),
    booking: t.prismaField({
      type: "Booking",
      resolve: (query, delivery, _args, ctx) =>
        loadRow(delivery, "Booking", query, () =>
          ctx.prisma.booking.findFirst({ ...query, where: { id: delivery.event.bookingId, tenantId: ctx.tenantId } }),
        ),
    }),
  }),
});

const isConversationEvent = (event: DomainEvent): event is ConversationEvent => event.topic === "conversation";

builder.subscriptionFields((t) => ({
  conversation: t.field({
    type: ConversationEventRef,
    description: "Every change to one conversation: its fields, its status, each message added.",
    authScopes: { scope: "conversations:read" },
    args: { id: t.arg.globalID({ for: ConversationRef, required: true, validate: idOf("Conversation") }) },
    subscribe: async (_root, { id }, ctx) => {
      await requireOwned(ctx, "Conversation", id.id, "id");
      return ctx.live.open((event): event is ConversationEvent => isConversationEvent(event) && event.conversationId === id.id);
    },
    resolve: (item, _args, ctx) => delivered(item, ctx),
  }),
  conversationEvents: t.field({
    type: ConversationEventRef,
    description: "The tenant's conversations as they are created, updated, closed and receive messages. Filters match the state after the change.",
    authScopes: { scope: "conversations:read" },
    args: {
      channelType: t.arg({ type: ChannelTypeEnum }),
      channelId: t.arg.globalID({ for: ChannelRef, validate: idOf("Channel").nullish() }),
      agentId: t.arg.globalID({ for: AgentRef, validate: idOf("Agent").nullish() }),
      status: t.arg({ type: ConversationStatusEnum }),
      types: t.arg({ type: [ConversationEventTypeEnum] }),
    },
    subscribe: (_root, args, ctx) =>
      ctx.live.open(
        (event): event is ConversationEvent =>
          isConversationEvent(event) &&
          (!args.channelType || event.channelType === args.channelType) &&
          (!args.channelId || event.channelId === args.channelId.id) &&
          (!args.agentId || event.agentId === args.agentId.id) &&
          (!args.status || event.status === args.status) &&
          (!args.types?.length || args.types.includes(event.type)),
      ),
    resolve: (item, _args, ctx) => delivered(item, ctx),
  }),
  leadEvents: t.field({
    type: LeadEventRef,
    description: "Leads as they are created and move between statuses.",
    authScopes: { scope: "leads:read" },
    args: { status: t.arg({ type: LeadStatusEnum, description: "Only leads that now have this status." }) },
    subscribe: (_root, args, ctx) =>
      ctx.live.open((event): event is LeadEvent => event.topic === "lead" && (!args.status || event.status === args.status)),
    resolve: (item, _args, ctx) => delivered(item, ctx),
  }),
  bookingEvents: t.field({
    type: BookingEventRef,
    description: "Bookings as they are created, changed and cancelled.",
    authScopes: { scope: "bookings:read" },
    subscribe: (_root, _args, ctx) => ctx.live.open((event): event is BookingEvent => event.topic === "booking"),
    resolve: (item, _args, ctx) => delivered(item, ctx),
  }),
}));
