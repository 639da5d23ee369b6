// Rate-limit settings: each platform's documented limits as defaults, and RATE_LIMITS (JSON,
// validated here) to change a policy, set per-plan values or override one tenant.
// src/config.ts reads the environment and calls rateLimitSettings(); nothing else does.
import { z } from "zod";
import type { Plan } from "../generated/prisma/enums.js";

/**
 * What is counted, and against what:
 * - anonymous:   every request without a valid token, per client IP (Convo documents 60/min)
 * - veleria:     Veleria paths, per tenant (its plans: 100, 1,000, 10,000 an hour)
 * - convo:       Convo paths, per tenant and route (600/min)
 * - vorelKey:    Vorel paths, per API key (200/min)
 * - vorelTenant: Vorel paths, per tenant, all keys together (5,000/min)
 * - velents:     Velents paths (Support Center and Agent.sa), per token (40/min)
 * - graphql:     /graphql over HTTP and WebSocket, per token, in query-complexity points
 */
export const POLICY_NAMES = ["anonymous", "veleria", "convo", "vorelKey", "vorelTenant", "velents", "graphql"] as const;
export type PolicyName = (typeof POLICY_NAMES)[number];

export interface Policy {
  /** Requests (or, for graphql, complexity points) per window, by the tenant's plan. */
  limit: Record<Plan, number>;
  windowSeconds: number;
}

export interface RateLimitSettings {
  /** false with RATE_LIMITS=off: nothing is counted and no rate-limit header is sent. */
  enabled: boolean;
  policies: Record<PolicyName, Policy>;
  /** Per tenant (by slug or id): a limit per policy, whatever the plan says. */
  tenants: Record<string, Partial<Record<PolicyName, number>>>;
  /** Prefix of the counters' keys in Redis (one Redis can serve several deployments). */
  keyPrefix: string;
  /**
   * How many proxies in front of the service append the caller's address to
   * X-Forwarded-For (TRUST_PROXY); 0 ignores the header, which anyone can forge.
   */
  trustedProxies: number;
}

const everyPlan = (limit: number): Record<Plan, number> => ({ STARTER: limit, PRO: limit, BUSINESS: limit });
const MINUTE = 60;

/** The platforms' own figures (README "Rate limits" says where each comes from). */
export const DEFAULT_POLICIES: Record<PolicyName, Policy> = {
  anonymous: { limit: everyPlan(60), windowSeconds: MINUTE },
  veleria: { limit: { STARTER: 100, PRO: 1_000, BUSINESS: 10_000 }, windowSeconds: 60 * MINUTE },
  convo: { limit: everyPlan(600), windowSeconds: MINUTE },
  vorelKey: { limit: everyPlan(200), windowSeconds: MINUTE },
  vorelTenant: { limit: everyPlan(5_000), windowSeconds: MINUTE },
  // Velents' operation pages say 40 a minute; 30 appears only in an example of the headers.
  velents: { limit: everyPlan(40), windowSeconds: MINUTE },
  // About 330 inbox pages (complexity ~300 each) a minute, or 5 of the largest query allowed (20,000).
  graphql: { limit: everyPlan(100_000), windowSeconds: MINUTE },
};

const DEFAULT_KEY_PREFIX = "engagement-graph:rate:";

const Count = z.number().int().positive();
const PolicyInput = z
  .object({
    limit: z.union([Count, z.object({ STARTER: Count, PRO: Count, BUSINESS: Count }).partial().strict()]),
    windowSeconds: Count,
  })
  .partial()
  .strict();
const policyFields = <T extends z.ZodType>(schema: T) =>
  z.object(Object.fromEntries(POLICY_NAMES.map((name) => [name, schema.optional()])) as Record<PolicyName, z.ZodOptional<T>>);
const SettingsInput = policyFields(PolicyInput)
  .extend({
    tenants: z.record(z.string().min(1), policyFields(Count).strict()).optional(),
    keyPrefix: z.string().min(1).optional(),
  })
  .strict();

/**
 * RATE_LIMITS: unset or empty for the defaults, "off" to disable, or JSON such as
 * {"convo":{"limit":1200},"veleria":{"limit":{"STARTER":200}},"tenants":{"acme":{"vorelKey":1000}}}.
 */
export function rateLimitSettings(raw: string | undefined, trustedProxies: number): RateLimitSettings {
  const defaults = { enabled: true, policies: DEFAULT_POLICIES, tenants: {}, keyPrefix: DEFAULT_KEY_PREFIX, trustedProxies };
  if (raw === undefined || raw.trim() === "") return defaults;
  if (raw.trim() === "off") return { ...defaults, enabled: false };
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new Error(`RATE_LIMITS must be "off" or JSON, got ${JSON.stringify(raw.slice(0, 80))}`);
  }
  const parsed = SettingsInput.safeParse(json);
  if (!parsed.success) throw new Error(`RATE_LIMITS is invalid: ${z.prettifyError(parsed.error)}`);
  const { tenants = {}, keyPrefix = DEFAULT_KEY_PREFIX, ...changes } = parsed.data;
  const policies = Object.fromEntries(
    POLICY_NAMES.map((name) => {
      const base = DEFAULT_POLICIES[name];
      const change = changes[name] ?? {};
      const limit = typeof change.limit === "number" ? everyPlan(change.limit) : { ...base.limit, ...change.limit };
      return [name, { limit, windowSeconds: change.windowSeconds ?? base.windowSeconds }];
    }),
  ) as Record<PolicyName, Policy>;
  return { ...defaults, policies, tenants, keyPrefix };
}
