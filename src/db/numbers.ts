// Per-tenant integer ids (Velents exposes agents and conversations by number). The counter
// lives on the tenant row: the increment locks that row until the transaction ends, so
// concurrent creates in one tenant get consecutive numbers and other tenants never wait.
import type { Prisma } from "../generated/prisma/client.js";

type Counter = "lastAgentNumber" | "lastConversationNumber";

/** Reserves `count` numbers; returns the first. Call inside the transaction that uses them. */
export async function reserveNumbers(tx: Prisma.TransactionClient, tenantId: string, counter: Counter, count = 1): Promise<number> {
  const tenant = await tx.tenant.update({
    where: { id: tenantId },
    data: { [counter]: { increment: count } },
    select: { lastAgentNumber: true, lastConversationNumber: true },
  });
  return tenant[counter] - count + 1;
}
