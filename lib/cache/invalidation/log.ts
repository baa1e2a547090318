import { setTimeout as sleep } from "node:timers/promises";
import { ExponentialBackoff, handleAll, retry } from "cockatiel";
import type { Db } from "../../db/client";
import { sql } from "drizzle-orm";
import { anyPendingInvalidation, deleteInvalidations, insertInvalidation, lockPendingInvalidations, type WrittenRecord } from "../../db/queries/invalidations";
import type { GuardedStore } from "../guarded-store";
import { CacheUnavailableError, withDeadline } from "../guarded-store";
import { DEFAULT_POLL_MS, type Lease } from "./lease";
import { recordTiming } from "../../observability/server-timing";
import { invalidationOpsSchema, type ApplyOps, type InvalidationOps, type RecordedOps } from "./ops";
import type { RecordSpec, WriteInvalidations } from "./write";

/*
 * Invalidations that cannot be lost, and acknowledgements that do not lie
 * (README, "The consistency protocol": the invalidation log).
 *
 * A write records what it makes out of date in a row of `cache_invalidations`, in its own
 * transaction: the intent is as durable as the write. After the commit the writer applies
 * it to Redis and deletes the row (the fast path: the 2xx follows at once). A writer that
 * cannot reach Redis, which it cannot tell from Redis being down for everyone, leaves the
 * row and waits until `leaseMs` (plus a margin) has passed since its commit before it
 * answers. Meanwhile every process reads the log every `pollMs`, applies what it finds
 * and deletes it, and trusts its cache only for `leaseMs` after the start of its last read
 * that found everything applied (./lease.ts). So once a client holds the 2xx, every
 * process has either read the log after the commit and applied the row, or stopped
 * reading the cache: no reader anywhere is served the value from before the write. The
 * row also outlives the writer's death: any process applies it.
 */

/** The most a read of the log waits while this process is too busy to judge its deadline. */
const POLL_MAX_BUSY_WAIT_MS = 5_000;
/** The writer's wait beyond the lease, for the processes' clocks and a poll in flight. */
const LEASE_MARGIN_MS = 100;
/** Rows applied per transaction; a longer backlog is read again at once. */
const BATCH = 500;

/** Options of an {@link InvalidationLog}. */
export interface InvalidationLogOptions {
  /** The primary, on a connection of the log's own, so a busy request pool never delays a read of the log (writers settle on theirs). */
  db: Db;
  /** REDIS_KEY_PREFIX: this deployment's rows. */
  keyPrefix: string;
  guarded: GuardedStore;
  apply: ApplyOps;
  lease: Lease;
  /** Between reads of the log, in ms. Default 200. */
  pollMs?: number;
  /** Deadline of one read of the log, in ms. Default the lease's length. */
  pollTimeoutMs?: number;
  onApplied?: (path: "direct" | "log" | "waited", rows: number) => void;
  /** The cache became trusted or stopped being trusted (lease gained or lost). */
  onTrustChange?: (trusted: boolean, cause?: unknown) => void;
  onError?: (error: unknown, context: { op: string }) => void;
}

export class InvalidationLog implements WriteInvalidations {
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<boolean> | undefined;
  private stopped = false;
  private trusted = false;
  private readonly pollMs: number;
  private readonly retryPolicy = retry(handleAll, { maxAttempts: 2, backoff: new ExponentialBackoff({ initialDelay: 25, maxDelay: 100 }) });

  constructor(private readonly options: InvalidationLogOptions) {
    this.pollMs = options.pollMs ?? DEFAULT_POLL_MS;
  }

  /** See {@link WriteInvalidations.commit}: `work` and the log row in one transaction, then {@link settle}. */
  async commit<T>(db: Db, work: (tx: Db) => Promise<T>, ops: RecordedOps | ((result: T) => RecordedOps)): Promise<T> {
    const { keyPrefix } = this.options;
    let record: WrittenRecord | undefined;
    const started = performance.now();
    const result = await db.transaction(async (t) => {
      const tx = t as unknown as Db;
      if (typeof ops !== "function") {
        // Known up front: the record is sent first, the work's statements behind it, one round trip.
        const [written, done] = await Promise.all([insertInvalidation(tx, keyPrefix, ops), work(tx)]);
        record = written;
        return done;
      }
      const done = await work(tx);
      record = await insertInvalidation(tx, keyPrefix, ops(done));
      return done;
    });
    await this.afterCommit(db, record!, started);
    return result;
  }

  /** See {@link WriteInvalidations.commitStatement}: the statement writes the log row, then {@link settle}. */
  async commitStatement<T>(db: Db, ops: RecordedOps, statement: (record: RecordSpec) => Promise<{ result: T; record?: WrittenRecord }>): Promise<T> {
    const started = performance.now();
    const { result, record } = await statement({ keyPrefix: this.options.keyPrefix, ops });
    if (!record) throw new Error("the write's statement returned no record");
    await this.afterCommit(db, record, started);
    return result;
  }

  /** {@link settle}s a committed record; both phases' times go to Server-Timing (`tx`, `invalidate`). */
  private async afterCommit(db: Db, record: WrittenRecord, started: number): Promise<void> {
    const committedAt = performance.now();
    recordTiming("tx", committedAt - started, "write transaction");
    // The ops this write just stored, read back for the database's stamp: not parsed again.
    const how = await this.settle(db, record.id, record.ops as InvalidationOps, committedAt);
    recordTiming("invalidate", performance.now() - committedAt, how);
  }

  /**
   * After the commit of row `id`: applies its ops, or, when Redis cannot take them, waits
   * until every process has read the log since `committedAt` or stopped trusting its cache.
   * Resolves when the write may be acknowledged; never rejects.
   *
   * The row is deleted in a transaction around the application (on the writer's `db`): a
   * process reading the log meanwhile waits for it (its FOR UPDATE), then finds the row gone,
   * so one write is applied once, not once per process; a failed application rolls the
   * delete back.
   */
  async settle(db: Db, id: number, ops: InvalidationOps, committedAt: number): Promise<"applied" | "waited"> {
    const { guarded, apply, lease } = this.options;
    try {
      await db.transaction(async (t) => {
        // 0 rows: a reader of the log holds it and applies it (or has): nothing left to do.
        if ((await deleteInvalidations(t as unknown as Db, this.options.keyPrefix, [id])) === 0) return;
        await this.retryPolicy.execute(() => {
          // An open circuit will not close within a retry's backoff: go to the wait at once.
          if (!guarded.available) throw new CacheUnavailableError("circuit open");
          return apply([ops]);
        });
      });
      this.options.onApplied?.("direct", 1);
      return "applied";
    } catch (error) {
      if (!(error instanceof CacheUnavailableError)) this.options.onError?.(error, { op: "apply" });
      const wait = committedAt + lease.leaseMs + LEASE_MARGIN_MS - performance.now();
      if (wait > 0) await sleep(wait);
      this.options.onApplied?.("waited", 1);
      return "waited";
    }
  }

  /** Starts reading the log: now, then every `pollMs`. */
  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  /** Stops reading the log; the cache is no longer trusted. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.polling;
    this.options.lease.revoke();
  }

  /**
   * A read of the log that begins after this call, applied (true when more rows wait); one
   * at a time. The timer uses it, and tests that step the log by hand.
   */
  async pollOnce(): Promise<boolean> {
    while (this.polling) await this.polling.catch(() => {});
    const running = (this.polling = this.poll().finally(() => (this.polling = undefined)));
    return running;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.pollOnce().then((more) => this.schedule(more ? 0 : this.pollMs));
    }, delayMs);
    this.timer.unref();
  }

  private async poll(): Promise<boolean> {
    const { db, lease, keyPrefix } = this.options;
    const startedAt = performance.now();
    try {
      const found = await withDeadline(
        // The common case is an empty log: one indexed statement. A row a writer is applying
        // right now is still visible to it (its delete is not committed): then the locking
        // read below waits for that writer, and finds the row gone.
        anyPendingInvalidation(db, keyPrefix).then((any) => (any ? this.applyPending() : 0)),
        this.options.pollTimeoutMs ?? lease.leaseMs,
        // A process too busy to see the answer in time is not Postgres failing (see
        // withDeadline): its readers wait for this read rather than all going to Postgres.
        POLL_MAX_BUSY_WAIT_MS,
      );
      // Everything committed before this read began is applied (by this process or by the
      // transaction it waited for): the cache may be trusted for another lease.
      lease.renew(startedAt);
      this.setTrusted(true);
      // A read that ended too late to renew the lease (the process was busy): read again now.
      return found === BATCH || !lease.valid;
    } catch (error) {
      lease.fail();
      if (!lease.valid) this.setTrusted(false, error);
      return false;
    }
  }

  /** Locks the waiting rows, applies them, deletes them: one transaction. Returns how many there were. */
  private applyPending(): Promise<number> {
    const { db, guarded, apply, keyPrefix } = this.options;
    return db.transaction(async (t) => {
      const tx = t as unknown as Db;
      // A writer applying its own row holds it for a few milliseconds at most; a hung one must not hang the log.
      await tx.execute(sql`set local lock_timeout = '2s'`);
      const rows = await lockPendingInvalidations(tx, keyPrefix, BATCH);
      const ops: InvalidationOps[] = [];
      for (const row of rows) {
        const parsed = invalidationOpsSchema.safeParse(row.ops);
        // A row no version of Lobby could apply would block every lease: drop it, loudly.
        if (parsed.success) ops.push(parsed.data);
        else this.options.onError?.(new Error(`malformed invalidation row ${row.id}`), { op: "parse" });
      }
      if (ops.length) {
        if (!guarded.available) throw new CacheUnavailableError("circuit open");
        await apply(ops);
        this.options.onApplied?.("log", ops.length);
      }
      await deleteInvalidations(tx, keyPrefix, rows.map((r) => r.id));
      return rows.length;
    });
  }

  private setTrusted(trusted: boolean, cause?: unknown): void {
    if (trusted === this.trusted) return;
    this.trusted = trusted;
    this.options.onTrustChange?.(trusted, cause);
  }
}
