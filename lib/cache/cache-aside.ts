import type { GuardedStore } from "./guarded-store";
import { recordTiming } from "../observability/server-timing";
import { GET_WITH_SET } from "./protocol";
import { DecodedMemo } from "./cache-aside/decoded-memo";
import { Filler } from "./cache-aside/fill";
import { invalidateKeys } from "./cache-aside/invalidate";
import { OutageReads } from "./cache-aside/outage";
import type { CacheAsideOptions, LoadOutcome, ReadResult, ReadSpec, SortedSetRead } from "./cache-aside/types";

export type {
  CacheAsideHooks,
  CacheAsideOptions,
  ReadResult,
  ReadSpec,
  SortedSetRead,
  Source,
} from "./cache-aside/types";

/*
 * The read path over the protocol of ./protocol.ts, in four parts:
 *   - read (this file): a hit, a miss shared within this process, a corrupt value dropped;
 *   - fill (./cache-aside/fill.ts): single flight across instances and the guarded populate;
 *   - outage (./cache-aside/outage.ts): Postgres when Redis is down or not trusted, and the
 *     saved copy when Postgres is down too;
 *   - invalidate (./cache-aside/invalidate.ts): the INVALIDATE that the invalidation log
 *     (./invalidation/log.ts) applies for every write.
 */
export class CacheAside {
  private readonly inflight = new Map<string, Promise<LoadOutcome<unknown>>>();
  private readonly memo = new DecodedMemo();
  private readonly outage: OutageReads;
  private readonly filler: Filler;

  constructor(private readonly options: CacheAsideOptions) {
    this.outage = new OutageReads(options, this.memo);
    this.filler = new Filler(options, this.memo, this.outage, (spec) => this.dropCorrupt(spec));
  }

  get enabled(): boolean {
    return this.options.guarded !== null;
  }

  async read<T>(spec: ReadSpec<T>): Promise<ReadResult<T>> {
    const result = await this.readFrom(spec);
    // Once per read, where its answer came from: the dashboard's cache-vs-Postgres chart.
    this.options.metrics.cacheServed.inc({ cache: spec.cache, source: result.source });
    return result;
  }

  /** See ./cache-aside/invalidate.ts. */
  invalidate(keysToDrop: string[]): Promise<void> {
    return invalidateKeys(this.options.guarded, this.options.keys, keysToDrop);
  }

  private async readFrom<T>(spec: ReadSpec<T>): Promise<ReadResult<T>> {
    const { guarded, metrics } = this.options;
    if (!guarded) {
      metrics.cacheRequests.inc({ cache: spec.cache, outcome: "bypass" });
      return this.outage.loadDirect(spec);
    }
    const started = performance.now();
    try {
      const { raw, hit } = spec.alongside ? await this.getWithSet(spec, guarded) : await this.get(spec, guarded);
      metrics.cacheLatency.observe({ cache: spec.cache }, (performance.now() - started) / 1000);
      if (hit) {
        metrics.cacheRequests.inc({ cache: spec.cache, outcome: "hit" });
        recordTiming("cache", performance.now() - started, "hit");
        return hit;
      }
      if (raw !== null) await this.dropCorrupt(spec);
    } catch (error) {
      return this.outage.onCacheDown(spec, error, started);
    }
    metrics.cacheRequests.inc({ cache: spec.cache, outcome: "miss" });
    recordTiming("cache", performance.now() - started, "miss");
    return this.readMiss(spec);
  }

  private async get<T>(spec: ReadSpec<T>, guarded: GuardedStore): Promise<{ raw: string | null; hit?: ReadResult<T> }> {
    const raw = await guarded.readTrusted((s) => s.get(spec.key));
    return { raw, hit: raw === null ? undefined : this.memo.decode(spec, raw) };
  }

  /**
   * The key and its `alongside` sorted set in one script (one round trip), sent only where
   * they differ from what this process holds: the key's last decoded value (by envelope
   * tag) and the caller's copy of the set (by signature). A hot read then moves a few bytes.
   */
  private async getWithSet<T>(spec: ReadSpec<T>, guarded: GuardedStore): Promise<{ raw: string | null; hit?: ReadResult<T> }> {
    const { key, knownSignature } = spec.alongside!;
    const held = this.memo.held(spec);
    const [state, value, signature, flat] = (await guarded.readTrusted((s) =>
      s.eval(GET_WITH_SET, [spec.key, key], [held?.tag ?? "", knownSignature ?? ""]),
    )) as [number, string, string, string[] | undefined];
    if (state === 0) return { raw: null };
    const alongside: SortedSetRead = flat ? { signature, flat } : { signature };
    const hit = state === 1 && held ? held.result : this.memo.decode(spec, value);
    return { raw: value, hit: hit && { ...hit, alongside } };
  }

  /**
   * Concurrent misses in this process share one load. A caller that joined accepts the
   * shared value when it is known to be current for it: the guarded populate succeeded (no
   * write was acknowledged between the generation read and the set), or the Postgres read
   * began after the caller joined (so after any write it could have seen acknowledged).
   * Otherwise (a write landed during the load) it reads again.
   */
  private async readMiss<T>(spec: ReadSpec<T>): Promise<ReadResult<T>> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const running = this.inflight.get(spec.key) as Promise<LoadOutcome<T>> | undefined;
      if (!running) break;
      const joinedAt = performance.now();
      const outcome = await running.catch(() => undefined);
      if (outcome?.published) return { ...outcome.result, source: "cache" };
      if (outcome && (outcome.loadStartedAt ?? -Infinity) >= joinedAt) return outcome.result;
    }
    const own = this.filler.fill(spec);
    this.inflight.set(spec.key, own);
    try {
      return (await own).result;
    } finally {
      if (this.inflight.get(spec.key) === own) this.inflight.delete(spec.key);
    }
  }

  /** A value that fails to parse or validate is a miss, and is deleted (through the guard, so no load races it). */
  private async dropCorrupt(spec: { cache: string; key: string }): Promise<void> {
    this.options.metrics.cacheRequests.inc({ cache: spec.cache, outcome: "corrupt" });
    this.options.onError?.(new Error("corrupt cache value"), { op: "decode", key: spec.key });
    await this.invalidate([spec.key]);
  }
}
