import { lexicographicSortSchema, printSchema } from "graphql";
import { builder } from "./builder.js";
import "./types/enums.js";
import "./types/viewer.js";
import "./types/contact.js";
import "./types/agent.js";
import "./types/conversation.js";
import "./types/message.js";
import "./types/ticket.js";
import "./types/dispatch.js";
import "./types/lead.js";
import "./types/offering.js";
import "./types/booking.js";
import "./types/events.js";
import "./types/webhook.js";

export const schema = builder.toSchema();

/** The SDL checked in as schema/schema.graphql. */
export function printedSchema(): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}
