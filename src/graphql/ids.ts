// Global ids are "<prefix>_<uuid>", e.g. con_3c90c3cc-0d44-4b50-8888-8dd25736052a: opaque
// enough for Relay, readable in logs, and close to the prefixed ids the REST dialects use.
import { z } from "zod";
import { badInput } from "./errors.js";

export const PREFIX_BY_TYPE = {
  Tenant: "ten",
  ApiToken: "tok",
  Contact: "con",
  Lead: "lead",
  Agent: "agt",
  Channel: "chn",
  Conversation: "conv",
  Message: "msg",
  Tag: "tag",
  Booking: "bkg",
  Handoff: "hof",
  Ticket: "tkt",
  Offering: "off",
  DispatchBatch: "batch",
  WebhookEndpoint: "whe",
  WebhookDelivery: "whd",
} as const satisfies Record<string, string>;
const TYPE_BY_PREFIX = Object.fromEntries(Object.entries(PREFIX_BY_TYPE).map(([type, prefix]) => [prefix, type]));
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function encodeId(typename: string, id: string | number | bigint): string {
  const prefix = PREFIX_BY_TYPE[typename as keyof typeof PREFIX_BY_TYPE];
  if (!prefix) throw new Error(`No global id prefix for type ${typename}`);
  return `${prefix}_${id}`;
}

export function decodeId(globalId: string): { typename: string; id: string } {
  const separator = globalId.indexOf("_");
  const typename = TYPE_BY_PREFIX[globalId.slice(0, separator)];
  const id = globalId.slice(separator + 1);
  if (separator < 0 || !typename || !UUID.test(id)) {
    throw badInput(undefined, `"${globalId.slice(0, 80)}" is not a valid id`);
  }
  return { typename, id };
}

/** The uuid inside a global id: the id format of the REST dialects that use bare uuids. */
export function rawId(globalId: string): string {
  return globalId.slice(globalId.indexOf("_") + 1);
}

/** The global id for a bare uuid, or undefined if it is not one (so it can name no row). */
export function globalIdOf(typename: keyof typeof PREFIX_BY_TYPE, raw: string): string | undefined {
  return UUID.test(raw) ? encodeId(typename, raw) : undefined;
}

/** The uuid a global id of this type or a bare uuid names (what the CLI takes), or undefined. */
export function uuidOf(typename: keyof typeof PREFIX_BY_TYPE, value: string): string | undefined {
  const raw = value.startsWith(`${PREFIX_BY_TYPE[typename]}_`) ? rawId(value) : value;
  return UUID.test(raw) ? raw : undefined;
}

/** Validation for a global id argument, so a malformed one is reported with its argument path. */
export function idOf(typename: keyof typeof PREFIX_BY_TYPE) {
  const prefix = PREFIX_BY_TYPE[typename];
  const article = /^[AEIOU]/.test(typename) ? "an" : "a";
  return z.string().regex(new RegExp(`^${prefix}_${UUID.source.slice(1, -1)}$`), `must be ${article} ${typename} id (${prefix}_…)`);
}
