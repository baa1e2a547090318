import type postgres from "postgres";
import type { Db } from "../client";
import type { PrimaryLsn } from "./primary-lsn";
import { ReadError, type Replica } from "./replica";

/** Where a routed read ran, and why there. */
export type ReadRoute =
  | { target: "replica"; reason: "fenced" | "unfenced" }
  | { target: "primary"; reason: "no_replica" | "no_position" | "behind" | "busy" | "fault" };

/**
 * Reads that may fill a cache (room list, a room, message pages, stats, search). Each one
 * sees every write acknowledged before it began, wherever it runs; `read` runs statements
 * only, never writes (a read inside a write uses the write's transaction instead).
 */
export interface DbReads {
  read<T>(fn: (db: Db, sql: postgres.Sql) => Promise<T>): Promise<T>;
}

/** Every read on the primary: no replicas configured, or a process that must not use them. */
export function primaryReads(primary: { db: Db; sql: postgres.Sql }): DbReads {
  return { read: (fn) => fn(primary.db, primary.sql) };
}

/** Options of {@link ReadRouter}. */
export interface ReadRouterOptions {
  primary: { db: Db; sql: postgres.Sql };
  /** In the order tried (round robin over those in rotation). */
  replicas: Replica[];
  /** The primary's position, single-flight (./primary-lsn.ts). */
  lsn: PrimaryLsn;
  /**
   * Tests only: read on a replica without the fence, so a test can show the stale fill
   * the fence prevents.
   */
  unsafeDisableFence?: boolean;
  /** Called once per read with where it ran (metrics). */
  onRoute?: (route: ReadRoute) => void;
  /** A replica fault (error, deadline, lag); the read went to the primary. */
  onFault?: (replica: string, error: unknown) => void;
}

/**
 * Sends reads to a read replica when it can prove the replica has every write a reader
 * must see, else to the primary. The proof (the fence), for a read R:
 *
 * 1. R takes the primary's WAL position P from a statement sent after R began. A write
 *    acknowledged before R began had committed before that statement ran: its commit
 *    record ends at or before P (./primary-lsn.ts says which position, and why).
 * 2. On one replica connection, a first statement checks `pg_last_wal_replay_lsn() >= P`.
 *    Only if it holds does R run, in later statements of that connection. Under READ
 *    COMMITTED each statement takes its snapshot when it starts, after the check answered,
 *    and replay on a standby only moves forward (a replica that restarts drops the
 *    connection). So R's snapshot holds every transaction committed at or before P.
 *
 * The check has to be a statement of its own: a check inside the read's statement runs
 * after that statement's snapshot was taken, which may predate the position it checks.
 * A replica that is behind, errs or misses its deadline sends R to the primary: R costs
 * time, never a failure. Cost of a fenced read: the shared position query on the primary
 * (one in flight per process) and one more statement on the replica.
 */
export class ReadRouter implements DbReads {
  private turn = 0;

  constructor(private readonly options: ReadRouterOptions) {}

  async read<T>(fn: (db: Db, sql: postgres.Sql) => Promise<T>): Promise<T> {
    const replica = this.pick();
    if (!replica) return this.onPrimary(fn, "no_replica");
    let lsn: string | null = null;
    if (!this.options.unsafeDisableFence) {
      try {
        lsn = await this.options.lsn.current();
      } catch {
        // No position, no proof: the primary answers (or fails, as it would without replicas).
        return this.onPrimary(fn, "no_position");
      }
    }
    let outcome;
    try {
      outcome = await replica.run(lsn, fn);
    } catch (error) {
      if (error instanceof ReadError) throw error.error;
      this.options.onFault?.(replica.name, error);
      return this.onPrimary(fn, "fault");
    }
    if (!outcome.served) return this.onPrimary(fn, outcome.reason);
    this.options.onRoute?.({ target: "replica", reason: lsn === null ? "unfenced" : "fenced" });
    return outcome.value;
  }

  private onPrimary<T>(fn: (db: Db, sql: postgres.Sql) => Promise<T>, reason: Extract<ReadRoute, { target: "primary" }>["reason"]): Promise<T> {
    this.options.onRoute?.({ target: "primary", reason });
    return fn(this.options.primary.db, this.options.primary.sql);
  }

  /** The next replica in rotation, round robin; undefined when none is. */
  private pick(): Replica | undefined {
    const { replicas } = this.options;
    for (let i = 0; i < replicas.length; i++) {
      const replica = replicas[(this.turn + i) % replicas.length]!;
      if (replica.available) {
        this.turn = (this.turn + i + 1) % replicas.length;
        return replica;
      }
    }
    return undefined;
  }
}
