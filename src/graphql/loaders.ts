// Batches for what a Prisma include cannot load in one statement per page. The last N
// messages of each conversation on a page is a top-N-per-group query: one window-function
// statement for the whole page instead of one query per conversation.
import DataLoader from "dataloader";
import type { PrismaClient } from "../db/client.js";
import type { Message } from "../generated/prisma/client.js";

export interface Loaders {
  lastMessages(count: number): DataLoader<string, Message[]>;
}

export function createLoaders(prisma: PrismaClient, tenantId: string): Loaders {
  const byCount = new Map<number, DataLoader<string, Message[]>>();
  return {
    lastMessages(count) {
      let loader = byCount.get(count);
      if (!loader) {
        loader = new DataLoader(async (conversationIds) => {
          const rows = await prisma.$queryRaw<Message[]>`
            SELECT "id", "tenantId", "conversationId", "sequence", "role"::text AS "role", "content",
                   "deliveryStatus"::text AS "deliveryStatus", "deliveryError", "deliveryReportedAt", "createdAt"
            FROM (
              SELECT m.*, row_number() OVER (PARTITION BY m."conversationId" ORDER BY m."createdAt" DESC, m."sequence" DESC) AS rank
              FROM "Message" m
              WHERE m."tenantId" = ${tenantId}::uuid AND m."conversationId" = ANY(${conversationIds as string[]}::uuid[])
            ) ranked
            WHERE rank <= ${count}
            ORDER BY "createdAt" ASC, "sequence" ASC`;
          const grouped = new Map<string, Message[]>(conversationIds.map((id) => [id, []]));
          for (const row of rows) grouped.get(row.conversationId)?.push(row);
          return conversationIds.map((id) => grouped.get(id) ?? []);
        });
        byCount.set(count, loader);
      }
      return loader;
    },
  };
}
