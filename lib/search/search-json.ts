import type { SearchHit, SearchPage } from "./search-service";

/** A hit as JSON: dates as ISO strings, snippets as segments (text, never HTML). */
export function hitJson(hit: SearchHit) {
  return { ...hit, createdAt: hit.createdAt.toISOString() };
}

export function searchPageJson(page: SearchPage) {
  return { query: page.query, results: page.hits.map(hitJson), nextCursor: page.nextCursor };
}
