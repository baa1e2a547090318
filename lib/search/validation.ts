import { z } from "zod";
import { lineText } from "../validation";

export const SEARCH_QUERY_MAX = 200;
export const SEARCH_LIMIT_DEFAULT = 20;
export const SEARCH_LIMIT_MAX = 50;
/** Deepest offset a cursor may name: past it, refine the query (and no scan gets absurdly deep). */
export const SEARCH_OFFSET_MAX = 1_000;

/** Words a query may hold (`or` not counted), `or`s, and quoted phrases. */
export const SEARCH_WORDS_MAX = 8;
export const SEARCH_OR_MAX = 3;
export const SEARCH_PHRASES_MAX = 2;

/**
 * The parts of a websearch query that cost Postgres: words (each a lookup in the GIN index
 * and a term to rank), `or` (each branch ranked apart), phrases (each match rechecked
 * against positions), exclusions. Counted the way websearch_to_tsquery reads them, closely
 * enough for limits.
 */
export function queryShape(q: string) {
  let words = 0;
  let ors = 0;
  let positive = 0;
  let orNextToExclusion = false;
  const phrases = Math.ceil((q.match(/"/g)?.length ?? 0) / 2);
  // Outside quotes: tokens by whitespace; inside: every word is a positive term of the phrase.
  const parts = q.split('"');
  let previous: "or" | "excluded" | "other" | undefined;
  parts.forEach((part, i) => {
    const quoted = i % 2 === 1;
    if (quoted) {
      const n = part.match(/[\p{L}\p{N}]+/gu)?.length ?? 0;
      words += n;
      if (n > 0 && !/-\s*$/.test(parts[i - 1] ?? "")) positive++;
      previous = "other";
      return;
    }
    for (const token of part.split(/\s+/).filter(Boolean)) {
      const runs = token.match(/[\p{L}\p{N}]+/gu)?.length ?? 0;
      if (/^or$/i.test(token)) {
        ors++;
        if (previous === "excluded") orNextToExclusion = true;
        previous = "or";
        continue;
      }
      const excluded = token.startsWith("-") && runs > 0;
      if (excluded && previous === "or") orNextToExclusion = true;
      words += runs;
      if (runs > 0 && !excluded) positive++;
      previous = excluded ? "excluded" : "other";
    }
  });
  return { words, ors, phrases, positive, orNextToExclusion };
}

/**
 * The query as typed: NFC, trimmed, 1-200 characters, no control characters (like a room
 * name), and at least one letter or digit: a query of punctuation alone has no words for
 * Postgres to look up, so it is a 400 rather than an empty page. Its cost is capped too
 * (words, `or`s, phrases), and it must look something up: a query of exclusions alone
 * (`-apples`), or an exclusion joined by `or`, matches through no index, so Postgres would
 * rank every message to answer it.
 */
export const searchQuerySchema = lineText("Search", 1, SEARCH_QUERY_MAX)
  .refine((s) => /[\p{L}\p{N}]/u.test(s), { message: "Search for at least one word" })
  .superRefine((s, ctx) => {
    if (!/[\p{L}\p{N}]/u.test(s)) return; // said above
    const shape = queryShape(s);
    const problem =
      shape.words > SEARCH_WORDS_MAX
        ? `Use at most ${SEARCH_WORDS_MAX} words`
        : shape.ors > SEARCH_OR_MAX
          ? `Use "or" at most ${SEARCH_OR_MAX} times`
          : shape.phrases > SEARCH_PHRASES_MAX
            ? `Use at most ${SEARCH_PHRASES_MAX} quoted phrases`
            : shape.positive === 0
              ? "Search for at least one word that is not excluded (-)"
              : shape.orNextToExclusion
                ? 'Exclude words (-) alongside the others, not with "or"'
                : undefined;
    if (problem) ctx.addIssue({ code: "custom", message: problem });
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
