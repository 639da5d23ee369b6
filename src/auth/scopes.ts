// The canonical scope vocabulary the schema checks, and how each dialect's own scope or
// ability names map onto it. Tokens store canonical scopes only.
import type { TokenFormat } from "../generated/prisma/enums.js";

export const SCOPES = [
  "contacts:read",
  "contacts:write",
  "leads:read",
  "leads:write",
  "conversations:read",
  "conversations:write",
  "tickets:read",
  "tickets:write",
  "bookings:read",
  "bookings:write",
  "offerings:read",
  "offerings:write",
  "agents:read",
  "agents:write",
  "channels:read",
  "channels:write",
  "webhooks:read",
  "webhooks:write",
  "analytics:read",
  "admin",
] as const;

export type Scope = (typeof SCOPES)[number];

/** Every scope but `admin`: what an integration may be granted at most. */
export const DATA_SCOPES: Scope[] = SCOPES.filter((scope) => scope !== "admin");
/**
 * Vorel's `read`: every read scope but webhooks:read. Vorel manages webhook subscriptions in
 * its dashboard only, so no Vorel key was ever meant to see them; their URLs may be capability
 * URLs and their deliveries replay every event. A Vorel key may still be given the canonical
 * webhooks:read by name.
 */
const VOREL_READ_SCOPES: Scope[] = SCOPES.filter((scope) => scope.endsWith(":read") && scope !== "webhooks:read");

export function isScope(name: string): name is Scope {
  return (SCOPES as readonly string[]).includes(name);
}

/**
 * Each dialect's documented scope (or ability) names, and the canonical scopes each one
 * grants. A canonical name is accepted in every dialect as well.
 */
export const DIALECT_SCOPES: Record<TokenFormat, Record<string, Scope[]>> = {
  // Veleria API keys carry no documented scopes: a key reaches the whole account.
  VELERIA: { full_access: DATA_SCOPES },
  // Convo documents canonical names: conversations:read, leads:write, agents:read, ...
  CONVO: {},
  // Vorel: one `read` scope and per-resource write scopes; appointments are bookings.
  // crm:write (the CRM push) names nothing here yet, so it is refused rather than stored.
  VOREL: {
    read: VOREL_READ_SCOPES,
    "leads:write": ["leads:write"],
    "appointments:write": ["bookings:write"],
    "offerings:write": ["offerings:write"],
  },
  // Velents Support Center abilities, in the platform's own style. Tickets-Show and
  // Tickets-History are documented; Tickets-Create and Tickets-Send are this service's names
  // for the two endpoints whose ability the docs do not name. The list of tickets needs
  // Tickets-Show (Show returns "the same shape as a list entry plus extended fields").
  VELENTS_SUPPORT: {
    "Tickets-Show": ["tickets:read"],
    "Tickets-History": ["conversations:read"],
    "Tickets-Create": ["tickets:write"],
    "Tickets-Send": ["conversations:write"],
  },
  // Velents Agent.sa tokens belong to one agent (Agent.sa documents no ability names):
  // `dispatch` starts conversations and reads them back, `agent:read` reads the agent's
  // configuration (src/rest/dialects/velents-agent.ts).
  VELENTS_AGENT: {
    dispatch: ["conversations:write", "conversations:read"],
    "agent:read": ["agents:read"],
  },
};

/**
 * How a dialect names a canonical scope in its 403 bodies: its own name for exactly that
 * scope, else its narrowest name that grants it (Vorel's `read`), else the canonical name.
 */
export function dialectScopeName(format: TokenFormat, scope: string): string {
  const names = Object.entries(DIALECT_SCOPES[format]).filter(([, granted]) => (granted as string[]).includes(scope));
  const narrowest = names.sort(([, a], [, b]) => a.length - b.length)[0];
  return narrowest && narrowest[1].length < DATA_SCOPES.length ? narrowest[0] : scope;
}

export class UnknownScopeError extends Error {}

/** Translates scope names given in a dialect (or canonical names) to canonical scopes. */
export function toCanonicalScopes(format: TokenFormat, names: string[]): Scope[] {
  const result = new Set<Scope>();
  for (const raw of names) {
    const name = raw.trim();
    if (name === "") continue;
    if (name === "all") {
      DATA_SCOPES.forEach((scope) => result.add(scope));
      continue;
    }
    const mapped = DIALECT_SCOPES[format][name] ?? (isScope(name) ? [name] : undefined);
    if (!mapped) {
      const known = [...new Set([...Object.keys(DIALECT_SCOPES[format]), ...SCOPES, "all"])].join(", ");
      throw new UnknownScopeError(`Unknown scope "${name}" for ${format} tokens. Known: ${known}`);
    }
    mapped.forEach((scope) => result.add(scope));
  }
  return SCOPES.filter((scope) => result.has(scope));
}
