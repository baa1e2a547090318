import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { z } from "zod";
import { CacheUnavailableError, withDeadline, type GuardedStore } from "../cache/guarded-store";
import { freshEpoch } from "../cache/epoch-counter";
import { GEN_TTL_SECONDS, LOCK_TTL_MS, type Keys, type Ttls } from "../cache/keys";
import { RELEASE } from "../cache/protocol";
import type { DbReads } from "../db/replicas/read-router";
import { computeStats, type Stats } from "../db/queries/stats";
import type { Metrics } from "../observability/metrics";
import { recordTiming } from "../observability/server-timing";
import { MARK_STALE, SWR_READ, SWR_SET, encodeSwr } from "./swr-scripts";

export type { Stats };

const count = z.number().int().nonnegative();
const envelopeSchema = z.object({
  v: z.string(),
  t: z.number(),
  data: z.object({
    rooms: count,
    messages: count,
    activeRooms24h: count,
    messagesToday: count,
    computedAt: z.iso.datetime({ offset: true }).transform((s) => new Date(s)),
  }),
});

export interface StatsResult {
  stats: Stats;
  /** `cache`: from Redis; `db`: computed for this read (cold miss, cache off or down). */
  source: "cache" | "db";
  /** False when the value served is marked stale (a write since, or past its freshness) and a refresh is under way. */
  fresh: boolean;
}

export interface StatsHooks {
  /** Runs before every Postgres computation: tests slow it down or count it. */
  beforeLoad?: () => Promise<void> | void;
  /** Runs between a refresh's Postgres read and its cache set: tests pause here to force races. */
  afterLoad?: () => Promise<void> | void;
}

/** Options of {@link StatsService}. */
export interface StatsServiceDeps {
  /** Where the computation reads: the primary, or a replica behind the fence (lib/db/replicas). */
  reads: DbReads;
  /** null when the cache is disabled: every read computes from Postgres. */
  guarded: GuardedStore | null;
  keys: Keys;
  ttls: Ttls;
  metrics: Metrics;
  hooks?: StatsHooks;
  /** How long a cold reader waits for another caller's computation before its own. Default 3000 ms. */
  waitForLoaderMs?: number;
  /** Deadline of one computation. Default 3000 ms (a hung Postgres yields an error, not a hung page). */
  loadTimeoutMs?: number;
  onError?: (error: unknown, context: { op: string }) => void;
  /**
   * Called after a background refresh stored new numbers: a page cached with the older
   * ones (rendered while they were being refreshed) can be regenerated. Never awaited by readers.
   */
  onRefreshed?: () => Promise<unknown> | void;
}

/**
 * The global stats (`stats:global`), stale-while-revalidate: a read returns the cached
 * value at once; when it is past its freshness (`ttls.stats`) or a write has marked it
 * stale, exactly one caller across instances (the Redis lock) recomputes it in the
 * background. Only a cold miss waits for Postgres. Writes mark through
 * {@link StatsService.markStale}; the scripts' guard is described in ./swr-scripts.ts.
 */
export class StatsService {
  private readonly refreshes = new Set<Promise<void>>();
  private cold: Promise<StatsResult> | null = null;

  constructor(private readonly deps: StatsServiceDeps) {}

  async read(): Promise<StatsResult> {
    return this.readOnce(true);
  }

  private async readOnce(retryCorrupt: boolean): Promise<StatsResult> {
    const { guarded, keys, metrics, ttls } = this.deps;
    if (!guarded) {
      metrics.cacheRequests.inc({ cache: "stats", outcome: "bypass" });
      return { stats: await this.load(), source: "db", fresh: true };
    }
    const started = performance.now();
    const token = randomUUID();
    let reply: [number, string, string?, number?];
    try {
      reply = (await guarded.readTrusted((s) =>
        s.eval(SWR_READ, [keys.stats, keys.gen(keys.stats), keys.lock(keys.stats)], [token, LOCK_TTL_MS, Date.now(), ttls.stats * 1000, freshEpoch(), GEN_TTL_SECONDS]),
      )) as typeof reply;
    } catch (error) {
      metrics.cacheRequests.inc({ cache: "stats", outcome: "error" });
      recordTiming("cache", performance.now() - started, "error");
      if (!(error instanceof CacheUnavailableError)) this.deps.onError?.(error, { op: "read" });
      return { stats: await this.load(), source: "db", fresh: true };
    }
    metrics.cacheLatency.observe({ cache: "stats" }, (performance.now() - started) / 1000);
    const [kind, raw, generation = "", locked = 0] = reply;
    const cached = raw ? this.decode(raw) : undefined;
    if (kind === 0 && cached) {
      metrics.cacheRequests.inc({ cache: "stats", outcome: "hit" });
      recordTiming("cache", performance.now() - started, "hit");
      return { stats: cached.data, source: "cache", fresh: true };
    }
    if (kind === 1 && cached) {
      metrics.cacheRequests.inc({ cache: "stats", outcome: "stale" });
      recordTiming("cache", performance.now() - started, "stale");
      if (locked === 1) this.refreshInBackground(token, generation);
      return { stats: cached.data, source: "cache", fresh: false };
    }
    metrics.cacheRequests.inc({ cache: "stats", outcome: raw ? "corrupt" : "miss" });
    recordTiming("cache", performance.now() - started, "miss");
    if (kind === 0 && retryCorrupt) {
      // Looks current to the script but fails validation (e.g. an older shape): mark it
      // stale, so this read (or a concurrent one) takes the lock and replaces it.
      this.deps.onError?.(new Error("corrupt cache value"), { op: "decode" });
      await this.markStale().catch(() => {});
      return this.readOnce(false);
    }
    if (locked === 1) return { stats: (await this.loadAndStore(token, generation)).stats, source: "db", fresh: true };
    return this.waitForValue();
  }

  /** Resolves when this process's background refreshes have finished (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.refreshes.size) await Promise.all([...this.refreshes]);
  }

  /**
   * Marks the stats stale: every value computed before now is refreshed by its next read.
   * Rejects when Redis cannot take it: a write's mark goes through the invalidation log
   * (lib/cache/invalidation), which keeps it until it is applied.
   */
  async markStale(): Promise<void> {
    const { guarded, keys } = this.deps;
    if (!guarded) return;
    await guarded.write((s) => s.eval(MARK_STALE, [keys.gen(keys.stats)], [GEN_TTL_SECONDS, freshEpoch()]));
  }

  private refreshInBackground(token: string, generation: string): void {
    const run = this.loadAndStore(token, generation).then(
      async (stored) => {
        if (stored.set) await this.deps.onRefreshed?.();
      },
      (error: unknown) => this.deps.onError?.(error, { op: "refresh" }),
    );
    this.refreshes.add(run);
    void run.finally(() => this.refreshes.delete(run));
  }

  /** Computes and stores; the lock holder's path. Releases the lock if Postgres fails. */
  private async loadAndStore(token: string, generation: string): Promise<{ stats: Stats; set: boolean }> {
    const { guarded, keys, ttls } = this.deps;
    const lockKeys = [keys.stats, keys.gen(keys.stats), keys.lock(keys.stats)];
    let stats: Stats;
    try {
      stats = await this.load();
    } catch (error) {
      await guarded?.write((s) => s.eval(RELEASE, [keys.lock(keys.stats)], [token])).catch(() => {});
      throw error;
    }
    await this.deps.hooks?.afterLoad?.();
    const at = Date.now();
    let set = false;
    try {
      const reply = await guarded?.write((s) =>
        s.eval(SWR_SET, lockKeys, [token, encodeSwr(generation, at, stats), generation, at, ttls.stale, GEN_TTL_SECONDS, freshEpoch()]),
      );
      set = Number(reply) === 1;
    } catch (error) {
      if (!(error instanceof CacheUnavailableError)) this.deps.onError?.(error, { op: "populate" });
    }
    return { stats, set };
  }

  /**
   * A cold miss while another caller computes: in this process, join its computation;
   * else poll Redis for its value until the deadline, then compute without storing.
   */
  private async waitForValue(): Promise<StatsResult> {
    if (this.cold) return this.cold;
    const polling = this.poll().finally(() => {
      if (this.cold === polling) this.cold = null;
    });
    this.cold = polling;
    return polling;
  }

  private async poll(): Promise<StatsResult> {
    const { guarded, keys, metrics } = this.deps;
    const deadline = performance.now() + (this.deps.waitForLoaderMs ?? 3_000);
    let delay = 5;
    while (performance.now() + delay < deadline) {
      await sleep(delay);
      delay = Math.min(delay * 2, 40);
      const raw = await guarded?.readTrusted((s) => s.get(keys.stats)).catch(() => null);
      const cached = raw ? this.decode(raw) : undefined;
      if (cached) {
        metrics.singleFlightWaits.inc({ cache: "stats", outcome: "served" });
        return { stats: cached.data, source: "cache", fresh: true };
      }
    }
    metrics.singleFlightWaits.inc({ cache: "stats", outcome: "timeout" });
    return { stats: await this.load(), source: "db", fresh: true };
  }

  private async load(): Promise<Stats> {
    const started = performance.now();
    try {
      await this.deps.hooks?.beforeLoad?.();
      return await withDeadline(this.deps.reads.read((db) => computeStats(db)), this.deps.loadTimeoutMs ?? 3_000);
    } finally {
      recordTiming("db", performance.now() - started);
    }
  }

  private decode(raw: string): { data: Stats; v: string } | undefined {
    try {
      const parsed = envelopeSchema.safeParse(JSON.parse(raw));
      return parsed.success ? { data: parsed.data.data, v: parsed.data.v } : undefined;
    } catch {
      return undefined;
    }
  }
}
