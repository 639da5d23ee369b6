import type { DomainEvent } from "../events/events.js";
import type { Context } from "./context.js";

/**
 * Awaits a write and then publishes its event: a write that throws (or a transaction that
 * rolls back) publishes nothing, and one that resolved has committed.
 */
export async function publishAfter<T>(ctx: Context, write: Promise<T>, event: (row: T) => DomainEvent): Promise<T> {
  const row = await write;
  ctx.events.publish(event(row));
  return row;
}
