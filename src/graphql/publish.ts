import type { Prisma } from "../generated/prisma/client.js";
import type { DomainEvent } from "../events/events.js";
import type { Context } from "./context.js";

/**
 * Runs a write and the events it causes as one transaction: `emit` collects them, they are
 * recorded in the outbox before the commit (webhooks, src/webhooks/engine.ts) and published to
 * live subscribers after it. A write that throws rolls back and sends nothing anywhere.
 */
export async function transact<T>(
  ctx: Context,
  write: (tx: Prisma.TransactionClient, emit: (event: DomainEvent) => void) => Promise<T>,
  options?: { maxWait?: number; timeout?: number },
): Promise<T> {
  let events: DomainEvent[] = [];
  const result = await ctx.prisma.$transaction(async (tx) => {
    events = [];
    const value = await write(tx, (event) => events.push(event));
    await ctx.webhooks.record(tx, events);
    return value;
  }, options);
  for (const event of events) ctx.events.publish(event);
  if (events.length > 0) ctx.webhooks.committed();
  return result;
}
