// Who is calling: the token behind a request, its tenant and its canonical scopes.
// Shared by the GraphQL context, the CLI and (later) the REST layer.
import type { ApiToken, Prisma, Tenant } from "../generated/prisma/client.js";
import type { PrismaClient } from "../db/client.js";
import type { TokenFormat } from "../generated/prisma/enums.js";
import { isScope, type Scope } from "./scopes.js";
import { generateToken, hashToken, tokenFormatOf } from "./tokens.js";

export interface Viewer {
  tenant: Tenant;
  token: ApiToken;
  scopes: ReadonlySet<Scope>;
}

/** lastUsedAt is written at most this often per token, so reads do not turn into writes. */
const LAST_USED_RESOLUTION_MS = 60_000;

export function tokenState(token: Pick<ApiToken, "revokedAt" | "expiresAt">, now = new Date()) {
  if (token.revokedAt) return "revoked";
  return token.expiresAt && token.expiresAt <= now ? "expired" : "active";
}

/** Resolves a bearer token to its viewer; undefined for any token that is unknown, revoked or expired. */
export async function authenticate(prisma: PrismaClient, token: string, now = new Date()): Promise<Viewer | undefined> {
  if (token.length > 200 || !tokenFormatOf(token)) return undefined;
  const row = await prisma.apiToken.findUnique({
    where: { secretHash: hashToken(token) },
    include: { tenant: true },
  });
  if (!row || tokenState(row, now) !== "active") return undefined;
  const { tenant, ...apiToken } = row;
  if (!apiToken.lastUsedAt || now.getTime() - apiToken.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS) {
    await prisma.apiToken.update({ where: { id: apiToken.id }, data: { lastUsedAt: now } });
    apiToken.lastUsedAt = now;
  }
  return { tenant, token: apiToken, scopes: new Set(apiToken.scopes.filter(isScope)) };
}

/** The bearer token of an Authorization header value, or undefined. */
export function bearerToken(header: string | null | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  return match?.[1];
}

export interface IssueTokenInput {
  tenantId: string;
  name: string;
  format: TokenFormat;
  scopes: Scope[];
  expiresAt?: Date | null;
  agentId?: string | null;
}

/** Creates a token; the secret is in the result and nowhere else, ever again. */
export async function issueToken(prisma: Prisma.TransactionClient, input: IssueTokenInput) {
  const { secret, secretHash, displayPrefix } = generateToken(input.format, input.tenantId);
  const token = await prisma.apiToken.create({
    data: {
      tenantId: input.tenantId,
      name: input.name,
      format: input.format,
      scopes: input.scopes,
      expiresAt: input.expiresAt ?? null,
      agentId: input.agentId ?? null,
      secretHash,
      displayPrefix,
    },
  });
  return { token, secret };
}
