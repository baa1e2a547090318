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
 */
export class Lease {
  private validUntil = -Infinity;
  private established = false;
  private readonly first: Promise<void>;
  private resolveFirst!: () => void;

  constructor(readonly leaseMs: number) {
    this.first = new Promise((resolve) => (this.resolveFirst = resolve));
  }

  get valid(): boolean {
    return performance.now() < this.validUntil;
  }

  /** A read of the log that began at `startedAt` (performance.now()) found everything applied. */
  renew(startedAt: number): void {
    this.validUntil = Math.max(this.validUntil, startedAt + this.leaseMs);
    if (!this.established) {
      this.established = true;
      this.resolveFirst();
    }
  }

  /** Ends the lease now (the process is closing, or a test forces it). */
  revoke(): void {
    this.validUntil = -Infinity;
  }

  /**
   * Resolves once the first read of the log has succeeded, or after `maxWaitMs`: a process
   * that just started trusts nothing before it has applied what the log holds.
   */
  async ready(maxWaitMs: number): Promise<void> {
    if (this.established) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.first, new Promise<void>((resolve) => (timer = setTimeout(resolve, maxWaitMs).unref()))]);
    clearTimeout(timer);
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
