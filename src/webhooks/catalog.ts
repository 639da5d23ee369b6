// The events each dialect's integrators can subscribe to, by the platform's own names.
import type { WebhookDialect } from "../generated/prisma/enums.js";

export type RegisteredDialect = Exclude<WebhookDialect, "VELENTS_AGENT">;

export const WEBHOOK_EVENTS: Record<RegisteredDialect, readonly string[]> = {
  // The twelve the Veleria docs list. payment.*, workflow.*, invoice.paid and subscription.renewed
  // can be subscribed to now and are sent once those features exist.
  VELERIA: [
    "contact.created",
    "contact.updated",
    "booking.created",
    "booking.cancelled",
    "message.received",
    "message.sent",
    "payment.completed",
    "payment.failed",
    "workflow.triggered",
    "workflow.completed",
    "invoice.paid",
    "subscription.renewed",
  ],
  // Convo documents lead.created and conversation.closed by example and no catalogue: these are
  // the changes its API itself makes, named the same way (README: Webhooks).
  CONVO: [
    "lead.created",
    "lead.updated",
    "conversation.created",
    "conversation.updated",
    "conversation.handed_off",
    "conversation.closed",
    "message.created",
  ],
  // Vorel's twelve. Its offering pages say offering.* do not fire today (platform facts,
  // conflict 4) while its catalogue lists them: here they are sent to whoever subscribes.
  VOREL: [
    "lead.created",
    "lead.updated",
    "lead.qualified",
    "conversation.created",
    "conversation.handoff_requested",
    "conversation.closed",
    "booking.created",
    "booking.rescheduled",
    "booking.cancelled",
    "booking.completed",
    "offering.created",
    "offering.updated",
  ],
};

/** Agent.sa's four, sent to a dispatch's own webhook (it subscribes to all of them). */
export const AGENT_EVENTS = ["onStarted", "onMessage", "onUpdate", "onEnded"] as const;
