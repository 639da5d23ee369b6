-- DropIndex
DROP INDEX "Booking_tenantId_contactId_startsAt_idx";

-- DropIndex
DROP INDEX "Conversation_tenantId_agentId_idx";

-- DropIndex
DROP INDEX "Conversation_tenantId_channelId_idx";

-- DropIndex
DROP INDEX "Conversation_tenantId_contactId_idx";

-- DropIndex
DROP INDEX "ConversationTag_tenantId_tagId_idx";

-- DropIndex
DROP INDEX "Lead_tenantId_contactId_idx";

-- DropIndex
DROP INDEX "Lead_tenantId_conversationId_idx";

-- DropIndex
DROP INDEX "Message_tenantId_conversationId_createdAt_idx";

-- AlterTable
ALTER TABLE "ConversationTag" DROP CONSTRAINT "ConversationTag_pkey",
ADD CONSTRAINT "ConversationTag_pkey" PRIMARY KEY ("conversationId", "tagId", "tenantId");

-- CreateIndex
CREATE INDEX "Booking_contactId_startsAt_tenantId_idx" ON "Booking"("contactId", "startsAt", "tenantId");

-- CreateIndex
CREATE INDEX "Channel_agentId_tenantId_idx" ON "Channel"("agentId", "tenantId");

-- CreateIndex
CREATE INDEX "Conversation_agentId_tenantId_idx" ON "Conversation"("agentId", "tenantId");

-- CreateIndex
CREATE INDEX "Conversation_channelId_tenantId_idx" ON "Conversation"("channelId", "tenantId");

-- CreateIndex
CREATE INDEX "Conversation_contactId_tenantId_createdAt_idx" ON "Conversation"("contactId", "tenantId", "createdAt");

-- CreateIndex
CREATE INDEX "ConversationTag_tagId_tenantId_idx" ON "ConversationTag"("tagId", "tenantId");

-- CreateIndex
CREATE INDEX "Lead_conversationId_tenantId_idx" ON "Lead"("conversationId", "tenantId");

-- CreateIndex
CREATE INDEX "Lead_contactId_tenantId_idx" ON "Lead"("contactId", "tenantId");

-- CreateIndex
CREATE INDEX "Message_conversationId_createdAt_tenantId_idx" ON "Message"("conversationId", "createdAt", "tenantId");
