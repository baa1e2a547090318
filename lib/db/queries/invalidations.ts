import { and, asc, eq, inArray, sql, type SQL } from "drizzle-orm";
import type { Db } from "../client";
import { cacheInvalidations } from "../schema";

/**
 * A write's ops as the SQL value of its record: an `activity.ms` of `"now"` becomes the
 * transaction's time in ms (what a `timestamptz` of `now()` reads as in JavaScript).
 */
export function recordedOpsSql(ops: { activity?: object }): SQL {
  const json = sql`${JSON.stringify(ops)}::jsonb`;
  return ops.activity && "ms" in ops.activity && ops.activity.ms === "now"
    ? sql`jsonb_set(${json}, '{activity,ms}', to_jsonb(floor(extract(epoch from now()) * 1000)::bigint))`
    : json;
}

/** A record as written: its id and its ops as stored (to parse). */
export interface WrittenRecord {
  id: number;
  ops: unknown;
}

/** Records a write's invalidation (see {@link recordedOpsSql}); call it inside the write's transaction. */
export async function insertInvalidation(db: Db, keyPrefix: string, ops: { activity?: object }): Promise<WrittenRecord> {
  const [row] = await db
    .insert(cacheInvalidations)
    .values({ keyPrefix, ops: recordedOpsSql(ops) })
    .returning({ id: cacheInvalidations.id, ops: cacheInvalidations.ops });
  return row!;
}

const ofPrefix = (keyPrefix: string) => eq(cacheInvalidations.keyPrefix, keyPrefix);

/** Whether any invalidation of this key space is waiting: the common read of the log, one indexed statement. */
export async function anyPendingInvalidation(db: Db, keyPrefix: string): Promise<boolean> {
  const rows = await db.select({ id: cacheInvalidations.id }).from(cacheInvalidations).where(ofPrefix(keyPrefix)).limit(1);
  return rows.length > 0;
}

/**
 * Invalidations not yet applied, oldest first, locked (FOR UPDATE) for the caller's
 * transaction: whoever holds a row applies it and deletes it; anyone else waits for that
 * transaction, and then finds the row gone (applied) or back (the application failed).
 */
export function lockPendingInvalidations(tx: Db, keyPrefix: string, limit: number): Promise<{ id: number; ops: unknown }[]> {
  return tx
    .select({ id: cacheInvalidations.id, ops: cacheInvalidations.ops })
    .from(cacheInvalidations)
    .where(ofPrefix(keyPrefix))
    .orderBy(asc(cacheInvalidations.id))
    .limit(limit)
    .for("update");
}

/** Deletes rows (in the transaction that applies them, so a failed application leaves them); how many were there. */
export async function deleteInvalidations(tx: Db, keyPrefix: string, ids: number[]): Promise<number> {
  if (ids.length === 0) return 0;
  const gone = await tx
    .delete(cacheInvalidations)
    .where(and(ofPrefix(keyPrefix), inArray(cacheInvalidations.id, ids)))
    .returning({ id: cacheInvalidations.id });
  return gone.length;
}
