import { z } from "zod";

/**
 * What a committed write makes out of date in Redis, as recorded in the invalidation log
 * (lib/db/schema/invalidations.ts) and applied by the writer, or by any web instance that
 * reads the log. Semantic, not Redis commands: a generation token or an epoch is made
 * when the ops are applied, never stored, because applying a stored token a second time
 * could hand back a generation a loader read before a later write.
 */
export const invalidationOpsSchema = z.strictObject({
  /** Data keys (full names, prefix included): INVALIDATE each (a new generation, DEL). */
  keys: z.array(z.string().min(1).max(512)).max(64),
  /** Page tags to mark hard (the pages carrying them render again before they answer). */
  pages: z.array(z.string().min(1).max(512)).max(16),
  /** Mark the stats stale. */
  stats: z.boolean(),
  /** Retire every cached search page (a new search generation). */
  search: z.boolean(),
  /** The room list's order: raise a room's activity (ms), or drop a deleted room. */
  activity: z
    .union([z.strictObject({ room: z.uuid(), ms: z.number().int().nonnegative() }), z.strictObject({ room: z.uuid(), forget: z.literal(true) })])
    .optional(),
});

export type InvalidationOps = z.infer<typeof invalidationOpsSchema>;

/**
 * Ops as a write records them: an activity's `ms` may be `"now"`, the transaction's own
 * time, which the database writes into the row (so the ops need not wait for a statement
 * that reads it, and go out with the write's other statements).
 */
export type RecordedOps = Omit<InvalidationOps, "activity"> & {
  activity?: InvalidationOps["activity"] | { room: string; ms: "now" };
};

/** Applies ops to Redis; rejects when any of them could not be applied (the caller keeps the log row). */
export type ApplyOps = (ops: InvalidationOps[]) => Promise<void>;
