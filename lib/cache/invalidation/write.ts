import type { Db } from "../../db/client";
import type { InvalidationOps } from "./ops";

/**
 * How a write service commits: `work` in a transaction that also records what the write
 * makes out of date; resolved once the write may be acknowledged (its invalidation applied,
 * or every process's lease on the cache outlived: ./log.ts).
 */
export interface WriteInvalidations {
  commit<T>(db: Db, work: (tx: Db) => Promise<T>, opsOf: (result: T) => InvalidationOps): Promise<T>;
}

/** The cache is off: a plain transaction, nothing to invalidate. */
export const noInvalidations: WriteInvalidations = {
  commit: (db, work) => db.transaction((tx) => work(tx as unknown as Db)),
};
