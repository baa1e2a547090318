import { customType } from "drizzle-orm/pg-core";

/**
 * Postgres `tsvector`, which drizzle has no column type for. Only ever a generated column
 * here (full-text search, lib/db/queries/search.ts): the app never reads or writes it.
 */
export const tsvector = customType<{ data: string; driverData: string }>({
  dataType: () => "tsvector",
});

/** The text search configuration of every search column and query: stemming ("running" → "run"), English stop words. */
export const SEARCH_CONFIG = "english";
