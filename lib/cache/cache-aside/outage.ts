import { recordTiming } from "../../observability/server-timing";
import { FreshReads } from "../fresh-reads";
import { CacheUnavailableError, withDeadline } from "../guarded-store";
import type { DecodedMemo } from "./decoded-memo";
import type { CacheAsideOptions, ReadResult, ReadSpec } from "./types";

/**
 * The reads that go to Postgres without populating (cache disabled, Redis down or not
 * trusted, the single-flight wait ran out), and the last-known-good copy served when
 * Postgres fails too.
 */
export class OutageReads {
  /** Postgres reads shared by concurrent readers while Redis is unavailable. */
  private readonly directLoads = new FreshReads();

  constructor(
    private readonly options: CacheAsideOptions,
    private readonly memo: DecodedMemo,
  ) {}

  /** Redis failed for this read: count it, then read Postgres (coalesced). */
  async onCacheDown<T>(spec: ReadSpec<T>, error: unknown, started: number): Promise<ReadResult<T>> {
    this.options.metrics.cacheRequests.inc({ cache: spec.cache, outcome: "error" });
    recordTiming("cache", performance.now() - started, "error");
    if (!(error instanceof CacheUnavailableError)) this.options.onError?.(error, { op: "read", key: spec.key });
    return this.loadCoalesced(spec);
  }

  /**
   * Redis unavailable: concurrent readers of a key in this process share Postgres reads
   * that began after they arrived (see FreshReads), so an outage, or a burst that outruns
   * Redis and opens the breaker, costs Postgres about one query per key per query time,
   * not one per request.
   */
  loadCoalesced<T>(spec: ReadSpec<T>): Promise<ReadResult<T>> {
    return this.directLoads.read(spec.key, () => this.loadDirect(spec));
  }

  /**
   * Postgres without populating: cache disabled, down, or the single-flight wait ran out.
   * If Postgres fails too, a saved copy is still worth trying (Redis may only have been slow).
   */
  async loadDirect<T>(spec: ReadSpec<T>): Promise<ReadResult<T>> {
    try {
      const { data, version } = await this.timedLoad(spec);
      return { data, version, source: "db" };
    } catch (error) {
      return this.staleOrThrow(spec, error);
    }
  }

  /** The spec's Postgres read under the load deadline, timed for Server-Timing. */
  async timedLoad<T>(spec: ReadSpec<T>): Promise<{ data: T; version: number }> {
    const started = performance.now();
    try {
      return await withDeadline(spec.load(), this.options.loadTimeoutMs ?? 3_000);
    } finally {
      recordTiming("db", performance.now() - started);
    }
  }

  /** Postgres failed: serve the last-known-good copy, marked stale, rather than an error. */
  async staleOrThrow<T>(spec: ReadSpec<T>, error: unknown): Promise<ReadResult<T>> {
    const guarded = this.options.guarded;
    const raw = guarded
      ? await guarded.read((s) => s.get(this.options.keys.stale(spec.key))).catch(() => null)
      : null;
    const stale = raw ? this.memo.decode(spec, raw) : undefined;
    if (!stale) throw error;
    this.options.metrics.cacheRequests.inc({ cache: spec.cache, outcome: "stale" });
    return { ...stale, source: "stale" };
  }
}
