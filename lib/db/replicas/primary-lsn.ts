import type postgres from "postgres";
import { z } from "zod";

/**
 * The primary's WAL position as one statement, for the fence of a replica read
 * (./read-router.ts). Every transaction whose commit has been acknowledged to its client
 * ends at or before it:
 *
 * - `pg_current_wal_lsn()`, the position written out, covers every commit that waited for
 *   its WAL flush, which is every commit unless `synchronous_commit` is `off`;
 * - with `synchronous_commit = off` a commit is acknowledged once its record is inserted,
 *   possibly before it is written, so the insert position is taken instead. The setting is
 *   read in the reader's own session, which has the writers' configuration (server,
 *   database and role defaults); the app never changes it per session or transaction.
 */
export const PRIMARY_LSN_SQL =
  "select (case when current_setting('synchronous_commit') = 'off' then pg_current_wal_insert_lsn() else pg_current_wal_lsn() end)::text as lsn";

const rowsSchema = z.tuple([z.object({ lsn: z.string().regex(/^[0-9A-F]+\/[0-9A-F]+$/) })]);

/** Reads the primary's WAL position on `sql` (the primary's main pool). */
export async function readPrimaryLsn(sql: postgres.Sql): Promise<string> {
  const rows = await sql.unsafe(PRIMARY_LSN_SQL);
  return rowsSchema.parse(Array.from(rows))[0].lsn;
}

interface Batch {
  promise: Promise<string>;
  resolve(lsn: string): void;
  reject(error: unknown): void;
}

/**
 * The primary's WAL position for fenced reads, one query in flight at a time.
 *
 * A read may use only a position read by a statement **sent after the read began**: a
 * write acknowledged before the read began has committed before that statement ran, so
 * its commit is at or before the answer. An answer from a statement sent earlier may
 * predate such a write, so it is never reused. The reads that arrive while a query is in
 * flight therefore wait for the next one, which all of them share: it is sent when the
 * one in flight returns, after each of them began. So the primary sees at most one of
 * these statements in flight per process, however many reads there are, and a read waits
 * at most two of its round trips.
 */
export class PrimaryLsn {
  /** The next query: not sent yet, so every read that joins it began before it is sent. */
  private next: Batch | null = null;
  private inFlight = false;

  constructor(private readonly query: () => Promise<string>) {}

  /** A WAL position read by a statement sent after this call. */
  current(): Promise<string> {
    const joined = this.next;
    if (joined) return joined.promise;
    let resolve!: (lsn: string) => void;
    let reject!: (error: unknown) => void;
    const promise = new Promise<string>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    this.next = { promise, resolve, reject };
    if (!this.inFlight) this.send();
    return promise;
  }

  private send(): void {
    const batch = this.next;
    if (!batch) return;
    this.next = null;
    this.inFlight = true;
    let sent: Promise<string>;
    try {
      sent = this.query();
    } catch (error) {
      sent = Promise.reject(error);
    }
    sent.then(batch.resolve, batch.reject).finally(() => {
      this.inFlight = false;
      this.send();
    });
  }
}
