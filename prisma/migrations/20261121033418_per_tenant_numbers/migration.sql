-- AlterTable
ALTER TABLE "Agent" ALTER COLUMN "number" DROP DEFAULT;
DROP SEQUENCE "Agent_number_seq";

-- AlterTable
ALTER TABLE "Conversation" ALTER COLUMN "number" DROP DEFAULT;
DROP SEQUENCE "Conversation_number_seq";

-- AlterTable
ALTER TABLE "Tenant" ADD COLUMN     "lastAgentNumber" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "lastConversationNumber" INTEGER NOT NULL DEFAULT 0;

-- Backfill: continue each tenant's numbering after its existing rows.
UPDATE "Tenant" SET
  "lastAgentNumber" = COALESCE((SELECT MAX("number") FROM "Agent" WHERE "Agent"."tenantId" = "Tenant"."id"), 0),
  "lastConversationNumber" = COALESCE((SELECT MAX("number") FROM "Conversation" WHERE "Conversation"."tenantId" = "Tenant"."id"), 0);
