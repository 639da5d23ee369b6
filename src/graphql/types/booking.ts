import type { Prisma } from "../../generated/prisma/client.js";
import { builder } from "../builder.js";
import { offsetArgOptions, withOffset } from "../pagination.js";
import type { Context } from "../context.js";
import type { Booking } from "../../generated/prisma/client.js";
import type { BookingStatus } from "../../generated/prisma/enums.js";
import { bookingEvent, type BookingEventType } from "../../events/events.js";
import { badInput, conflict, notFound } from "../errors.js";
import { transact } from "../publish.js";
import { requireOwned } from "../ownership.js";
import { idOf } from "../ids.js";
import { rules } from "../validation.js";
import { ContactRef } from "./contact.js";
import { ConversationRef } from "./conversation.js";
import { LeadRef } from "./lead.js";
import { OfferingRef } from "./offering.js";
import { BookingStatusEnum } from "./enums.js";

export const BookingRef = builder.prismaNode("Booking", {
  id: { field: "id" },
  authScopes: { scope: "bookings:read", $granted: "written" },
  findUnique: (id, ctx) => ({ id, tenantId: ctx.tenantId }),
  fields: (t) => ({
    contact: t.relation("contact", { nullable: true }),
    contactId: t.globalID({
      nullable: true,
      description: "The contact's id, readable without contacts:read.",
      resolve: (booking) => (booking.contactId ? { type: "Contact", id: booking.contactId } : null),
    }),
    service: t.exposeString("service", { nullable: true }),
    customerName: t.exposeString("customerName", { nullable: true }),
    customerPhone: t.exposeString("customerPhone", { nullable: true }),
    customerEmail: t.exposeString("customerEmail", { nullable: true }),
    locationText: t.exposeString("locationText", { nullable: true }),
    conversation: t.relation("conversation", { nullable: true }),
    conversationId: t.globalID({
      nullable: true,
      resolve: (booking) => (booking.conversationId ? { type: "Conversation", id: booking.conversationId } : null),
    }),
    lead: t.relation("lead", { nullable: true }),
    leadId: t.globalID({ nullable: true, resolve: (booking) => (booking.leadId ? { type: "Lead", id: booking.leadId } : null) }),
    offering: t.field({
      type: OfferingRef,
      nullable: true,
      description: "What is booked, when it is one of the tenant's offerings; null once that offering is deleted.",
      select: (_args, _ctx, nestedSelection) => ({ offering: nestedSelection() }),
      resolve: (booking) => (booking.offering && booking.offering.deletedAt === null ? booking.offering : null),
    }),
    offeringId: t.globalID({
      nullable: true,
      description: "The offering's id, readable without offerings:read; kept after the offering is deleted.",
      resolve: (booking) => (booking.offeringId ? { type: "Offering", id: booking.offeringId } : null),
    }),
    startsAt: t.expose("startsAt", { type: "DateTime" }),
    endsAt: t.expose("endsAt", { type: "DateTime" }),
    status: t.expose("status", { type: BookingStatusEnum }),
    notes: t.exposeString("notes", { nullable: true }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    updatedAt: t.expose("updatedAt", { type: "DateTime" }),
  }),
});

interface BookingFilter {
  status?: string | null;
  contactId?: { id: string } | null;
  from?: Date | null;
  to?: Date | null;
}

function bookingWhere(ctx: Context, args: BookingFilter): Prisma.BookingWhereInput {
  return {
    tenantId: ctx.tenantId,
    ...(args.status ? { status: args.status as Prisma.BookingWhereInput["status"] } : {}),
    ...(args.contactId ? { contactId: args.contactId.id } : {}),
    ...(args.from || args.to ? { startsAt: { ...(args.from ? { gte: args.from } : {}), ...(args.to ? { lt: args.to } : {}) } } : {}),
  };
}

builder.queryField("bookings", (t) =>
  t.prismaConnection({
    type: "Booking",
    cursor: "id",
    authScopes: { scope: "bookings:read" },
    description: "Bookings by start time. `from` is inclusive, `to` exclusive, both on the start time.",
    args: {
      status: t.arg({ type: BookingStatusEnum }),
      contactId: t.arg.globalID({ for: ContactRef, validate: idOf("Contact").nullish() }),
      from: t.arg({ type: "DateTime" }),
      to: t.arg({ type: "DateTime" }),
      offset: t.arg.int(offsetArgOptions),
      latestFirst: t.arg.boolean({ defaultValue: false, description: "Latest start first (ties: larger id first) instead of earliest first." }),
    },
    resolve: (query, _root, args, ctx) => {
      const direction = args.latestFirst ? "desc" : "asc";
      return ctx.prisma.booking.findMany({
        ...withOffset(query, args.offset),
        where: bookingWhere(ctx, args),
        orderBy: [{ startsAt: direction }, { id: direction }],
      });
    },
    totalCount: (_parent, args, ctx) => ctx.prisma.booking.count({ where: bookingWhere(ctx, args) }),
  }),
);

const CreateBookingInput = builder.inputType("CreateBookingInput", {
  description: "A booking is for a contact (contactId) or a named customer (customerName), or both.",
  fields: (t) => ({
    contactId: t.globalID({ for: ContactRef, validate: idOf("Contact").nullish() }),
    service: t.string({ validate: rules.optionalName }),
    customerName: t.string({ validate: rules.optionalName }),
    customerPhone: t.string({ validate: rules.phone }),
    customerEmail: t.string({ validate: rules.email }),
    locationText: t.string({ validate: rules.location }),
    conversationId: t.globalID({ for: ConversationRef, validate: idOf("Conversation").nullish() }),
    leadId: t.globalID({ for: LeadRef, validate: idOf("Lead").nullish() }),
    offeringId: t.globalID({ for: OfferingRef, description: "One of the tenant's offerings that is not deleted.", validate: idOf("Offering").nullish() }),
    startsAt: t.field({ type: "DateTime", required: true }),
    endsAt: t.field({ type: "DateTime", required: true }),
    status: t.field({ type: BookingStatusEnum }),
    notes: t.string({ validate: rules.longText }),
  }),
});

const UpdateBookingInput = builder.inputType("UpdateBookingInput", {
  description:
    "Omitted fields are left as they are; null clears a field. A CANCELLED, COMPLETED or NO_SHOW booking is over: " +
    "changing its status or times is a CONFLICT. Its contact, conversation and lead never change: make a new booking.",
  fields: (t) => ({
    service: t.string({ validate: rules.optionalName }),
    customerName: t.string({ validate: rules.optionalName }),
    customerPhone: t.string({ validate: rules.phone }),
    customerEmail: t.string({ validate: rules.email }),
    locationText: t.string({ validate: rules.location }),
    startsAt: t.field({ type: "DateTime" }),
    endsAt: t.field({ type: "DateTime" }),
    status: t.field({ type: BookingStatusEnum }),
    notes: t.string({ validate: rules.longText }),
  }),
});

function requireOrderedTimes(startsAt: Date, endsAt: Date) {
  if (endsAt <= startsAt) throw badInput("input.endsAt", "must be after the start time");
}

/** Statuses a booking does not leave. */
const FINAL_STATUSES: ReadonlySet<BookingStatus> = new Set(["CANCELLED", "COMPLETED", "NO_SHOW"]);

type UpdateBooking = typeof UpdateBookingInput.$inferInput;

/** The event a change makes, and a CONFLICT for a change to a booking that is over. */
function bookingChange(current: Booking, input: UpdateBooking): BookingEventType {
  const status = input.status ?? current.status;
  const moved =
    (input.startsAt != null && input.startsAt.getTime() !== current.startsAt.getTime()) ||
    (input.endsAt != null && input.endsAt.getTime() !== current.endsAt.getTime());
  if (FINAL_STATUSES.has(current.status) && (moved || status !== current.status)) {
    throw conflict(`This booking is ${current.status}: its status and times can no longer change`);
  }
  if (status !== current.status && (status === "CANCELLED" || status === "COMPLETED")) return status;
  return moved ? "RESCHEDULED" : "UPDATED";
}

builder.mutationFields((t) => ({
  createBooking: t.prismaField({
    type: "Booking",
    authScopes: { scope: "bookings:write" },
    grantScopes: ["written"],
    args: { input: t.arg({ type: CreateBookingInput, required: true }) },
    resolve: async (query, _root, { input }, ctx) => {
      requireOrderedTimes(input.startsAt, input.endsAt);
      if (!input.contactId && !input.customerName?.trim()) {
        throw badInput("input.customerName", "a booking needs a contactId or a customerName");
      }
      await requireOwned(ctx, "Contact", input.contactId?.id, "input.contactId");
      await requireOwned(ctx, "Conversation", input.conversationId?.id, "input.conversationId");
      await requireOwned(ctx, "Lead", input.leadId?.id, "input.leadId");
      await requireOwned(ctx, "Offering", input.offeringId?.id, "input.offeringId");
      return transact(ctx, async (tx, emit) => {
        const booking = await tx.booking.create({
          ...query,
          data: {
            tenantId: ctx.tenantId,
            contactId: input.contactId?.id,
            service: input.service?.trim(),
            customerName: input.customerName?.trim(),
            customerPhone: input.customerPhone,
            customerEmail: input.customerEmail,
            locationText: input.locationText,
            conversationId: input.conversationId?.id,
            leadId: input.leadId?.id,
            offeringId: input.offeringId?.id,
            startsAt: input.startsAt,
            endsAt: input.endsAt,
            status: input.status ?? undefined,
            notes: input.notes,
          },
        });
        emit(bookingEvent("CREATED", booking));
        return booking;
      });
    },
  }),
  updateBooking: t.prismaField({
    type: "Booking",
    authScopes: { scope: "bookings:write" },
    grantScopes: ["written"],
    args: {
      id: t.arg.globalID({ for: BookingRef, required: true, validate: idOf("Booking") }),
      input: t.arg({ type: UpdateBookingInput, required: true, validate: rules.someChange }),
    },
    resolve: async (query, _root, { id, input }, ctx) => {
      if (input.status === null) throw badInput("input.status", "status cannot be cleared");
      if (input.startsAt === null) throw badInput("input.startsAt", "startsAt cannot be cleared");
      if (input.endsAt === null) throw badInput("input.endsAt", "endsAt cannot be cleared");
      return transact(ctx, async (tx, emit) => {
        const current = await tx.booking.findFirst({ where: { id: id.id, tenantId: ctx.tenantId } });
        if (!current) throw notFound("Booking");
        requireOrderedTimes(input.startsAt ?? current.startsAt, input.endsAt ?? current.endsAt);
        const change = bookingChange(current, input);
        const row = await tx.booking.update({
          ...query,
          where: { id: current.id },
          data: {
            service: input.service === null ? null : input.service?.trim(),
            customerName: input.customerName === null ? null : input.customerName?.trim(),
            customerPhone: input.customerPhone,
            customerEmail: input.customerEmail,
            locationText: input.locationText,
            startsAt: input.startsAt ?? undefined,
            endsAt: input.endsAt ?? undefined,
            status: input.status ?? undefined,
            notes: input.notes,
          },
        });
        emit(bookingEvent(change, row));
        return row;
      });
    },
  }),
  cancelBooking: t.prismaField({
    type: "Booking",
    description: "Cancels a booking; cancelling a cancelled one changes nothing. A COMPLETED or NO_SHOW booking is a CONFLICT.",
    authScopes: { scope: "bookings:write" },
    grantScopes: ["written"],
    args: { id: t.arg.globalID({ for: BookingRef, required: true, validate: idOf("Booking") }) },
    resolve: async (query, _root, { id }, ctx) => {
      return transact(ctx, async (tx, emit) => {
        const current = await tx.booking.findFirst({ where: { id: id.id, tenantId: ctx.tenantId } });
        if (!current) throw notFound("Booking");
        if (current.status === "CANCELLED") return tx.booking.findUniqueOrThrow({ ...query, where: { id: current.id } });
        bookingChange(current, { status: "CANCELLED" });
        const row = await tx.booking.update({ ...query, where: { id: current.id }, data: { status: "CANCELLED" } });
        emit(bookingEvent("CANCELLED", row));
        return row;
      });
    },
  }),
}));
