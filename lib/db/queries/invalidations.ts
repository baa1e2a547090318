import { and, asc, eq, inArray } from "drizzle-orm";
import type { Db } from "../client";
import { cacheInvalidations } from "../schema";

/** Records a write's invalidation; call it inside the write's transaction. Returns the row's id. */
export async function insertInvalidation(db: Db, keyPrefix: string, ops: unknown): Promise<number> {
  const [row] = await db.insert(cacheInvalidations).values({ keyPrefix, ops }).returning({ id: cacheInvalidations.id });
  return row!.id;
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
