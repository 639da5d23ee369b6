// Data written straight to the database, for tests that need a tenant with one row of every
// kind (scopes, tenancy, bad input), and a snapshot that proves a request wrote nothing.
// The mutations that write these rows have tests of their own (mutations.test.ts).
import { issueToken } from "../src/auth/viewer.js";
import type { TestServer } from "./harness.js";

export interface SeedOptions {
  /** Adds a second conversation, CLOSED, with nothing attached (number 902). */
  closed?: boolean;
  /** Adds this many more rows of every kind (for list tests). */
  extra?: number;
}

/**
 * A tenant with one row of every kind, and a second API token (besides the tenant's admin
 * token) bound to its agent. The same content in every tenant, so two tenants answer the same
 * request the same way. Agent and Conversation numbers start at 901: the API takes 1, 2, …
 * from the tenant's counter, which this leaves alone. One transaction keeps a fresh tenant
 * per test cheap.
 */
export async function seedTenant(server: TestServer, name: string, { closed = false, extra = 0 }: SeedOptions = {}) {
  const tenant = await server.createTenant(name);
  const tenantId = tenant.id;
  const raw = await server.db.prisma.$transaction(
    async (p) => {
      const agent = await p.agent.create({ data: { tenantId, number: 901, name: "Sales agent", publicId: "sales_Agent" } });
      const channel = await p.channel.create({ data: { tenantId, type: "WHATSAPP", name: "Studio WhatsApp", agentId: agent.id } });
      const contact = await p.contact.create({ data: { tenantId, firstName: "Ada", email: "ada@example.com", phone: "+48111222333" } });
      const messageAt = new Date();
      const conversation = await p.conversation.create({
        data: {
          tenantId,
          number: 901,
          channelType: "WHATSAPP",
          channelId: channel.id,
          agentId: agent.id,
          contactId: contact.id,
          customerIdentifier: "+48111222333",
          customerName: "Ada",
          assignedOperator: "olga",
          firstMessageAt: messageAt,
          lastMessageAt: messageAt,
        },
      });
      const closedConversation = closed
        ? await p.conversation.create({
            data: { tenantId, number: 902, channelType: "EMAIL", customerIdentifier: "closed@example.com", status: "CLOSED" },
          })
        : undefined;
      const message = await p.message.create({ data: { tenantId, conversationId: conversation.id, role: "USER", content: "Hello there" } });
      // The conversation escalated into a support case (a ticket is a conversation with case metadata).
      const ticket = await p.ticket.create({ data: { tenantId, conversationId: conversation.id, subject: "Order question", tags: [] } });
      const tag = await p.tag.create({ data: { tenantId, name: "vip", color: "#3366ff" } });
      await p.conversationTag.create({ data: { tenantId, conversationId: conversation.id, tagId: tag.id } });
      const lead = await p.lead.create({
        data: { tenantId, contactId: contact.id, conversationId: conversation.id, source: "whatsapp-lead", score: 70 },
      });
      const offering = await p.offering.create({
        data: { tenantId, title: "Marina apartment", price: "1250.00", photos: [], attributes: { bedrooms: 2 } },
      });
      const booking = await p.booking.create({
        data: {
          tenantId,
          contactId: contact.id,
          offeringId: offering.id,
          service: "Personal Training",
          startsAt: new Date("2030-01-01T10:00:00Z"),
          endsAt: new Date("2030-01-01T11:00:00Z"),
        },
      });
      const { token: other, secret: otherSecret } = await issueToken(p, {
        tenantId,
        name: "agent dispatcher",
        format: "VELENTS_AGENT",
        scopes: ["conversations:read", "leads:read", "bookings:read"],
        agentId: agent.id,
      });
      for (let i = 0; i < extra; i += 1) {
        const c = await p.contact.create({ data: { tenantId, firstName: `Extra ${i}` } });
        const a = await p.agent.create({ data: { tenantId, number: 902 + i, name: `Extra agent ${i}`, publicId: `extra_${i}` } });
        const ch = await p.channel.create({ data: { tenantId, type: "SMS", name: `Extra channel ${i}`, agentId: a.id } });
        const cv = await p.conversation.create({
          data: { tenantId, number: 903 + i, channelType: "SMS", channelId: ch.id, agentId: a.id, contactId: c.id, customerIdentifier: `+1555000${i}` },
        });
        await p.message.create({ data: { tenantId, conversationId: cv.id, role: "ASSISTANT", content: `Extra ${i}` } });
        await p.ticket.create({ data: { tenantId, conversationId: cv.id, subject: `Extra ${i}`, tags: [] } });
        const t = await p.tag.create({ data: { tenantId, name: `extra-${i}` } });
        await p.conversationTag.create({ data: { tenantId, conversationId: cv.id, tagId: t.id } });
        await p.lead.create({ data: { tenantId, contactId: c.id, conversationId: cv.id } });
        await p.offering.create({ data: { tenantId, title: `Extra ${i}`, price: "10.00" } });
        await p.booking.create({
          data: { tenantId, contactId: c.id, service: "Extra", startsAt: new Date("2030-02-01T10:00:00Z"), endsAt: new Date("2030-02-01T11:00:00Z") },
        });
        await issueToken(p, { tenantId, name: `extra ${i}`, format: "CONVO", scopes: ["contacts:read"] });
      }
      return { agent, channel, contact, conversation, closed: closedConversation, message, ticket, tag, lead, offering, booking, other, otherSecret };
    },
    { maxWait: 30_000, timeout: 60_000 },
  );
  return {
    tenant,
    raw,
    /** The secret of the agent token (`id.token`): it reads conversations, leads and bookings, so it can hold live streams. */
    agentToken: raw.otherSecret,
    id: {
      tenant: `ten_${tenantId}`,
      token: `tok_${raw.other.id}`,
      contact: `con_${raw.contact.id}`,
      lead: `lead_${raw.lead.id}`,
      agent: `agt_${raw.agent.id}`,
      channel: `chn_${raw.channel.id}`,
      conversation: `conv_${raw.conversation.id}`,
      /** Only with `closed: true`. */
      closed: raw.closed && `conv_${raw.closed.id}`,
      message: `msg_${raw.message.id}`,
      ticket: `tkt_${raw.ticket.id}`,
      tag: `tag_${raw.tag.id}`,
      booking: `bkg_${raw.booking.id}`,
      offering: `off_${raw.offering.id}`,
    },
  };
}
export type Seed = Awaited<ReturnType<typeof seedTenant>>;

/**
 * The tables a tenant's rows live in, each with the columns that point at another tenant-owned
 * table: a row of any tenant pointing into this one counts as this tenant's, so a write that
 * links another tenant's row to it shows too.
 */
const TENANT_TABLES: Record<string, [column: string, table: string][]> = {
  Contact: [],
  Lead: [
    ["contactId", "Contact"],
    ["conversationId", "Conversation"],
  ],
  Agent: [],
  Channel: [["agentId", "Agent"]],
  Conversation: [
    ["agentId", "Agent"],
    ["channelId", "Channel"],
    ["contactId", "Contact"],
  ],
  Message: [["conversationId", "Conversation"]],
  Tag: [],
  ConversationTag: [
    ["conversationId", "Conversation"],
    ["tagId", "Tag"],
  ],
  Booking: [
    ["contactId", "Contact"],
    ["conversationId", "Conversation"],
    ["leadId", "Lead"],
    ["offeringId", "Offering"],
  ],
  Offering: [],
  ApiToken: [["agentId", "Agent"]],
  Handoff: [
    ["conversationId", "Conversation"],
    ["leadId", "Lead"],
  ],
  Ticket: [["conversationId", "Conversation"]],
  DispatchBatch: [["agentId", "Agent"]],
  Event: [],
  WebhookEndpoint: [],
  WebhookDelivery: [
    ["endpointId", "WebhookEndpoint"],
    ["eventId", "Event"],
  ],
  WebhookAttempt: [["deliveryId", "WebhookDelivery"]],
};

/**
 * Every row that belongs to, or points into, the tenant, and the tenant's own row: per table
 * (keyed by its name) "<row count>:<md5 of the rows>", in one statement (lastUsedAt aside:
 * authenticating may touch it). Equal before and after a request means the request wrote
 * nothing; a difference names the table.
 */
export async function snapshot(server: TestServer, tenantId: string): Promise<Record<string, string>> {
  const digest = (from: string, where: string) =>
    `(SELECT count(*) || ':' || coalesce(md5(string_agg(row, ',' ORDER BY row)), '') FROM (SELECT (to_jsonb(t) - 'lastUsedAt')::text AS row FROM "${from}" t WHERE ${where}) rows)`;
  const owned = (table: string) => `SELECT "id" FROM "${table}" WHERE "tenantId" = $1::uuid`;
  const columns = [
    `${digest("Tenant", `t."id" = $1::uuid`)} AS "Tenant"`,
    ...Object.entries(TENANT_TABLES).map(([table, pointers]) => {
      const where = [`t."tenantId" = $1::uuid`, ...pointers.map(([column, target]) => `t."${column}" IN (${owned(target)})`)];
      return `${digest(table, where.join(" OR "))} AS "${table}"`;
    }),
  ];
  const [row] = await server.db.prisma.$queryRawUnsafe<Record<string, string>[]>(`SELECT ${columns.join(", ")}`, tenantId);
  return row!;
}
