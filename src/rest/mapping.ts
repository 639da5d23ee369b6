// Small translations the dialects share: query strings to GraphQL variables, ids between
// the dialects' formats and global ids, connections to plain lists.
import { STATUS_CODES } from "node:http";
import { z } from "zod";
import { globalIdOf, rawId } from "../graphql/ids.js";
import { invalidField, notFoundFailure, type GraphQLData } from "./route.js";

type IdType = Parameters<typeof globalIdOf>[0];

/**
 * A whole number from a query string; anything else passes through unchanged so that the
 * schema rejects it with a message naming the parameter.
 */
export function intParam(value: string | null): number | string | undefined {
  if (value === null || value === "") return undefined;
  return /^-?\d{1,9}$/.test(value) ? Number(value) : value;
}

/** The request's variables without the ones it did not send, so GraphQL reports those as not provided. */
export const defined = (variables: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(variables).filter(([, value]) => value !== undefined));

/**
 * How a whole-number query parameter (limit, page, ...) is documented: as an integer, so that
 * generated clients take numbers. The value itself is read by intParam and checked by the schema.
 */
export const integerParam = (min: number, description: string) => z.number().int().min(min).optional().describe(description);

/** A query string value, or undefined when absent or empty. */
export const param = (value: string | null): string | undefined => (value === null || value === "" ? undefined : value);

/** A whole number from a query string that must be at least `min`: below it, a 422 naming the parameter. */
export function intParamAtLeast(name: string, value: string | null, min: number): number | string | undefined {
  const parsed = intParam(value);
  if (typeof parsed === "number" && parsed < min) {
    throw invalidField(name, `must be ${min} or more`);
  }
  return parsed;
}

/**
 * `page` (from 1) and a page size as `first`/`offset`, the size capped at `maxSize` (as the
 * schema caps it); values that are not whole numbers pass through to be rejected.
 */
export function pageOf(page: string | null, size: string | null, defaultSize: number, maxSize: number, sizeName = "per_page") {
  const requested = intParamAtLeast(sizeName, size, 1) ?? defaultSize;
  const perPage = typeof requested === "number" ? Math.min(requested, maxSize) : requested;
  // Pages count from 1: page 0 would reach the schema as a negative offset, named as such.
  const pageNumber = intParamAtLeast("page", page, 1) ?? 1;
  const offset = typeof pageNumber === "number" && typeof perPage === "number" ? (pageNumber - 1) * perPage : pageNumber;
  return { first: perPage, offset, page: pageNumber, perPage };
}

/** A bare uuid from a path as a global id; anything else cannot name a row: 404. */
export function pathId(type: IdType, value: string): string {
  const id = globalIdOf(type, value);
  if (!id) throw notFoundFailure();
  return id;
}

/**
 * Public ids in the Velents style (`tkt_01HX…`): a prefix and the row uuid's 128 bits in
 * Crockford base32, 26 characters (the first 0-7), as a ULID is written. Derived from the
 * uuid and back, so no column stores them.
 */
export const PUBLIC_ID_PREFIX = { Ticket: "tkt", Conversation: "cnv", Message: "msg" } as const;
type PublicIdType = keyof typeof PUBLIC_ID_PREFIX;
const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const PUBLIC_ID_BODY = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/;

/** The public id of a row, from its uuid or its global id. */
export function publicIdOf(type: PublicIdType, id: string): string {
  let bits = BigInt(`0x${rawId(id).replace(/-/g, "")}`);
  const digits: string[] = [];
  for (let i = 0; i < 26; i += 1) {
    digits.unshift(CROCKFORD[Number(bits & 31n)]!);
    bits >>= 5n;
  }
  return `${PUBLIC_ID_PREFIX[type]}_${digits.join("")}`;
}

/** The global id a public id stands for, or undefined if it is not one of this type (so it names no row). */
export function globalIdOfPublicId(type: PublicIdType, value: string): string | undefined {
  const prefix = `${PUBLIC_ID_PREFIX[type]}_`;
  // Crockford base32 reads either case.
  const body = value.startsWith(prefix) ? value.slice(prefix.length).toUpperCase() : "";
  if (!PUBLIC_ID_BODY.test(body)) return undefined;
  let bits = 0n;
  for (const digit of body) bits = (bits << 5n) | BigInt(CROCKFORD.indexOf(digit));
  const hex = bits.toString(16).padStart(32, "0");
  return globalIdOf(type, `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`);
}

/** A bare uuid from a body as a global id; anything else passes through to be rejected. */
export function bodyId(type: IdType, value: unknown): unknown {
  return typeof value === "string" ? (globalIdOf(type, value) ?? value) : value;
}

export const bareId = (id: string | null | undefined): string | null => (id ? rawId(id) : null);

/** The nodes of a connection. */
export const nodes = (connection: GraphQLData): GraphQLData[] => connection.edges.map((edge: GraphQLData) => edge.node);

/** "Not Found" for 404, and so on. */
export const reasonPhrase = (status: number): string => STATUS_CODES[status] ?? "Error";

/**
 * One dialect's words for a canonical enum (README "Vocabulary"). Several canonical values
 * may share a word (Convo says CONTACTED for BOOKED); in a request a word means the first
 * value listed with it, in a filter all of them. A word the dialect does not have passes on
 * in a form no canonical value has, so the schema refuses it with the dialect's word list.
 */
export function vocabulary<Canonical extends string, Word extends string>(words: Record<Canonical, Word>) {
  const entries = Object.entries(words) as [Canonical, Word][];
  const known = [...new Set(entries.map(([, word]) => word))] as [Word, ...Word[]];
  const canonicalOf = (word: unknown): unknown => {
    if (typeof word !== "string") return word;
    return entries.find(([, candidate]) => candidate === word)?.[0] ?? `${word.toLowerCase()} (unknown)`;
  };
  return {
    /** The dialect's words, in pipeline order: for zod enums and 422 messages. */
    words: known,
    word: (canonical: string): Word => words[canonical as Canonical],
    /** A request's word as the canonical value; undefined stays undefined and null stays null. */
    canonical: (word: unknown): unknown => (word === undefined || word === null ? word : canonicalOf(word)),
    /** Every canonical value a filter word stands for; an unknown word as canonical() passes it. */
    every: (word: string | undefined): unknown[] | undefined => {
      if (word === undefined) return undefined;
      const all = entries.filter(([, candidate]) => candidate === word).map(([canonical]) => canonical);
      return all.length > 0 ? all : [canonicalOf(word)];
    },
  };
}
