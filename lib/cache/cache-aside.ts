import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { z } from "zod";
import type { Metrics } from "../observability/metrics";
import { recordTiming } from "../observability/server-timing";
import { FreshReads } from "./fresh-reads";
import { CacheUnavailableError, withDeadline, type GuardedStore } from "./guarded-store";
import { GEN_TTL_SECONDS, LOCK_TTL_MS, type Keys } from "./keys";
import {
  GET_OR_LOCK,
  GET_WITH_SET,
  INVALIDATE,
  POPULATE,
  RELEASE,
  decodeEnvelope,
  encodeEnvelope,
  envelopeTag,
  invalidateCall,
} from "./protocol";

/*
 * The read path over the protocol of ./protocol.ts: single flight across instances and
 * within this process, the guarded populate, stale-on-outage; and the INVALIDATE that the
 * invalidation log (./invalidation/log.ts) applies for every write.
 */

export type Source = "cache" | "db" | "stale";

export interface ReadSpec<T> {
  /** Metrics label: rooms-all, room, rooms-count, ... */
  cache: string;
  key: string;
  /** Validates the cached data; it must also turn ISO strings back into Dates. */
  schema: z.ZodType<T>;
  ttlSeconds: number;
  staleTtlSeconds: number;
  /** Reads Postgres; returns the data and the Postgres-side version it was read at. */
  load: () => Promise<{ data: T; version: number }>;
  /** False for values not worth caching (an unknown id): returned, lock released, nothing set. Default: all. */
  shouldCache?: (data: T) => boolean;
  /**
   * A sorted set on the key's hash slot to read in the same round trip when the key hits
   * (the room list's order), with the signature of the copy the caller holds, if any.
   */
  alongside?: { key: string; knownSignature?: string };
}

export interface ReadResult<T> {
  data: T;
  source: Source;
  version: number;
  /** The spec's `alongside` set, when the read hit and Redis answered both. */
  alongside?: SortedSetRead;
}

/**
 * A sorted set as Redis held it: `signature` (SHA-1 of its members and scores, in order) and
 * `flat` (member, score, member, score, ...), left out when the signature is the caller's.
 */
export interface SortedSetRead {
  signature: string;
  flat?: string[];
}

export interface CacheAsideHooks {
  /** Runs between the loader's Postgres read and its cache set: tests pause here to force races. */
  afterLoad?: (key: string) => Promise<void> | void;
}

/** Options of {@link CacheAside}. */
export interface CacheAsideOptions {
  /** null when the cache is disabled: every read goes to Postgres, every write skips Redis. */
  guarded: GuardedStore | null;
  keys: Keys;
  metrics: Metrics;
  /**
   * How long a reader waits for another caller's load before querying Postgres itself.
   * Default 3000 ms, the load deadline: a live loader publishes within it, even when an
   * overloaded event loop delays it (a 1 s budget let 250 of 500 stampeding requests fall
   * through to Postgres in the benchmark).
   */
  waitForLoaderMs?: number;
  /**
   * Deadline of one Postgres load, in ms. Default 3000. Past it the load counts as failed,
   * so a hung database yields the saved copy (or an error) rather than a hung request.
   */
  loadTimeoutMs?: number;
  hooks?: CacheAsideHooks;
  /** Turns the generation guard off. Only the test that demonstrates the race sets this. */
  unsafeDisableGuard?: boolean;
  onError?: (error: unknown, context: { op: string; key: string }) => void;
}


/** Keys whose last decoded value is kept in memory (oldest dropped first). */
const DECODED_MEMO_SIZE = 500;

interface LoadOutcome<T> {
  result: ReadResult<T>;
  /** True when the value is known to be current: the guarded populate succeeded. */
  published: boolean;
  /** When this outcome's Postgres read began (performance.now()), if it made one. */
  loadStartedAt?: number;
}

/** A key's last decoded value: its bytes, their envelope's tag, and what they decoded to. */
interface Decoded {
  raw: string;
  tag: string;
  schema: z.ZodType<unknown>;
  result: ReadResult<unknown>;
}

export class CacheAside {
  private readonly inflight = new Map<string, Promise<LoadOutcome<unknown>>>();
  /** Postgres reads shared by concurrent readers while Redis is unavailable. */
  private readonly directLoads = new FreshReads();
  private readonly waitForLoaderMs: number;
  /** The last decoded value of each recently read key (see decode). */
  private readonly decoded = new Map<string, Decoded>();

  constructor(private readonly options: CacheAsideOptions) {
    this.waitForLoaderMs = options.waitForLoaderMs ?? 3_000;
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

  private async readFrom<T>(spec: ReadSpec<T>): Promise<ReadResult<T>> {
    const { guarded, metrics } = this.options;
    if (!guarded) {
      metrics.cacheRequests.inc({ cache: spec.cache, outcome: "bypass" });
      return this.loadDirect(spec);
    }
    const started = performance.now();
    try {
      const { raw, hit } = spec.alongside ? await this.getWithSet(spec, guarded) : await this.get(spec, guarded);
      this.observe(spec.cache, started);
      if (hit) {
        metrics.cacheRequests.inc({ cache: spec.cache, outcome: "hit" });
        recordTiming("cache", performance.now() - started, "hit");
        return hit;
      }
      if (raw !== null) await this.dropCorrupt(spec);
    } catch (error) {
      return this.onCacheDown(spec, error, started);
    }
    metrics.cacheRequests.inc({ cache: spec.cache, outcome: "miss" });
    recordTiming("cache", performance.now() - started, "miss");
    return this.readMiss(spec);
  }

  private async get<T>(spec: ReadSpec<T>, guarded: GuardedStore): Promise<{ raw: string | null; hit?: ReadResult<T> }> {
    const raw = await guarded.readTrusted((s) => s.get(spec.key));
    return { raw, hit: raw === null ? undefined : this.decode(spec, raw) };
  }

  /**
   * The key and its `alongside` sorted set in one script (one round trip), sent only where
   * they differ from what this process holds: the key's last decoded value (by envelope
   * tag) and the caller's copy of the set (by signature). A hot read then moves a few bytes.
   */
  private async getWithSet<T>(spec: ReadSpec<T>, guarded: GuardedStore): Promise<{ raw: string | null; hit?: ReadResult<T> }> {
    const { key, knownSignature } = spec.alongside!;
    const known = this.decoded.get(spec.key);
    const held = known?.schema === spec.schema ? known : undefined;
    const [state, value, signature, flat] = (await guarded.readTrusted((s) =>
      s.eval(GET_WITH_SET, [spec.key, key], [held?.tag ?? "", knownSignature ?? ""]),
    )) as [number, string, string, string[] | undefined];
    if (state === 0) return { raw: null };
    const alongside: SortedSetRead = flat ? { signature, flat } : { signature };
    const hit = state === 1 && held ? (held.result as ReadResult<T>) : this.decode(spec, value);
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
    const own = this.missAcrossInstances(spec);
    this.inflight.set(spec.key, own);
    try {
      return (await own).result;
    } finally {
      if (this.inflight.get(spec.key) === own) this.inflight.delete(spec.key);
    }
  }

  /** Single flight across instances: one caller takes the Redis lock and loads, the others wait for its value. */
  private async missAcrossInstances<T>(spec: ReadSpec<T>): Promise<LoadOutcome<T>> {
    const guarded = this.options.guarded!;
    const { keys, metrics } = this.options;
    const token = randomUUID();
    const deadline = performance.now() + this.waitForLoaderMs;
    let delay = 5;
    let waited = false;
    for (;;) {
      let reply: [number, string];
      const started = performance.now();
      try {
        reply = (await guarded.readTrusted((s) =>
          s.eval(GET_OR_LOCK, [spec.key, keys.lock(spec.key), keys.gen(spec.key)], [token, LOCK_TTL_MS, GEN_TTL_SECONDS]),
        )) as [number, string];
      } catch (error) {
        const loadStartedAt = performance.now();
        return { result: await this.onCacheDown(spec, error, started), published: false, loadStartedAt };
      }
      const [kind, payload] = reply;
      if (kind === 1) {
        const hit = this.decode(spec, payload);
        if (hit) {
          if (waited) metrics.singleFlightWaits.inc({ cache: spec.cache, outcome: "served" });
          return { result: hit, published: true };
        }
        await this.dropCorrupt(spec).catch(() => {});
        continue;
      }
      if (kind === 2) return this.loadAndPopulate(spec, token, payload);
      if (performance.now() + delay > deadline) {
        metrics.singleFlightWaits.inc({ cache: spec.cache, outcome: "timeout" });
        const loadStartedAt = performance.now();
        return { result: await this.loadDirect(spec), published: false, loadStartedAt };
      }
      waited = true;
      await sleep(delay);
      delay = Math.min(delay * 2, 40);
    }
  }

  private async loadAndPopulate<T>(spec: ReadSpec<T>, token: string, generation: string): Promise<LoadOutcome<T>> {
    const guarded = this.options.guarded!;
    const { keys, metrics, hooks } = this.options;
    let loaded: { data: T; version: number };
    const loadStartedAt = performance.now();
    try {
      loaded = await this.timedLoad(spec);
    } catch (error) {
      await guarded.write((s) => s.eval(RELEASE, [keys.lock(spec.key)], [token])).catch(() => {});
      return { result: await this.staleOrThrow(spec, error), published: false, loadStartedAt };
    }
    if (spec.shouldCache && !spec.shouldCache(loaded.data)) {
      await guarded.write((s) => s.eval(RELEASE, [keys.lock(spec.key)], [token])).catch(() => {});
      return { result: { data: loaded.data, source: "db", version: loaded.version }, published: false, loadStartedAt };
    }
    await hooks?.afterLoad?.(spec.key);
    let outcome = 0;
    try {
      outcome = Number(
        await guarded.write((s) =>
          s.eval(
            POPULATE,
            [spec.key, keys.gen(spec.key), keys.lock(spec.key), keys.stale(spec.key)],
            [
              token,
              generation,
              encodeEnvelope(loaded.version, loaded.data),
              spec.ttlSeconds,
              spec.staleTtlSeconds,
              loaded.version,
              this.options.unsafeDisableGuard ? "0" : "1",
            ],
          ),
        ),
      );
    } catch (error) {
      this.options.onError?.(error, { op: "populate", key: spec.key });
    }
    if (outcome !== 1) metrics.guardRejections.inc({ cache: spec.cache });
    return { result: { data: loaded.data, source: "db", version: loaded.version }, published: outcome === 1, loadStartedAt };
  }

  private async onCacheDown<T>(spec: ReadSpec<T>, error: unknown, started: number): Promise<ReadResult<T>> {
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
  private loadCoalesced<T>(spec: ReadSpec<T>): Promise<ReadResult<T>> {
    return this.directLoads.read(spec.key, () => this.loadDirect(spec));
  }

  /**
   * Postgres without populating: cache disabled, down, or the single-flight wait ran out.
   * If Postgres fails too, a saved copy is still worth trying (Redis may only have been slow).
   */
  private async loadDirect<T>(spec: ReadSpec<T>): Promise<ReadResult<T>> {
    try {
      const { data, version } = await this.timedLoad(spec);
      return { data, version, source: "db" };
    } catch (error) {
      return this.staleOrThrow(spec, error);
    }
  }

  private async timedLoad<T>(spec: ReadSpec<T>): Promise<{ data: T; version: number }> {
    const started = performance.now();
    try {
      return await withDeadline(spec.load(), this.options.loadTimeoutMs ?? 3_000);
    } finally {
      recordTiming("db", performance.now() - started);
    }
  }

  /** Postgres failed: serve the last-known-good copy, marked stale, rather than an error. */
  private async staleOrThrow<T>(spec: ReadSpec<T>, error: unknown): Promise<ReadResult<T>> {
    const guarded = this.options.guarded;
    const raw = guarded
      ? await guarded.read((s) => s.get(this.options.keys.stale(spec.key))).catch(() => null)
      : null;
    const stale = raw ? this.decode(spec, raw) : undefined;
    if (!stale) throw error;
    this.options.metrics.cacheRequests.inc({ cache: spec.cache, outcome: "stale" });
    return { ...stale, source: "stale" };
  }

  /**
   * Parses and validates a cached value, once per distinct value: a hot key's bytes are
   * the same request after request, so the last decode of each key is kept and handed out
   * again while Redis returns the same string (a string compare, not a JSON.parse and a
   * zod pass over 50 rooms). Callers get shared objects and must not mutate them.
   */
  private decode<T>(spec: ReadSpec<T>, raw: string): ReadResult<T> | undefined {
    const known = this.decoded.get(spec.key);
    if (known && known.raw === raw && known.schema === spec.schema) return known.result as ReadResult<T>;
    const decoded = decodeEnvelope(spec.schema, raw);
    const result: ReadResult<T> | undefined = decoded && { ...decoded, source: "cache" };
    if (result) {
      this.decoded.delete(spec.key);
      this.decoded.set(spec.key, { raw, tag: envelopeTag(raw), schema: spec.schema, result });
      if (this.decoded.size > DECODED_MEMO_SIZE) this.decoded.delete(this.decoded.keys().next().value as string);
    }
    return result;
  }

  /** A value that fails to parse or validate is a miss, and is deleted (through the guard, so no load races it). */
  private async dropCorrupt(spec: { cache: string; key: string }): Promise<void> {
    this.options.metrics.cacheRequests.inc({ cache: spec.cache, outcome: "corrupt" });
    this.options.onError?.(new Error("corrupt cache value"), { op: "decode", key: spec.key });
    await this.invalidate([spec.key]);
  }

  private observe(cache: string, started: number) {
    this.options.metrics.cacheLatency.observe({ cache }, (performance.now() - started) / 1000);
  }

  /**
   * Deletes keys and gives them new generations, so no load that began before now can
   * populate them. Throws CacheUnavailableError when Redis cannot be reached. A write does
   * not call this itself: its invalidation goes through the invalidation log
   * (./invalidation/log.ts), which calls it and never loses it.
   */
  async invalidate(keysToDrop: string[]): Promise<void> {
    const guarded = this.options.guarded;
    if (!guarded || keysToDrop.length === 0) return;
    const { keys } = this.options;
    await Promise.all(
      keysToDrop.map((key) => {
        const call = invalidateCall(keys, key);
        return guarded.write((s) => s.eval(INVALIDATE, call.keys, call.args));
      }),
    );
  }
}
