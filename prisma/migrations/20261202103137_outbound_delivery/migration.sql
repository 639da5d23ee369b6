-- CreateEnum
CREATE TYPE "DeliveryStatus" AS ENUM ('QUEUED', 'SENT', 'FAILED');

-- AlterTable
ALTER TABLE "Conversation" ADD COLUMN     "lastMessageSequence" INTEGER NOT NULL DEFAULT 0;

-- AlterTable: sequence is added empty, numbered for the existing rows, then required.
ALTER TABLE "Message" ADD COLUMN     "deliveryReportedAt" TIMESTAMP(3),
ADD COLUMN     "deliveryError" TEXT,
ADD COLUMN     "deliveryStatus" "DeliveryStatus",
ADD COLUMN     "sequence" INTEGER;

-- Backfill: existing messages are numbered in the order they were stored; each conversation
-- continues after its last one.
UPDATE "Message" SET "sequence" = numbered.n
FROM (
  SELECT "id", ROW_NUMBER() OVER (PARTITION BY "conversationId" ORDER BY "createdAt", "id") AS n FROM "Message"
) AS numbered
WHERE "Message"."id" = numbered."id";
UPDATE "Conversation" SET "lastMessageSequence" = COALESCE((SELECT MAX("sequence") FROM "Message" WHERE "Message"."conversationId" = "Conversation"."id"), 0);

ALTER TABLE "Message" ALTER COLUMN "sequence" SET NOT NULL,
ALTER COLUMN "sequence" SET DEFAULT 0;

-- Every new message takes its conversation's next sequence, however it is written (the
-- service, a seed, a bulk import). The conversation's row lock orders concurrent writers.
CREATE FUNCTION "message_next_sequence"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE "Conversation" SET "lastMessageSequence" = "lastMessageSequence" + 1
  WHERE "id" = NEW."conversationId"
  RETURNING "lastMessageSequence" INTO NEW."sequence";
  RETURN NEW;
END
$$;
CREATE TRIGGER "Message_sequence" BEFORE INSERT ON "Message" FOR EACH ROW EXECUTE FUNCTION "message_next_sequence"();

-- CreateIndex
CREATE INDEX "Message_tenantId_deliveryStatus_idx" ON "Message"("tenantId", "deliveryStatus");

-- CreateIndex
CREATE UNIQUE INDEX "Message_conversationId_sequence_key" ON "Message"("conversationId", "sequence");
