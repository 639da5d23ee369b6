// Offsets for page-numbered clients (the REST dialects' `page`/`offset`), next to Relay cursors.
import { z } from "zod";

export const offsetArgOptions = {
  description: "Rows to skip first, for page-numbered clients; after a cursor, rows skipped after it.",
  validate: z.number().int().min(0, "must be 0 or more").max(100_000, "must be at most 100,000").nullish(),
};

/** The order of every list that shows the latest first; the id settles rows created in the same millisecond. */
export const newestFirst = [{ createdAt: "desc" as const }, { id: "desc" as const }];

/** Adds an offset to the skip Pothos computed for the page (1 when paging after a cursor). */
export function withOffset<Q extends { skip?: number }>(query: Q, offset: number | null | undefined): Q {
  return offset ? { ...query, skip: (query.skip ?? 0) + offset } : query;
}
