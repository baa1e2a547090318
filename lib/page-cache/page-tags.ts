/*
 * Which rendered pages a write makes out of date. Pages are tagged by Next itself with
 * implicit path tags (`_N_T_` + path, what `revalidatePath` expires); the page cache
 * (./next-cache-handler.ts) stores those tags with each entry, and any process, the
 * worker included, may mark them in Redis without going through Next.
 */

/** Next's prefix for the implicit tag of a path (next/dist/lib/constants: NEXT_CACHE_IMPLICIT_TAG_ID). */
const IMPLICIT_TAG_PREFIX = "_N_T_";

/** The tags `revalidatePath(path)` expires: the path's own, and `/` and `/index` together. */
export function pathTags(path: string): string[] {
  const normalized = path.length > 1 ? path.replace(/\/$/, "") : path;
  const tags = [IMPLICIT_TAG_PREFIX + normalized];
  if (normalized === "/") tags.push(`${IMPLICIT_TAG_PREFIX}/index`);
  return tags;
}

/** The home page: the room list (hard: names and membership), activity order and stats (soft). */
export const HOME_PAGE_TAGS = pathTags("/");

/**
 * Rendered into a page built from a saved copy while Postgres is down (an attribute, so
 * no text a user typed can contain it: React escapes quotes in text). The cache handler
 * does not store such a page.
 */
export const STALE_PAGE_MARKER = 'data-cache-state="stale"';

/** The invalidation side of the page cache, as the rest of the app sees it. */
export interface PageInvalidator {
  /** `hard`: the next request renders first; `soft`: served once more while one render refreshes. Rejects when Redis cannot take it. */
  mark(tags: string[], mode: "hard" | "soft"): Promise<void>;
  /** {@link mark} retried once; never throws (false: not applied). */
  invalidate(tags: string[], mode: "hard" | "soft"): Promise<boolean>;
}
