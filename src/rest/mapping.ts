// Small translations the dialects share: query strings to GraphQL variables, ids between
// the dialects' formats and global ids, connections to plain lists.
import { STATUS_CODES } from "node:http";
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

/** A bare uuid from a body as a global id; anything else passes through to be rejected. */
export function bodyId(type: IdType, value: unknown): unknown {
  return typeof value === "string" ? (globalIdOf(type, value) ?? value) : value;
}

export const bareId = (id: string | null | undefined): string | null => (id ? rawId(id) : null);

/** The nodes of a connection. */
export const nodes = (connection: GraphQLData): GraphQLData[] => connection.edges.map((edge: GraphQLData) => edge.node);

/** "Not Found" for 404, and so on. */
export const reasonPhrase = (status: number): string => STATUS_CODES[status] ?? "Error";
