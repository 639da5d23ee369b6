// Ids that a write points at (a booking's contact, a lead's conversation, ...) must belong
// to the caller's tenant. Foreign keys cannot see tenants, so this check can.
import type { Context } from "./context.js";
import { notFound } from "./errors.js";

const counters = {
  Contact: (ctx: Context, ids: string[]) => ctx.prisma.contact.count({ where: { tenantId: ctx.tenantId, id: { in: ids } } }),
  Agent: (ctx: Context, ids: string[]) => ctx.prisma.agent.count({ where: { tenantId: ctx.tenantId, id: { in: ids } } }),
  Channel: (ctx: Context, ids: string[]) => ctx.prisma.channel.count({ where: { tenantId: ctx.tenantId, id: { in: ids } } }),
  Conversation: (ctx: Context, ids: string[]) =>
    ctx.prisma.conversation.count({ where: { tenantId: ctx.tenantId, id: { in: ids } } }),
  Tag: (ctx: Context, ids: string[]) => ctx.prisma.tag.count({ where: { tenantId: ctx.tenantId, id: { in: ids } } }),
  Lead: (ctx: Context, ids: string[]) => ctx.prisma.lead.count({ where: { tenantId: ctx.tenantId, id: { in: ids } } }),
  // A deleted offering is not found, as if it had never existed.
  Offering: (ctx: Context, ids: string[]) =>
    ctx.prisma.offering.count({ where: { tenantId: ctx.tenantId, id: { in: ids }, deletedAt: null } }),
};

export type OwnedType = keyof typeof counters;

/** Throws NOT_FOUND naming `field` unless every given id is a row of this tenant. */
export async function requireOwned(ctx: Context, type: OwnedType, ids: string | string[] | null | undefined, field: string) {
  const list = [...new Set(ids == null ? [] : Array.isArray(ids) ? ids : [ids])];
  if (list.length === 0) return;
  if ((await counters[type](ctx, list)) !== list.length) throw notFound(type, field);
}
