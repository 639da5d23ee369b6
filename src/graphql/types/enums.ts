import { SCOPES } from "../../auth/scopes.js";
import {
  AgentStatus,
  BookingStatus,
  ChannelType,
  ConversationStatus,
  DeliveryStatus,
  LeadStatus,
  MessageRole,
  Plan,
  Sentiment,
  TokenFormat,
} from "../../generated/prisma/enums.js";
import { builder } from "../builder.js";

export const PlanEnum = builder.enumType(Plan, { name: "Plan" });
export const TokenFormatEnum = builder.enumType(TokenFormat, {
  name: "TokenFormat",
  description: "A token's format, which is also the REST dialect it speaks.",
});
export const LeadStatusEnum = builder.enumType(LeadStatus, { name: "LeadStatus" });
export const AgentStatusEnum = builder.enumType(AgentStatus, { name: "AgentStatus" });
export const ChannelTypeEnum = builder.enumType(ChannelType, { name: "ChannelType" });
export const ConversationStatusEnum = builder.enumType(ConversationStatus, { name: "ConversationStatus" });
export const SentimentEnum = builder.enumType(Sentiment, { name: "Sentiment" });
export const MessageRoleEnum = builder.enumType(MessageRole, { name: "MessageRole" });
export const DeliveryStatusEnum = builder.enumType(DeliveryStatus, { name: "DeliveryStatus" });
export const BookingStatusEnum = builder.enumType(BookingStatus, { name: "BookingStatus" });

/** CONTACTS_READ is "contacts:read": GraphQL enum names cannot hold a colon. */
export const ScopeEnum = builder.enumType("Scope", {
  values: Object.fromEntries(
    SCOPES.map((scope) => [scope.replace(":", "_").toUpperCase(), { value: scope, description: scope }]),
  ) as Record<string, { value: (typeof SCOPES)[number] }>,
});
