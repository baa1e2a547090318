import type { Db } from "../../db/client";
import type { InvalidationOps } from "./ops";

/**
 * How a write service commits: `work` in a transaction that also records what the write
 * makes out of date; resolved once the write may be acknowledged (its invalidation applied,
 * or every process's lease on the cache outlived: ./log.ts).
 *
 * `last`, when given, runs after the record, as the transaction's last statement, and its
 * result is the write's. It is for the statement that locks a row other writers wait on (a
 * room's conversation version): a row lock is held until the commit, and every statement
 * after it holds it one more round trip and one more turn of a busy event loop. 20
 * messages a second into one room queued behind that lock (the fan-out bench).
 */
export interface WriteInvalidations {
  commit<T, R = T>(db: Db, work: (tx: Db) => Promise<T>, opsOf: (result: T) => InvalidationOps, last?: (tx: Db, done: T) => Promise<R>): Promise<R>;
}

/** The cache is off: a plain transaction, nothing to invalidate. */
export const noInvalidations: WriteInvalidations = {
  commit: <T, R>(db: Db, work: (tx: Db) => Promise<T>, _opsOf: unknown, last?: (tx: Db, done: T) => Promise<R>) =>
    db.transaction(async (t) => {
      const tx = t as unknown as Db;
      const done = await work(tx);
      return (last ? await last(tx, done) : done) as R;
    }),
};
