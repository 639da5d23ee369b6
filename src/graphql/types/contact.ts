import type { Prisma } from "../../generated/prisma/client.js";
import { contactEvent } from "../../events/events.js";
import { builder } from "../builder.js";
import { transact } from "../publish.js";
import { newestFirst, offsetArgOptions, withOffset } from "../pagination.js";
import type { Context } from "../context.js";
import { badInput, notFound, orNotFound } from "../errors.js";
import { encodeId, idOf } from "../ids.js";
import { rules } from "../validation.js";


export const ContactRef = builder.prismaNode("Contact", {
  id: { field: "id" },
  authScopes: { scope: "contacts:read", $granted: "written" },
  findUnique: (id, ctx) => ({ id, tenantId: ctx.tenantId }),
  fields: (t) => ({
    firstName: t.exposeString("firstName", { nullable: true }),
    lastName: t.exposeString("lastName", { nullable: true }),
    email: t.exposeString("email", { nullable: true }),
    phone: t.exposeString("phone", { nullable: true }),
    language: t.exposeString("language", { nullable: true }),
    customFields: t.expose("customFields", { type: "JSON" }),
    tags: t.exposeStringList("tags"),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    updatedAt: t.expose("updatedAt", { type: "DateTime" }),
    // Connections carry counts and cursors of their own, so they need the related type's scope too.
    leads: t.relatedConnection("leads", {
      cursor: "id",
      totalCount: true,
      authScopes: { scope: "leads:read" },
      query: { orderBy: newestFirst },
    }),
    conversations: t.relatedConnection("conversations", {
      cursor: "id",
      totalCount: true,
      authScopes: { scope: "conversations:read" },
      query: { orderBy: newestFirst },
    }),
    bookings: t.relatedConnection("bookings", {
      cursor: "id",
      authScopes: { scope: "bookings:read" },
      totalCount: true,
      query: { orderBy: [{ startsAt: "asc" }, { id: "asc" }] },
    }),
  }),
});

const ContactInput = builder.inputType("ContactInput", {
  description: "Omitted fields are left as they are; null clears a field.",
  fields: (t) => ({
    firstName: t.string({ validate: rules.optionalName }),
    lastName: t.string({ validate: rules.optionalName }),
    email: t.string({ validate: rules.email }),
    phone: t.string({ validate: rules.phone }),
    language: t.string({ validate: rules.language }),
    customFields: t.field({ type: "JSON", validate: rules.jsonObject }),
    tags: t.stringList({ validate: rules.tags }),
  }),
});

type ContactInputShape = typeof ContactInput.$inferInput;

function contactData(input: ContactInputShape) {
  return {
    firstName: input.firstName,
    lastName: input.lastName,
    email: input.email,
    phone: input.phone,
    language: input.language,
    customFields: input.customFields === null ? {} : (input.customFields as Prisma.InputJsonObject | undefined),
    tags: input.tags === null ? [] : input.tags ?? undefined,
  };
}

type Identity = Pick<ContactInputShape, "firstName" | "lastName" | "email" | "phone">;

function requireIdentity(contact: Identity) {
  if (!contact.firstName && !contact.lastName && !contact.email && !contact.phone) {
    throw badInput("input", "A contact needs at least a name, an email or a phone");
  }
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Every word of the search must match a name, the email or the phone; % and _ match themselves. */
function contactWhere(ctx: Context, search: string | null | undefined): Prisma.ContactWhereInput {
  const words = (search ?? "")
    .trim()
    .split(/\s+/)
    .filter(Boolean)
    .map((word) => word.replace(/[\\%_]/g, "\\$&"));
  return {
    tenantId: ctx.tenantId,
    AND: words.map((word) => ({
      OR: [
        { firstName: { contains: word, mode: "insensitive" } },
        { lastName: { contains: word, mode: "insensitive" } },
        { email: { contains: word, mode: "insensitive" } },
        { phone: { contains: word } },
      ],
    })),
  };
}

builder.queryField("contacts", (t) =>
  t.prismaConnection({
    type: "Contact",
    cursor: "id",
    authScopes: { scope: "contacts:read" },
    description: "Contacts, newest first. `search` matches every word against names, email and phone.",
    args: { search: t.arg.string({ validate: rules.search }), offset: t.arg.int(offsetArgOptions) },
    resolve: (query, _root, args, ctx) =>
      ctx.prisma.contact.findMany({ ...withOffset(query, args.offset), where: contactWhere(ctx, args.search), orderBy: newestFirst }),
    totalCount: (_parent, args, ctx) => ctx.prisma.contact.count({ where: contactWhere(ctx, args.search) }),
  }),
);

builder.mutationFields((t) => ({
  createContact: t.prismaField({
    type: "Contact",
    authScopes: { scope: "contacts:write" },
    grantScopes: ["written"],
    args: { input: t.arg({ type: ContactInput, required: true }) },
    resolve: (query, _root, { input }, ctx) => {
      requireIdentity(input);
      return transact(ctx, async (tx, emit) => {
        const contact = await tx.contact.create({ ...query, data: { tenantId: ctx.tenantId, ...contactData(input) } });
        emit(contactEvent("CREATED", contact));
        return contact;
      });
    },
  }),
  updateContact: t.prismaField({
    type: "Contact",
    authScopes: { scope: "contacts:write" },
    grantScopes: ["written"],
    args: {
      id: t.arg.globalID({ for: ContactRef, required: true, validate: idOf("Contact") }),
      input: t.arg({ type: ContactInput, required: true, validate: rules.someChange }),
    },
    resolve: (query, _root, { id, input }, ctx) =>
      transact(ctx, async (tx, emit) => {
        const current = await tx.contact.findFirst({ where: { id: id.id, tenantId: ctx.tenantId } });
        if (!current) throw notFound("Contact");
        requireIdentity({ ...current, ...withoutUndefined(input) });
        const contact = await tx.contact.update({ ...query, where: { id: current.id }, data: contactData(input) });
        emit(contactEvent("UPDATED", current));
        return contact;
      }),
  }),
  deleteContact: t.field({
    type: "ID",
    description: "Deletes the contact and its bookings; its leads and conversations stay, unlinked. Returns the id.",
    authScopes: { scope: "contacts:write" },
    args: { id: t.arg.globalID({ for: ContactRef, required: true, validate: idOf("Contact") }) },
    resolve: async (_root, { id }, ctx) => {
      await orNotFound("Contact", ctx.prisma.contact.delete({ where: { id: id.id, tenantId: ctx.tenantId } }));
      return encodeId("Contact", id.id);
    },
  }),
}));
