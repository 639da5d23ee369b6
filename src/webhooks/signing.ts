// Each dialect's signature headers for one attempt. The body is signed exactly as sent.
import { createHmac } from "node:crypto";
import type { WebhookDialect } from "../generated/prisma/enums.js";

export interface Signable {
  /** The delivery id: Standard Webhooks' webhook-id, stable across attempts. */
  id: string;
  body: string;
  /** Unix seconds of this attempt. */
  timestamp: number;
  /** The dialect's event name, sent as a header where the dialect has one. */
  eventName: string;
}

const hmac = (key: string | Buffer, data: string) => createHmac("sha256", key).update(data, "utf8");

export function signatureHeaders(dialect: WebhookDialect, secret: string | null, message: Signable): Record<string, string> {
  switch (dialect) {
    case "VELERIA": {
      // Standard Webhooks: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>"> keyed with the secret's bytes.
      const key = Buffer.from(secret!.slice("whsec_".length), "base64");
      const signature = hmac(key, `${message.id}.${message.timestamp}.${message.body}`).digest("base64");
      return { "webhook-id": message.id, "webhook-timestamp": String(message.timestamp), "webhook-signature": `v1,${signature}` };
    }
    case "CONVO":
      // Documented: HMAC-SHA256(secret, "<unix>.<body>"); the unix time travels in its own header.
      return {
        "x-convo-signature": hmac(secret!, `${message.timestamp}.${message.body}`).digest("hex"),
        "x-convo-timestamp": String(message.timestamp),
        "x-convo-event": message.eventName,
        "x-convo-delivery": message.id,
      };
    case "VOREL":
      // Documented: lowercase hex HMAC-SHA256 of the raw body; no timestamp is signed.
      return { "x-webhook-signature": hmac(secret!, message.body).digest("hex") };
    case "VELENTS_AGENT":
      // Agent.sa documents no signature: receivers authenticate with the headers their dispatch gave.
      return {};
  }
}
