/**
 * A lease's length: the longest a write waits, after its commit, when it cannot reach Redis
 * itself. Five reads of the log (every 200 ms) fit in it, so a slow one does not end it.
 */
export const DEFAULT_LEASE_MS = 1_000;
/** Between reads of the log. */
export const DEFAULT_POLL_MS = 200;

/**
 * How long this process may trust the cache: until `leaseMs` after the start of its last
 * successful read of the invalidation log (every row found applied). A writer that could
 * not apply its own invalidation acknowledges only `leaseMs` (plus a margin) after its
 * commit, so by then every process has either read the log after that commit (and applied
 * the row) or stopped trusting the cache. Monotonic clocks, never wall time.
 *
 * A lease can lapse without anything failing: a process busy for longer than a lease (a
 * cold instance answering a burst of 250 requests) reads the log late. Its readers then
 * wait for the next read rather than all going to Postgres ({@link whenValid}); when a read
 * of the log has failed (Postgres or Redis out of reach), they go at once.
 */
export class Lease {
  private validUntil = -Infinity;
  /** The last read of the log failed (rather than ran late): no renewal is on its way. */
  private failing = false;
  private readonly waiters = new Set<() => void>();

  constructor(readonly leaseMs: number) {}

  get valid(): boolean {
    return performance.now() < this.validUntil;
  }

  /** A read of the log that began at `startedAt` (performance.now()) found everything applied. */
  renew(startedAt: number): void {
    this.validUntil = Math.max(this.validUntil, startedAt + this.leaseMs);
    this.failing = false;
    if (this.valid) this.wake();
  }

  /** A read of the log failed: readers waiting for a renewal stop waiting. */
  fail(): void {
    this.failing = true;
    this.wake();
  }

  /** Ends the lease now (the process is closing, or a test forces it). */
  revoke(): void {
    this.validUntil = -Infinity;
    this.wake();
  }

  /**
   * Resolves once the lease is valid, at once if the last read of the log failed, or after
   * `maxWaitMs`: a process that just started, or whose lease lapsed while it was busy,
   * trusts nothing before it has applied what the log holds, and waiting for that read
   * is cheaper than sending every reader to Postgres.
   */
  async whenValid(maxWaitMs: number): Promise<void> {
    if (this.valid || this.failing) return;
    let done!: () => void;
    const woken = new Promise<void>((resolve) => (done = resolve));
    this.waiters.add(done);
    const timer = setTimeout(done, maxWaitMs);
    timer.unref();
    await woken;
    clearTimeout(timer);
    this.waiters.delete(done);
  }

  private wake(): void {
    for (const done of this.waiters) done();
    this.waiters.clear();
  }
}

const g = globalThis as unknown as { __lobbyLease?: Lease };

/**
 * The lease of this process: the web server's runtime renews it, and the page cache's
 * handler (a bundle of its own, loaded by Next) reads it, so both trust the cache together.
 */
export function processLease(): Lease {
  g.__lobbyLease ??= new Lease(DEFAULT_LEASE_MS);
  return g.__lobbyLease;
}
