-- AlterTable
ALTER TABLE "WebhookDelivery" ADD COLUMN     "leaseUntil" TIMESTAMP(3);
