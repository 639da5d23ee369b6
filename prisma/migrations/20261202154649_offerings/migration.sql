-- AlterTable
ALTER TABLE "Booking" ADD COLUMN     "offeringId" UUID;

-- CreateTable
CREATE TABLE "Offering" (
    "id" UUID NOT NULL,
    "tenantId" UUID NOT NULL,
    "title" TEXT NOT NULL,
    "titleAr" TEXT,
    "description" TEXT,
    "descriptionAr" TEXT,
    "price" DECIMAL(14,2) NOT NULL,
    "priceCurrency" TEXT NOT NULL DEFAULT 'AED',
    "externalId" TEXT,
    "referenceNumber" TEXT,
    "address" TEXT,
    "photos" TEXT[],
    "status" TEXT NOT NULL DEFAULT 'active',
    "availableFrom" DATE,
    "attributes" JSONB NOT NULL DEFAULT '{}',
    "deletedAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Offering_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "Offering_tenantId_createdAt_idx" ON "Offering"("tenantId", "createdAt");

-- CreateIndex
CREATE INDEX "Booking_offeringId_tenantId_idx" ON "Booking"("offeringId", "tenantId");

-- AddForeignKey
ALTER TABLE "Booking" ADD CONSTRAINT "Booking_offeringId_fkey" FOREIGN KEY ("offeringId") REFERENCES "Offering"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Offering" ADD CONSTRAINT "Offering_tenantId_fkey" FOREIGN KEY ("tenantId") REFERENCES "Tenant"("id") ON DELETE CASCADE ON UPDATE CASCADE;
