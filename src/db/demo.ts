// The demo tenant a fresh installation starts with, so the first query has data to show.
import { DATA_SCOPES } from "../auth/scopes.js";
import { issueToken } from "../auth/viewer.js";
import type { PrismaClient } from "./client.js";
import { reserveNumbers } from "./numbers.js";

/** Creates the demo tenant when the database has no tenant at all; returns its admin token, once. */
export async function seedDemoTenant(prisma: PrismaClient): Promise<string | undefined> {
  if ((await prisma.tenant.count()) > 0) return undefined;
  return prisma.$transaction(async (tx) => {
    const tenant = await tx.tenant.create({ data: { name: "Demo Workspace", slug: "demo", plan: "PRO" } });
    const tenantId = tenant.id;
    const agent = await tx.agent.create({
      data: {
        tenantId,
        name: "Sales agent",
        number: await reserveNumbers(tx, tenantId, "lastAgentNumber"),
        publicId: "demo_sales_Agent_1",
        status: "PUBLISHED",
        systemPrompt: "You are a friendly sales assistant for a fitness studio.",
        modelProvider: "openai",
        modelName: "gpt-4o-mini",
      },
    });
    const channel = await tx.channel.create({ data: { tenantId, type: "WHATSAPP", name: "Studio WhatsApp", agentId: agent.id } });
    const contact = await tx.contact.create({
      data: { tenantId, firstName: "Anna", lastName: "Nowak", email: "anna@example.com", phone: "+48111222333", language: "pl", tags: ["vip"] },
    });
    // An hour ago, so that messages added now come last.
    const start = new Date(Date.now() - 3_600_000);
    const conversation = await tx.conversation.create({
      data: {
        tenantId,
        number: await reserveNumbers(tx, tenantId, "lastConversationNumber"),
        channelType: "WHATSAPP",
        channelId: channel.id,
        agentId: agent.id,
        contactId: contact.id,
        customerIdentifier: "+48111222333",
        customerName: "Anna Nowak",
        customerLanguage: "pl",
        sentiment: "POSITIVE",
        extractedValues: { customer_name: "Anna" },
        firstMessageAt: start,
        lastMessageAt: new Date(start.getTime() + 60_000),
      },
    });
    await tx.message.createMany({
      data: [
        { tenantId, conversationId: conversation.id, role: "USER", content: "Hi, can I book a personal training session?", createdAt: start },
        { tenantId, conversationId: conversation.id, role: "ASSISTANT", content: "Of course! Does Tuesday at 10:00 work?", createdAt: new Date(start.getTime() + 30_000) },
        { tenantId, conversationId: conversation.id, role: "USER", content: "Perfect, thanks.", createdAt: new Date(start.getTime() + 60_000) },
      ],
    });
    const tag = await tx.tag.create({ data: { tenantId, name: "booking", color: "#3366ff" } });
    await tx.conversationTag.create({ data: { tenantId, conversationId: conversation.id, tagId: tag.id } });
    await tx.lead.create({
      data: { tenantId, contactId: contact.id, conversationId: conversation.id, status: "QUALIFIED", score: 78, source: "whatsapp", fields: { name: "Anna Nowak", email: "anna@example.com" } },
    });
    await tx.booking.create({
      data: { tenantId, contactId: contact.id, service: "Personal Training", startsAt: new Date(start.getTime() + 7 * 86_400_000), endsAt: new Date(start.getTime() + 7 * 86_400_000 + 3_600_000), status: "CONFIRMED" },
    });
    const { secret } = await issueToken(tx, {
      tenantId,
      name: "Demo admin",
      format: "CONVO",
      scopes: [...DATA_SCOPES, "admin"],
    });
    return secret;
  });
}
