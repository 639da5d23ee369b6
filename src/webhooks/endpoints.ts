// Webhook endpoints as their owners manage them: the one implementation behind GraphQL (and
// so every REST dialect that registers webhooks) and the admin CLI. Every rule about an
// endpoint's URL, events and description is checked here and nowhere else, and every refusal
// is a typed GraphQL error (src/graphql/errors.ts) naming the input field, so each caller
// shows it in its own way.
//
// Signing secrets: one is made for each registered endpoint (newSigningSecret, in the
// dialect's format) and stored only sealed (SecretBox) with its first characters
// (secretPrefix). createEndpoint and rotateSecret return it once; nothing reads it back.
//
// Agent.sa (VELENTS_AGENT) endpoints belong to the dispatch that made them: they have no
// secret to rotate, their URL and events are the dispatch's (dispatch again to change them),
// and their link is never shown in full (publicUrl): the dispatch API promises not to return it.
import type { PrismaClient } from "../db/client.js";
import type { Prisma, WebhookEndpoint } from "../generated/prisma/client.js";
import type { WebhookDialect } from "../generated/prisma/enums.js";
import { badInput, conflict, notFound } from "../graphql/errors.js";
import { WEBHOOK_EVENTS, type RegisteredDialect } from "./catalog.js";
import { newSigningSecret, type SecretBox } from "./secrets.js";
import { webhookUrlProblem } from "./send.js";

/** Registered endpoints (every dialect but Agent.sa's) a tenant may have. */
export const MAX_ENDPOINTS_PER_TENANT = 25;
export const MAX_DESCRIPTION_LENGTH = 500;

/** The dialects whose integrators register endpoints themselves, in the order the schema lists them. */
export const REGISTERED_DIALECTS = Object.keys(WEBHOOK_EVENTS) as RegisteredDialect[];

/** How each dialect's owners call it in messages. */
const DIALECT_NAMES: Record<WebhookDialect, string> = { VELERIA: "Veleria", CONVO: "Convo", VOREL: "Vorel", VELENTS_AGENT: "Agent.sa" };

export const isRegisteredDialect = (dialect: string): dialect is RegisteredDialect => (REGISTERED_DIALECTS as string[]).includes(dialect);

export interface NewEndpoint {
  tenantId: string;
  dialect: RegisteredDialect;
  url: string;
  events: string[];
  description?: string | null;
}

/** Omitted (undefined) fields are left as they are; a null description clears it. */
export interface EndpointChange {
  url?: string | null;
  events?: string[] | null;
  description?: string | null;
  /** true: ACTIVE again, its failure count and disabled reason cleared; false: DISABLED by its owner. */
  enabled?: boolean | null;
}

export interface EndpointWithSecret {
  endpoint: WebhookEndpoint;
  /** The signing secret in plaintext: shown this once, stored only sealed. */
  signingSecret: string;
}

/** Why an owner's disable is recorded, so that it reads differently from the service's own. */
export const DISABLED_BY_OWNER = "disabled by its owner";

// ---------------------------------------------------------------------------------------
// Validation: the one place.
// ---------------------------------------------------------------------------------------

function checkedUrl(url: string, allowPrivate: boolean): string {
  const trimmed = url.trim();
  const problem = webhookUrlProblem(trimmed, allowPrivate);
  if (problem) throw badInput("input.url", `input.url: ${problem}`);
  return trimmed;
}

function checkedEvents(dialect: RegisteredDialect, events: string[]): string[] {
  const known = WEBHOOK_EVENTS[dialect];
  const list = events.map((event) => event.trim());
  if (list.length === 0) throw badInput("input.events", `input.events: name at least one event; ${DIALECT_NAMES[dialect]}'s are ${known.join(", ")}`);
  const repeated = list.find((event, index) => list.indexOf(event) !== index);
  if (repeated !== undefined) throw badInput("input.events", `input.events: "${repeated.slice(0, 100)}" is listed twice`);
  const unknown = list.find((event) => !known.includes(event));
  if (unknown !== undefined) {
    throw badInput("input.events", `input.events: "${unknown.slice(0, 100)}" is not a ${DIALECT_NAMES[dialect]} event; they are ${known.join(", ")}`);
  }
  return list;
}

/** Trimmed; empty is none. */
function checkedDescription(description: string | null | undefined): string | null | undefined {
  if (description == null) return description;
  const trimmed = description.trim();
  if (trimmed.length > MAX_DESCRIPTION_LENGTH) {
    throw badInput("input.description", `input.description: must be at most ${MAX_DESCRIPTION_LENGTH} characters`);
  }
  return trimmed === "" ? null : trimmed;
}

function checkedDialect(dialect: string): RegisteredDialect {
  if (!isRegisteredDialect(dialect)) {
    throw badInput("input.dialect", `input.dialect: must be one of ${REGISTERED_DIALECTS.join(", ")} (Agent.sa webhooks are set by their dispatch)`);
  }
  return dialect;
}

/** The URL as the APIs show it: an Agent.sa link only as its origin (the dispatch API never returns the link). */
export function publicUrl(endpoint: Pick<WebhookEndpoint, "dialect" | "url">): string {
  if (endpoint.dialect !== "VELENTS_AGENT") return endpoint.url;
  try {
    return `${new URL(endpoint.url).origin}/…`;
  } catch {
    return "…";
  }
}

// ---------------------------------------------------------------------------------------
// Operations.
// ---------------------------------------------------------------------------------------

/** Serialises the writes that count a tenant's endpoints: the row lock is held until the transaction ends. */
async function lockTenant(tx: Prisma.TransactionClient, tenantId: string) {
  await tx.$queryRaw`SELECT id FROM "Tenant" WHERE id = ${tenantId}::uuid FOR UPDATE`;
}

function newSecret(box: SecretBox, dialect: RegisteredDialect) {
  const { secret, prefix } = newSigningSecret(dialect);
  return { signingSecret: secret, data: { secretCiphertext: box.seal(secret), secretPrefix: prefix } };
}

/** Registers an endpoint: validated, at most MAX_ENDPOINTS_PER_TENANT per tenant, with a new signing secret returned once. */
export async function createEndpoint(prisma: PrismaClient, box: SecretBox, allowPrivate: boolean, input: NewEndpoint): Promise<EndpointWithSecret> {
  const dialect = checkedDialect(input.dialect);
  const url = checkedUrl(input.url, allowPrivate);
  const events = checkedEvents(dialect, input.events);
  const description = checkedDescription(input.description) ?? null;
  const { signingSecret, data: secret } = newSecret(box, dialect);
  const endpoint = await prisma.$transaction(async (tx) => {
    await lockTenant(tx, input.tenantId);
    const registered = await tx.webhookEndpoint.count({ where: { tenantId: input.tenantId, dialect: { in: REGISTERED_DIALECTS } } });
    if (registered >= MAX_ENDPOINTS_PER_TENANT) {
      throw badInput("input", `input: a tenant may register at most ${MAX_ENDPOINTS_PER_TENANT} webhook endpoints; delete one first`);
    }
    return tx.webhookEndpoint.create({ data: { tenantId: input.tenantId, dialect, url, events, description, ...secret } });
  });
  return { endpoint, signingSecret };
}

/** The tenant's endpoint with this id; NOT_FOUND (naming `field`) for an unknown id and for another tenant's alike. */
export async function findEndpoint(prisma: PrismaClient | Prisma.TransactionClient, tenantId: string, id: string, field = "id"): Promise<WebhookEndpoint> {
  const endpoint = await prisma.webhookEndpoint.findFirst({ where: { id, tenantId } });
  if (!endpoint) throw notFound("WebhookEndpoint", field);
  return endpoint;
}

const agentManaged = () => conflict("An Agent.sa webhook's URL and events are its dispatch's: dispatch again to change them");

/** Changes URL, events, description or status; enabling clears the failure count and the disabled reason. */
export async function updateEndpoint(prisma: PrismaClient, allowPrivate: boolean, tenantId: string, id: string, change: EndpointChange): Promise<WebhookEndpoint> {
  for (const field of ["url", "events", "enabled"] as const) {
    if (change[field] === null) throw badInput(`input.${field}`, `input.${field}: must not be null`);
  }
  if (Object.values(change).every((value) => value === undefined)) throw badInput("input", "input: send at least one field to change");
  const description = checkedDescription(change.description);
  return prisma.$transaction(async (tx) => {
    const current = await findEndpoint(tx, tenantId, id);
    const agent = current.dialect === "VELENTS_AGENT";
    if (agent && (change.url != null || change.events != null)) throw agentManaged();
    const url = change.url == null ? undefined : checkedUrl(change.url, allowPrivate);
    const events = change.events == null || agent ? undefined : checkedEvents(current.dialect as RegisteredDialect, change.events);
    const status = change.enabled == null ? {} : change.enabled ? enabled() : disabled(current);
    return tx.webhookEndpoint.update({ where: { id: current.id }, data: { url, events, description, ...status } });
  });
}

const enabled = () => ({ status: "ACTIVE" as const, disabledReason: null, consecutiveFailures: 0 });
/** An endpoint the service disabled keeps the service's reason. */
const disabled = (current: WebhookEndpoint) =>
  current.status === "DISABLED" ? {} : { status: "DISABLED" as const, disabledReason: DISABLED_BY_OWNER };

/** A new signing secret, returned once; the old one stops signing at once. */
export async function rotateSecret(prisma: PrismaClient, box: SecretBox, tenantId: string, id: string): Promise<EndpointWithSecret> {
  return prisma.$transaction(async (tx) => {
    const current = await findEndpoint(tx, tenantId, id);
    if (current.dialect === "VELENTS_AGENT") throw conflict("Agent.sa webhooks are not signed: there is no secret to rotate");
    const { signingSecret, data } = newSecret(box, current.dialect as RegisteredDialect);
    const endpoint = await tx.webhookEndpoint.update({ where: { id: current.id }, data });
    return { endpoint, signingSecret };
  });
}

/** Deletes the endpoint with its deliveries and their attempts; a conversation it served keeps no link to it. */
export async function deleteEndpoint(prisma: PrismaClient, tenantId: string, id: string): Promise<void> {
  const { count } = await prisma.webhookEndpoint.deleteMany({ where: { id, tenantId } });
  if (count === 0) throw notFound("WebhookEndpoint", "id");
}
