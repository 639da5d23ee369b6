// The data for `npm run bench:rest` (bench/rest.ts): tenants with an inbox and a lead list,
// written through Prisma so that the same code seeds PostgreSQL and the embedded database.
// A second tenant's rows interleave in time with the first's, so a page that forgot the
// tenant filter would show them.
import { randomBytes, randomUUID } from "node:crypto";
import { DATA_SCOPES } from "../src/auth/scopes.js";
import { issueToken } from "../src/auth/viewer.js";
import type { Database } from "../src/db/client.js";
import type { Prisma } from "../src/generated/prisma/client.js";
import type { ChannelType, ConversationStatus, LeadStatus } from "../src/generated/prisma/enums.js";

const AGENTS = 5;
const TAGS = 10;
const TAGS_PER_CONVERSATION = 2;
const MESSAGES_PER_CONVERSATION = 4;
const CHANNEL_TYPES: ChannelType[] = ["WEBSITE", "WHATSAPP", "EMAIL", "SMS", "TELEGRAM"];
const CONVERSATION_STATUSES: ConversationStatus[] = ["OPEN", "HANDED_OFF", "CLOSED"];
const LEAD_STATUSES: LeadStatus[] = ["NEW", "QUALIFIED", "CONTACTED", "WON", "LOST"];
const LEAD_SOURCES = ["website", "whatsapp", "import", null];

export interface SeededTenant {
  id: string;
  /** A CONVO token (convo_…) with every data scope. */
  token: string;
  /** Bare uuids of the tenant's rows, to check that a page shows this tenant's only. */
  conversationIds: Set<string>;
  leadIds: Set<string>;
}

export interface SeedCounts {
  conversations: number;
  leads: number;
}

/** Every table this seed writes (for ANALYZE). */
export const SEEDED_TABLES = ["Agent", "Channel", "Tag", "Contact", "Conversation", "ConversationTag", "Message", "Lead", "ApiToken", "Tenant"];

export async function seedTenant(db: Database, name: string, counts: SeedCounts, timeOffsetMs: number): Promise<SeededTenant> {
  const prisma = db.prisma;
  const handle = name.toLowerCase().replace(/[^a-z0-9]+/g, "-");
  const tenant = await prisma.tenant.create({ data: { name, slug: `${handle}-${randomBytes(4).toString("hex")}` } });
  const tenantId = tenant.id;
  const start = Date.UTC(2026, 0, 1) + timeOffsetMs;
  const at = (ms: number) => new Date(start + ms);

  const agents = Array.from({ length: AGENTS }, (_, i) => ({
    id: randomUUID(),
    tenantId,
    number: i + 1,
    publicId: `${handle.replace(/-/g, "_")}_Agent_${i + 1}`,
    name: `${name} agent ${i + 1}`,
    status: "PUBLISHED" as const,
    systemPrompt: "You are a helpful assistant.",
    modelProvider: "openai",
    modelName: "gpt-4o-mini",
    createdAt: at(i),
    updatedAt: at(i),
  }));
  const channels = CHANNEL_TYPES.map((type, i) => ({
    id: randomUUID(),
    tenantId,
    type,
    name: `${name} ${type.toLowerCase()}`,
    agentId: agents[i % AGENTS]!.id,
    createdAt: at(i),
    updatedAt: at(i),
  }));
  const tags = Array.from({ length: TAGS }, (_, i) => ({ id: randomUUID(), tenantId, name: `tag-${i + 1}`, color: "#3366ff", createdAt: at(i) }));

  const contacts: Prisma.ContactCreateManyInput[] = [];
  const conversations: (Prisma.ConversationCreateManyInput & { id: string; contactId: string })[] = [];
  const links: Prisma.ConversationTagCreateManyInput[] = [];
  const messages: Prisma.MessageCreateManyInput[] = [];
  for (let i = 0; i < counts.conversations; i++) {
    const created = at(i * 60_000);
    const contactId = randomUUID();
    const id = randomUUID();
    const channel = channels[i % channels.length]!;
    contacts.push({
      id: contactId,
      tenantId,
      firstName: `First${i}`,
      lastName: `Last${i}`,
      email: `customer${i}@example.com`,
      phone: `+1555${String(i).padStart(7, "0")}`,
      language: "en",
      createdAt: created,
      updatedAt: created,
    });
    conversations.push({
      id,
      tenantId,
      number: i + 1,
      channelType: channel.type,
      channelId: channel.id,
      agentId: agents[i % AGENTS]!.id,
      contactId,
      customerIdentifier: `customer${i}@example.com`,
      customerName: `First${i} Last${i}`,
      customerLanguage: "en",
      status: CONVERSATION_STATUSES[i % CONVERSATION_STATUSES.length]!,
      firstMessageAt: created,
      lastMessageAt: at(i * 60_000 + (MESSAGES_PER_CONVERSATION - 1) * 5_000),
      createdAt: created,
      updatedAt: created,
    });
    for (let k = 0; k < TAGS_PER_CONVERSATION; k++) {
      links.push({ tenantId, conversationId: id, tagId: tags[(i + k * 3) % TAGS]!.id, createdAt: at(i * 60_000 + k * 1_000) });
    }
    for (let k = 0; k < MESSAGES_PER_CONVERSATION; k++) {
      messages.push({
        tenantId,
        conversationId: id,
        role: k % 2 === 0 ? "USER" : "ASSISTANT",
        content:
          k % 2 === 0
            ? `Message ${k + 1} from customer ${i}: could I book a session next week, preferably in the morning?`
            : `Message ${k + 1} to customer ${i}: of course, Tuesday at 10:00 is free. Shall I book it for you?`,
        createdAt: at(i * 60_000 + k * 5_000),
      });
    }
  }

  // Leads: most linked to a conversation and its contact, scores with ties and some unscored
  // (SCORE sorts those last), captured fields as an assistant would extract them.
  const leads = Array.from({ length: counts.leads }, (_, i) => {
    const conversation = conversations.length > 0 && i % 5 !== 4 ? conversations[i % conversations.length] : undefined;
    const created = at(i * 45_000 + 30_000);
    return {
      id: randomUUID(),
      tenantId,
      status: LEAD_STATUSES[i % LEAD_STATUSES.length]!,
      fields: { name: `First${i} Last${i}`, email: `lead${i}@example.com`, phone: `+1555${String(i).padStart(7, "0")}`, interest: i % 2 ? "pilates" : "yoga" },
      score: i % 7 === 3 ? null : (i * 37) % 101,
      source: LEAD_SOURCES[i % LEAD_SOURCES.length]!,
      conversationId: conversation?.id ?? null,
      contactId: conversation?.contactId ?? null,
      crmExternalId: i % 4 === 0 ? `crm-${i}` : null,
      createdAt: created,
      updatedAt: created,
    };
  });

  await prisma.agent.createMany({ data: agents });
  await prisma.channel.createMany({ data: channels });
  await prisma.tag.createMany({ data: tags });
  await prisma.contact.createMany({ data: contacts });
  await prisma.conversation.createMany({ data: conversations });
  await prisma.conversationTag.createMany({ data: links });
  await prisma.message.createMany({ data: messages });
  await prisma.lead.createMany({ data: leads });
  await prisma.tenant.update({ where: { id: tenantId }, data: { lastAgentNumber: agents.length, lastConversationNumber: conversations.length } });
  const { secret } = await issueToken(prisma, { tenantId, name: "bench", format: "CONVO", scopes: [...DATA_SCOPES] });
  return {
    id: tenantId,
    token: secret,
    conversationIds: new Set(conversations.map((row) => row.id)),
    leadIds: new Set(leads.map((row) => row.id)),
  };
}
