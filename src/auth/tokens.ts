// API tokens: generated in one of the four platforms' formats, shown once, stored as a
// SHA-256 hash. The tokens carry 128 to 238 bits of randomness, so a fast hash is the
// right tool (as for GitHub or Stripe keys): a slow password hash would add nothing but
// latency to every request.
import { createHash, randomBytes } from "node:crypto";
import type { TokenFormat } from "../generated/prisma/enums.js";

const ALPHANUMERIC = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

function randomAlphanumeric(length: number): string {
  // 248 is the largest multiple of 62 below 256: rejecting larger bytes avoids modulo bias.
  let out = "";
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248 && out.length < length) out += ALPHANUMERIC[byte % 62];
    }
  }
  return out;
}

const hex = (bytes: number) => randomBytes(bytes).toString("hex");

interface FormatRule {
  /** Example shown in docs and errors. */
  example: string;
  pattern: RegExp;
  generate(tenantId: string): string;
}

/** The token formats, one per dialect (see DESIGN.md, "Tenancy, tokens, scopes"). */
export const TOKEN_FORMATS: Record<TokenFormat, FormatRule> = {
  VELERIA: {
    example: "vela_live_sk_<40 letters and digits>",
    pattern: /^vela_live_sk_[A-Za-z0-9]{40}$/,
    generate: () => `vela_live_sk_${randomAlphanumeric(40)}`,
  },
  CONVO: {
    example: "convo_<32 hex>",
    pattern: /^convo_[0-9a-f]{32}$/,
    generate: () => `convo_${hex(16)}`,
  },
  VOREL: {
    example: "vapk_live_<48 hex>",
    pattern: /^vapk_live_[0-9a-f]{48}$/,
    generate: () => `vapk_live_${hex(24)}`,
  },
  VELENTS_SUPPORT: {
    example: "Velents_<tenantId>_PersonalAccessToken_<40 letters and digits>",
    pattern: /^[A-Za-z0-9]+_[0-9a-f-]{36}_PersonalAccessToken_[A-Za-z0-9]{40}$/,
    generate: (tenantId) => `Velents_${tenantId}_PersonalAccessToken_${randomAlphanumeric(40)}`,
  },
  VELENTS_AGENT: {
    example: "agentsa_<48 hex>",
    pattern: /^agentsa_[0-9a-f]{48}$/,
    generate: () => `agentsa_${hex(24)}`,
  },
};

export function tokenFormatOf(token: string): TokenFormat | undefined {
  return (Object.keys(TOKEN_FORMATS) as TokenFormat[]).find((format) => TOKEN_FORMATS[format].pattern.test(token));
}

export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

/** The format's fixed part and four secret characters: enough to recognise a token, never to use it. */
export function displayPrefixOf(token: string): string {
  return token.slice(0, token.lastIndexOf("_") + 5);
}

export function generateToken(format: TokenFormat, tenantId: string) {
  const secret = TOKEN_FORMATS[format].generate(tenantId);
  return { secret, secretHash: hashToken(secret), displayPrefix: displayPrefixOf(secret) };
}
