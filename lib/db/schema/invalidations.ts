import { bigint, index, jsonb, pgTable, text, timestamp } from "drizzle-orm/pg-core";

/**
 * The invalidation log (a transactional outbox): every write records, in its own
 * transaction, what it makes out of date in Redis. The writer applies it right after its
 * commit and deletes the row; a writer that cannot reach Redis (or dies first) leaves the
 * row for any web instance to apply. Every web instance reads this table every few hundred
 * milliseconds and trusts its cache only while it has (lib/cache/invalidation). `ops` is
 * validated by zod when read (lib/cache/invalidation/ops.ts).
 */
export const cacheInvalidations = pgTable(
  "cache_invalidations",
  {
    id: bigint("id", { mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
    /**
     * The writer's REDIS_KEY_PREFIX: a deployment applies only its own rows (two that share a
     * database but not a key space never apply, nor wait on, each other's).
     */
    keyPrefix: text("key_prefix").notNull().default(""),
    ops: jsonb("ops").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  },
  (t) => [index("cache_invalidations_prefix_id").on(t.keyPrefix, t.id)],
);

export type CacheInvalidationRow = typeof cacheInvalidations.$inferSelect;
