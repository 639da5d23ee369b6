// Domain events: what changed, published once per change, after its transaction committed.
// They carry ids and the attributes subscribers filter on, never the rows themselves:
// a subscriber loads what its own selection asks for (see src/live/).
import { randomUUID } from "node:crypto";
import type { Booking, Contact, Conversation, Lead, Offering } from "../generated/prisma/client.js";

export type ConversationEventType = "CREATED" | "UPDATED" | "CLOSED" | "MESSAGE_ADDED" | "MESSAGE_UPDATED" | "HANDOFF_REQUESTED";
export type LeadEventType = "CREATED" | "UPDATED";
/** RESCHEDULED: its times changed; CANCELLED and COMPLETED: its status became that; UPDATED: anything else. */
export type BookingEventType = "CREATED" | "UPDATED" | "RESCHEDULED" | "CANCELLED" | "COMPLETED";
export type ContactEventType = "CREATED" | "UPDATED";
/** DELETED: soft-deleted (it is NOT_FOUND from then on); Vorel's catalogue has no name for it, so no webhook carries it. */
export type OfferingEventType = "CREATED" | "UPDATED" | "DELETED";

interface Envelope {
  id: string;
  tenantId: string;
  occurredAt: string;
}

export interface ConversationEvent extends Envelope {
  topic: "conversation";
  type: ConversationEventType;
  conversationId: string;
  messageId: string | null;
  /** The handoff, for HANDOFF_REQUESTED. */
  handoffId: string | null;
  channelType: string;
  channelId: string | null;
  agentId: string | null;
  status: string;
  /** A dispatch started a run of the agent (created or reopened it): Agent.sa's onStarted. */
  started?: boolean;
  /** For UPDATED: the fields the write changed, where the writer knows them (extractedValues: Agent.sa's onUpdate). */
  changed?: string[];
}

export interface LeadEvent extends Envelope {
  topic: "lead";
  type: LeadEventType;
  leadId: string;
  status: string;
  /** For UPDATED: the status before the write (Vorel's lead.qualified is a lead leaving NEW). */
  previousStatus?: string;
}

export interface ContactEvent extends Envelope {
  topic: "contact";
  type: ContactEventType;
  contactId: string;
}

export interface BookingEvent extends Envelope {
  topic: "booking";
  type: BookingEventType;
  bookingId: string;
  status: string;
}

export interface OfferingEvent extends Envelope {
  topic: "offering";
  type: OfferingEventType;
  offeringId: string;
}

export type DomainEvent = ConversationEvent | LeadEvent | BookingEvent | ContactEvent | OfferingEvent;

/** Instance-wide notices, not tied to one tenant's data. */
export interface ControlEvent {
  type: "TOKEN_REVOKED";
  /** The tenant whose token it is: a listener ends only that tenant's connections. */
  tenantId: string;
  tokenId: string;
}

function envelope(tenantId: string): Envelope {
  return { id: randomUUID(), tenantId, occurredAt: new Date().toISOString() };
}

type ConversationFacts = Pick<Conversation, "id" | "tenantId" | "channelType" | "channelId" | "agentId" | "status">;

/** `related` names the message of MESSAGE_ADDED/MESSAGE_UPDATED and the handoff of HANDOFF_REQUESTED. */
export function conversationEvent(
  type: ConversationEventType,
  conversation: ConversationFacts,
  related: { messageId?: string; handoffId?: string; started?: boolean; changed?: string[] } = {},
): ConversationEvent {
  return {
    ...envelope(conversation.tenantId),
    topic: "conversation",
    type,
    conversationId: conversation.id,
    messageId: related.messageId ?? null,
    handoffId: related.handoffId ?? null,
    channelType: conversation.channelType,
    channelId: conversation.channelId,
    agentId: conversation.agentId,
    status: conversation.status,
    ...(related.started ? { started: true } : {}),
    ...(related.changed ? { changed: related.changed } : {}),
  };
}

export function leadEvent(type: LeadEventType, lead: Pick<Lead, "id" | "tenantId" | "status">, previousStatus?: string): LeadEvent {
  return { ...envelope(lead.tenantId), topic: "lead", type, leadId: lead.id, status: lead.status, ...(previousStatus ? { previousStatus } : {}) };
}

export function contactEvent(type: ContactEventType, contact: Pick<Contact, "id" | "tenantId">): ContactEvent {
  return { ...envelope(contact.tenantId), topic: "contact", type, contactId: contact.id };
}

export function bookingEvent(type: BookingEventType, booking: Pick<Booking, "id" | "tenantId" | "status">): BookingEvent {
  return { ...envelope(booking.tenantId), topic: "booking", type, bookingId: booking.id, status: booking.status };
}

export function offeringEvent(type: OfferingEventType, offering: Pick<Offering, "id" | "tenantId">): OfferingEvent {
  return { ...envelope(offering.tenantId), topic: "offering", type, offeringId: offering.id };
}

/** The columns a conversation event needs, for writes that do not return whole rows. */
export const conversationFacts = {
  id: true,
  tenantId: true,
  channelType: true,
  channelId: true,
  agentId: true,
  status: true,
} as const;
