import type { Prisma } from "../../generated/prisma/client.js";
import { builder } from "../builder.js";
import { offsetArgOptions, withOffset } from "../pagination.js";
import type { Context } from "../context.js";
import { bookingEvent } from "../../events/events.js";
import { badInput, notFound, orNotFound } from "../errors.js";
import { publishAfter } from "../publish.js";
import { requireOwned } from "../ownership.js";
import { idOf } from "../ids.js";
import { rules } from "../validation.js";
import { ContactRef } from "./contact.js";
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
    },
    resolve: (query, _root, args, ctx) =>
      ctx.prisma.booking.findMany({ ...withOffset(query, args.offset), where: bookingWhere(ctx, args), orderBy: [{ startsAt: "asc" }, { id: "asc" }] }),
    totalCount: (_parent, args, ctx) => ctx.prisma.booking.count({ where: bookingWhere(ctx, args) }),
  }),
);

const CreateBookingInput = builder.inputType("CreateBookingInput", {
  fields: (t) => ({
    contactId: t.globalID({ for: ContactRef, required: true, validate: idOf("Contact") }),
    service: t.string({ required: true, validate: rules.name }),
    startsAt: t.field({ type: "DateTime", required: true }),
    endsAt: t.field({ type: "DateTime", required: true }),
    status: t.field({ type: BookingStatusEnum }),
    notes: t.string({ validate: rules.longText }),
  }),
});

const UpdateBookingInput = builder.inputType("UpdateBookingInput", {
  description: "Omitted fields are left as they are.",
  fields: (t) => ({
    service: t.string({ validate: rules.name.nullish() }),
    startsAt: t.field({ type: "DateTime" }),
    endsAt: t.field({ type: "DateTime" }),
    status: t.field({ type: BookingStatusEnum }),
    notes: t.string({ validate: rules.longText }),
  }),
});

function requireOrderedTimes(startsAt: Date, endsAt: Date) {
  if (endsAt <= startsAt) throw badInput("input.endsAt", "endsAt must be after startsAt");
}

builder.mutationFields((t) => ({
  createBooking: t.prismaField({
    type: "Booking",
    authScopes: { scope: "bookings:write" },
    grantScopes: ["written"],
    args: { input: t.arg({ type: CreateBookingInput, required: true }) },
    resolve: async (query, _root, { input }, ctx) => {
      requireOrderedTimes(input.startsAt, input.endsAt);
      await requireOwned(ctx, "Contact", input.contactId.id, "input.contactId");
      const booking = ctx.prisma.booking.create({
        ...query,
        data: {
          tenantId: ctx.tenantId,
          contactId: input.contactId.id,
          service: input.service,
          startsAt: input.startsAt,
          endsAt: input.endsAt,
          status: input.status ?? undefined,
          notes: input.notes,
        },
      });
      return publishAfter(ctx, booking, (row) => bookingEvent("CREATED", row));
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
    resolve: (query, _root, { id, input }, ctx) =>
      publishAfter(ctx, ctx.prisma.$transaction(async (tx) => {
        const current = await tx.booking.findFirst({ where: { id: id.id, tenantId: ctx.tenantId } });
        if (!current) throw notFound("Booking");
        requireOrderedTimes(input.startsAt ?? current.startsAt, input.endsAt ?? current.endsAt);
        return tx.booking.update({
          ...query,
          where: { id: current.id },
          data: {
            service: input.service ?? undefined,
            startsAt: input.startsAt ?? undefined,
            endsAt: input.endsAt ?? undefined,
            status: input.status ?? undefined,
            notes: input.notes,
          },
        });
      }), (row) => bookingEvent(row.status === "CANCELLED" ? "CANCELLED" : "UPDATED", row)),
  }),
  cancelBooking: t.prismaField({
    type: "Booking",
    authScopes: { scope: "bookings:write" },
    grantScopes: ["written"],
    args: { id: t.arg.globalID({ for: BookingRef, required: true, validate: idOf("Booking") }) },
    resolve: (query, _root, { id }, ctx) =>
      publishAfter(
        ctx,
        orNotFound(
          "Booking",
          ctx.prisma.booking.update({ ...query, where: { id: id.id, tenantId: ctx.tenantId }, data: { status: "CANCELLED" } }),
        ),
        (row) => bookingEvent("CANCELLED", row),
      ),
  }),
}));
