// Offerings (Vorel's): what a tenant offers and customers book — a property listing, a
// service, a package — with a price, photos and vertical-specific attributes. An appointment
// (booking) may name one. Deleting one is soft: deletedAt is set, and from then on the
// offering is NOT_FOUND everywhere (node, lists, updates, a booking's offeringId, REST), as
// if it had never existed; bookings that named it keep their offeringId.
import { z } from "zod";
import type { Prisma } from "../../generated/prisma/client.js";
import { offeringEvent } from "../../events/events.js";
import { builder } from "../builder.js";
import type { Context } from "../context.js";
import { badInput, notFound, orNotFound } from "../errors.js";
import { encodeId, idOf } from "../ids.js";
import { newestFirst } from "../pagination.js";
import { transact } from "../publish.js";
import { rules } from "../validation.js";

export const OfferingRef = builder.prismaNode("Offering", {
  id: { field: "id" },
  description: "Something the tenant offers and customers book (Vorel's offering). Deleted offerings are never shown.",
  authScopes: { scope: "offerings:read", $granted: "written" },
  // Always loaded, so that a relation pointing at a deleted offering can show none (Booking.offering).
  select: { id: true, deletedAt: true },
  findUnique: (id, ctx) => ({ id, tenantId: ctx.tenantId, deletedAt: null }),
  fields: (t) => ({
    title: t.exposeString("title"),
    titleAr: t.exposeString("titleAr", { nullable: true, description: "The title in Arabic." }),
    description: t.exposeString("description", { nullable: true }),
    descriptionAr: t.exposeString("descriptionAr", { nullable: true }),
    price: t.field({
      type: "Decimal",
      description: 'Exact, with two decimal places: "1250.00".',
      select: { price: true },
      resolve: (offering) => offering.price.toFixed(2),
    }),
    priceCurrency: t.exposeString("priceCurrency", { description: "ISO 4217, e.g. AED." }),
    externalId: t.exposeString("externalId", { nullable: true, description: "The caller's own id for it." }),
    referenceNumber: t.exposeString("referenceNumber", { nullable: true }),
    address: t.exposeString("address", { nullable: true }),
    photos: t.exposeStringList("photos", { description: "Photo URLs, in order." }),
    status: t.exposeString("status", { description: "A free word of the caller's; active unless given." }),
    availableFrom: t.expose("availableFrom", { type: "Date", nullable: true }),
    attributes: t.expose("attributes", { type: "JSON", description: "Vertical-specific fields (bedrooms, duration, ...)." }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    updatedAt: t.expose("updatedAt", { type: "DateTime" }),
  }),
});

// ---------------------------------------------------------------------------------------
// Input rules (Vorel's documented limits).
// ---------------------------------------------------------------------------------------

/** The largest price a Decimal(14, 2) column holds. */
const MAX_PRICE_DIGITS = 12;

/** A price: 0 or more, at most two decimal places, below 10^12. One message, the first rule it breaks. */
const price = z.string().superRefine((value, context) => {
  const problem = value.startsWith("-")
    ? "must be 0 or more"
    : !/^\d+(\.\d{1,2})?$/.test(value)
      ? "must have at most 2 decimal places"
      : value.split(".")[0]!.replace(/^0+(?=\d)/, "").length > MAX_PRICE_DIGITS
        ? "must be less than 1000000000000"
        : undefined;
  if (problem) context.addIssue({ code: "custom", message: problem });
});

const text = (max: number) => z.string().max(max, `must be at most ${max} characters`).nullish();
const titleRule = z
  .string()
  .max(500, "must be at most 500 characters")
  .refine((value) => value.trim().length > 0, "must not be empty");
const currencyRule = z.string().regex(/^[A-Z]{3}$/, "must be an ISO 4217 code of three capital letters, e.g. AED").nullish();
const statusRule = z
  .string()
  .max(40, "must be at most 40 characters")
  .refine((value) => value.trim().length > 0, "must not be empty")
  .nullish();
/** Photos are shown in browsers: http(s) URLs only (never javascript: or data:). */
const photosRule = z
  .array(z.url({ protocol: /^https?$/, message: "must be an http or https URL" }).max(2048, "must be at most 2048 characters"))
  .max(20, "must be at most 20 photos")
  .nullish();

const CreateOfferingInput = builder.inputType("CreateOfferingInput", {
  fields: (t) => ({
    title: t.string({ required: true, validate: titleRule }),
    titleAr: t.string({ validate: text(500) }),
    description: t.string({ validate: text(10_000) }),
    descriptionAr: t.string({ validate: text(10_000) }),
    price: t.field({ type: "Decimal", required: true, validate: price }),
    priceCurrency: t.string({ description: "ISO 4217; AED unless given.", validate: currencyRule }),
    externalId: t.string({ validate: text(120) }),
    referenceNumber: t.string({ validate: text(120) }),
    address: t.string({ validate: text(500) }),
    photos: t.stringList({ description: "At most 20 http(s) URLs.", validate: photosRule }),
    status: t.string({ description: "A free word, at most 40 characters; active unless given.", validate: statusRule }),
    availableFrom: t.field({ type: "Date" }),
    attributes: t.field({ type: "JSON", validate: rules.jsonObject }),
  }),
});

const UpdateOfferingInput = builder.inputType("UpdateOfferingInput", {
  description: "Omitted fields are left as they are; null clears a nullable field (title, price, priceCurrency, status and photos cannot be cleared).",
  fields: (t) => ({
    title: t.string({ validate: titleRule.nullish() }),
    titleAr: t.string({ validate: text(500) }),
    description: t.string({ validate: text(10_000) }),
    descriptionAr: t.string({ validate: text(10_000) }),
    price: t.field({ type: "Decimal", validate: price.nullish() }),
    priceCurrency: t.string({ validate: currencyRule }),
    externalId: t.string({ validate: text(120) }),
    referenceNumber: t.string({ validate: text(120) }),
    address: t.string({ validate: text(500) }),
    photos: t.stringList({ description: "Replaces the list; [] removes every photo.", validate: photosRule }),
    status: t.string({ validate: statusRule }),
    availableFrom: t.field({ type: "Date" }),
    attributesPatch: t.field({
      type: "JSON",
      description: "Merged into the attributes, one level deep: a key set to null is removed, keys not named are kept.",
      validate: rules.jsonObject,
    }),
  }),
});

type UpdateOffering = typeof UpdateOfferingInput.$inferInput;

/** Fields that always hold a value: null is refused, naming the field. */
const REQUIRED_ON_UPDATE = ["title", "price", "priceCurrency", "status", "photos"] as const;

// ---------------------------------------------------------------------------------------
// Reads.
// ---------------------------------------------------------------------------------------

/** The tenant's offerings that are not deleted. */
const live = (ctx: Context): Prisma.OfferingWhereInput => ({ tenantId: ctx.tenantId, deletedAt: null });

builder.queryField("offerings", (t) =>
  t.prismaConnection({
    type: "Offering",
    cursor: "id",
    authScopes: { scope: "offerings:read" },
    description: "Offerings, newest first; deleted ones are left out.",
    resolve: (query, _root, _args, ctx) => ctx.prisma.offering.findMany({ ...query, where: live(ctx), orderBy: newestFirst }),
    totalCount: (_parent, _args, ctx) => ctx.prisma.offering.count({ where: live(ctx) }),
  }),
);

// ---------------------------------------------------------------------------------------
// Writes.
// ---------------------------------------------------------------------------------------

/**
 * Applies a shallow patch to an offering's attributes in one statement: keys set to null go,
 * the rest are merged. Deleted offerings are left alone (the update after it finds none).
 */
async function patchAttributes(tx: Prisma.TransactionClient, tenantId: string, id: string, patch: Record<string, unknown>) {
  const removed = Object.keys(patch).filter((key) => patch[key] === null);
  const merged = Object.fromEntries(Object.entries(patch).filter(([, value]) => value !== null));
  return tx.$executeRaw`
    UPDATE "Offering" SET attributes = (attributes || ${JSON.stringify(merged)}::jsonb) - ${removed}::text[], "updatedAt" = now()
    WHERE id = ${id}::uuid AND "tenantId" = ${tenantId}::uuid AND "deletedAt" IS NULL`;
}

/** Trimmed, or null for null; undefined stays undefined (left as it is). */
const trimmed = (value: string | null | undefined) => (value == null ? value : value.trim());

builder.mutationFields((t) => ({
  createOffering: t.prismaField({
    type: "Offering",
    authScopes: { scope: "offerings:write" },
    grantScopes: ["written"],
    args: { input: t.arg({ type: CreateOfferingInput, required: true }) },
    resolve: (query, _root, { input }, ctx) =>
      transact(ctx, async (tx, emit) => {
        const offering = await tx.offering.create({
          ...query,
          data: {
            tenantId: ctx.tenantId,
            title: input.title.trim(),
            titleAr: input.titleAr,
            description: input.description,
            descriptionAr: input.descriptionAr,
            price: input.price,
            priceCurrency: input.priceCurrency ?? undefined,
            externalId: input.externalId,
            referenceNumber: input.referenceNumber,
            address: input.address,
            photos: input.photos ?? [],
            status: trimmed(input.status) ?? undefined,
            availableFrom: input.availableFrom,
            attributes: (input.attributes ?? {}) as Prisma.InputJsonObject,
          },
        });
        emit(offeringEvent("CREATED", { id: offering.id, tenantId: ctx.tenantId }));
        return offering;
      }),
  }),
  updateOffering: t.prismaField({
    type: "Offering",
    description: "Changes an offering; attributesPatch merges into its attributes. A deleted offering is NOT_FOUND.",
    authScopes: { scope: "offerings:write" },
    grantScopes: ["written"],
    args: {
      id: t.arg.globalID({ for: OfferingRef, required: true, validate: idOf("Offering") }),
      input: t.arg({ type: UpdateOfferingInput, required: true, validate: rules.someChange }),
    },
    resolve: (query, _root, { id, input }, ctx) => {
      for (const field of REQUIRED_ON_UPDATE) {
        if (input[field as keyof UpdateOffering] === null) throw badInput(`input.${field}`, `input.${field}: cannot be cleared`);
      }
      return transact(ctx, async (tx, emit) => {
        if (input.attributesPatch) await patchAttributes(tx, ctx.tenantId, id.id, input.attributesPatch as Record<string, unknown>);
        const offering = await orNotFound(
          "Offering",
          tx.offering.update({
            ...query,
            where: { id: id.id, tenantId: ctx.tenantId, deletedAt: null },
            data: {
              title: trimmed(input.title) ?? undefined,
              titleAr: input.titleAr,
              description: input.description,
              descriptionAr: input.descriptionAr,
              price: input.price ?? undefined,
              priceCurrency: input.priceCurrency ?? undefined,
              externalId: input.externalId,
              referenceNumber: input.referenceNumber,
              address: input.address,
              photos: input.photos ?? undefined,
              status: trimmed(input.status) ?? undefined,
              availableFrom: input.availableFrom,
            },
          }),
        );
        emit(offeringEvent("UPDATED", { id: id.id, tenantId: ctx.tenantId }));
        return offering;
      });
    },
  }),
  deleteOffering: t.field({
    type: "ID",
    description:
      "Deletes an offering (softly: it is kept, but NOT_FOUND everywhere from now on, and left out of every list). " +
      "Bookings that name it keep its id. Deleting it again is NOT_FOUND. Returns the id.",
    authScopes: { scope: "offerings:write" },
    args: { id: t.arg.globalID({ for: OfferingRef, required: true, validate: idOf("Offering") }) },
    resolve: (_root, { id }, ctx) =>
      transact(ctx, async (tx, emit) => {
        const { count } = await tx.offering.updateMany({
          where: { id: id.id, tenantId: ctx.tenantId, deletedAt: null },
          data: { deletedAt: new Date() },
        });
        if (count === 0) throw notFound("Offering");
        emit(offeringEvent("DELETED", { id: id.id, tenantId: ctx.tenantId }));
        return encodeId("Offering", id.id);
      }),
  }),
}));
