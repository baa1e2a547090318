import { z } from "zod";
import { lineText } from "../validation";

export const SEARCH_QUERY_MAX = 200;
export const SEARCH_LIMIT_DEFAULT = 20;
export const SEARCH_LIMIT_MAX = 50;
/** Deepest offset a cursor may name: past it, refine the query (and no scan gets absurdly deep). */
export const SEARCH_OFFSET_MAX = 1_000;

/**
 * The query as typed: NFC, trimmed, 1-200 characters, no control characters (like a room
 * name), and at least one letter or digit: a query of punctuation alone has no words for
 * Postgres to look up, so it is a 400 rather than an empty page.
 */
export const searchQuerySchema = lineText("Search", 1, SEARCH_QUERY_MAX).refine((s) => /[\p{L}\p{N}]/u.test(s), {
  message: "Search for at least one word",
});

/** An empty parameter (`?limit=` from a form) counts as absent. */
const optional = <S extends z.ZodType>(schema: S) => z.preprocess((v) => (v === "" ? undefined : v), schema.optional());

/** `cursor`: the offset of the next page, as the previous page gave it. */
export const searchCursorSchema = z
  .string()
  .regex(/^\d{1,4}$/, "Malformed cursor")
  .transform(Number)
  .refine((n) => n <= SEARCH_OFFSET_MAX, "The cursor is too deep: refine the search instead");

/** `GET /api/search` and the search page's parameters, each a single string. */
export const searchParamsSchema = z.object({
  q: searchQuerySchema,
  limit: optional(z.coerce.number().int().min(1).max(SEARCH_LIMIT_MAX)).transform((n) => n ?? SEARCH_LIMIT_DEFAULT),
  cursor: optional(searchCursorSchema).transform((n) => n ?? 0),
});

export type SearchParams = z.output<typeof searchParamsSchema>;

/**
 * What the cache key and Postgres both see: NFC, lowercase, whitespace collapsed. Case
 * and spacing change nothing in a full-text match (websearch's `or` is case-insensitive),
 * so "Running  Late" and "running late" share one cache entry.
 */
export function normaliseQuery(q: string): string {
  return q.normalize("NFC").toLowerCase().replace(/\s+/gu, " ").trim();
}

/** Query parameters from a URL or Next's searchParams: a repeated parameter is refused, not guessed at. */
export function singleValues(params: URLSearchParams | Record<string, string | string[] | undefined>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const entries = params instanceof URLSearchParams ? [...params.keys()].map((k) => [k, params.getAll(k)] as const) : Object.entries(params);
  for (const [key, value] of entries) {
    if (Array.isArray(value)) out[key] = value.length === 1 ? value[0] : value;
    else if (value !== undefined) out[key] = value;
  }
  return out;
}
