import type { Db } from "../../db/client";
import type { WrittenRecord } from "../../db/queries/invalidations";
import type { RecordedOps } from "./ops";

/** What a one-statement write writes as its record (lib/db/queries/invalidations.ts): null when nothing is recorded (the cache is off). */
export type RecordSpec = { keyPrefix: string; ops: RecordedOps } | null;

/**
 * How a write service commits: `work` in a transaction that also records what the write
 * makes out of date; resolved once the write may be acknowledged (its invalidation applied,
 * or every process's lease on the cache outlived: ./log.ts).
 *
 * `ops` known before the work (an object, not a function of its result) are recorded in the
 * same round trip as the work's first statements: a send is then BEGIN, one pipelined
 * round trip, COMMIT.
 *
 * The row lock a write takes (a room's conversation version) is held until the commit:
 * every round trip after it holds it one more round trip and one more turn of a busy event
 * loop. 20 messages a second into one room queued behind that lock (the fan-out bench).
 */
export interface WriteInvalidations {
  commit<T>(db: Db, work: (tx: Db) => Promise<T>, ops: RecordedOps | ((result: T) => RecordedOps)): Promise<T>;
  /**
   * A write that is one statement on `db`, committed on its own, which writes its record
   * itself from `record` (a send: lib/db/queries/messages.ts); then what follows a commit.
   * The statement resolves to its result and the record it wrote.
   */
  commitStatement<T>(db: Db, ops: RecordedOps, statement: (record: RecordSpec) => Promise<{ result: T; record?: WrittenRecord }>): Promise<T>;
}

/** The cache is off: a plain transaction, nothing to invalidate. */
export const noInvalidations: WriteInvalidations = {
  commit: <T>(db: Db, work: (tx: Db) => Promise<T>) => db.transaction((t) => work(t as unknown as Db)),
  commitStatement: async (_db, _ops, statement) => (await statement(null)).result,
};
