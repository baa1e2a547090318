import { z } from "zod";
import type { GuardedStore } from "../cache/guarded-store";
import { METRICS_MINUTE_TTL_SECONDS, type Keys } from "../cache/keys";
import { lua } from "../cache/store";
import type { Metrics } from "./metrics";

/*
 * Per-minute counters in Redis, so the dashboard can show what every web instance served
 * (prom-client's registry is per process). Counts accumulate in memory and are flushed
 * every few seconds: one script call per minute bucket (HINCRBY per field, then EXPIRE),
 * all buckets of a flush in one pipeline. Everything goes through the GuardedStore, so a
 * Redis outage costs a request nothing: a flush that fails, or that the open breaker
 * refuses, drops its counts (counted in `lobby_minute_counters_dropped_total`) rather than
 * retrying them into a later minute or risking counting them twice.
 */

const INCREMENT = lua(`
for i = 2, #ARGV, 2 do redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1
`);
const READ = lua(`return redis.call('HGETALL', KEYS[1])`);

/** Cache outcomes worth a chart; `bypass` (cache off: no Redis to count in) and `corrupt` (also a miss) are left out. */
const OUTCOMES = new Set(["hit", "miss", "error", "stale"]);

/** `yyyymmddHHMM` of the UTC minute holding `ms`: the bucket's name. */
export function minuteId(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace(/[-T:]/g, "");
}

/** Options of {@link MinuteCounters}. */
export interface MinuteCountersOptions {
  guarded: GuardedStore;
  keys: Keys;
  /** Counts dropped by a failed flush are counted here (`minuteCountsDropped`). */
  metrics?: Metrics;
  /** How often counts leave for Redis, in ms. Default 5000. */
  flushEveryMs?: number;
  /** Lifetime of a bucket, in seconds. Default {@link METRICS_MINUTE_TTL_SECONDS} (2 h). */
  ttlSeconds?: number;
  /** The clock (ms); tests move it across a minute boundary. Default `Date.now`. */
  now?: () => number;
}

export class MinuteCounters {
  /** minute id → field → count not yet flushed. */
  private pending = new Map<string, Map<string, number>>();
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  constructor(private readonly options: MinuteCountersOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Adds `n` to `field` of the current minute. */
  add(field: string, n = 1): void {
    if (!(n > 0)) return;
    const id = minuteId(this.now());
    let bucket = this.pending.get(id);
    if (!bucket) this.pending.set(id, (bucket = new Map()));
    bucket.set(field, (bucket.get(field) ?? 0) + n);
  }

  /**
   * Follows the process's cache and error counters: `{cache}:{outcome}`, `served:{source}`,
   * `errors:{kind}`. Returns the function that stops following them. One MinuteCounters per
   * process should attach (the runtime's), or the counts double.
   */
  attach(m: Metrics): () => void {
    const offs = [
      m.cacheRequests.tap((labels, n) => {
        const outcome = String(labels.outcome);
        if (OUTCOMES.has(outcome)) this.add(`${String(labels.cache)}:${outcome}`, n);
      }),
      m.cacheServed.tap((labels, n) => this.add(`served:${String(labels.source)}`, n)),
      m.requestErrors.tap((labels, n) => this.add(`errors:${String(labels.kind ?? "other")}`, n)),
    ];
    return () => offs.forEach((off) => off());
  }

  /** Flushes every `flushEveryMs` (the timer never keeps the process alive). */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.flush(), this.options.flushEveryMs ?? 5_000);
    this.timer.unref();
  }

  /** Stops the timer and flushes what is left (shutdown). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  /** Sends the pending counts; resolves how many were written and dropped. Never throws. */
  async flush(): Promise<{ written: number; dropped: number }> {
    if (this.pending.size === 0) return { written: 0, dropped: 0 };
    // Taken before the await: counts added meanwhile belong to the next flush.
    const batch = this.pending;
    this.pending = new Map();
    const { guarded, keys, metrics } = this.options;
    const ttl = this.options.ttlSeconds ?? METRICS_MINUTE_TTL_SECONDS;
    let total = 0;
    const calls = [...batch].map(([id, fields]) => {
      const args: (string | number)[] = [ttl];
      for (const [field, n] of fields) {
        args.push(field, n);
        total += n;
      }
      return { keys: [keys.metricsMinute(id)], args };
    });
    try {
      await guarded.write((s) => s.evalMany(INCREMENT, calls));
      return { written: total, dropped: 0 };
    } catch {
      // Breaker open or Redis failing: a dashboard gap beats a slower request or a double count.
      metrics?.minuteCountsDropped.inc(total);
      return { written: 0, dropped: total };
    }
  }
}

/** One minute's counts, summed over every instance. */
export interface MinuteBucket {
  /** Start of the minute (UTC). */
  at: Date;
  counts: Record<string, number>;
}

const hashReply = z.array(z.union([z.string(), z.number()]).transform(String));

/**
 * The last `minutes` buckets, oldest first (a minute nobody counted in is empty), read
 * with one pipelined HGETALL per bucket. Throws when Redis cannot be reached: the caller
 * shows that state.
 */
export async function readMinuteBuckets(
  guarded: GuardedStore,
  keys: Keys,
  options: { minutes?: number; now?: number } = {},
): Promise<MinuteBucket[]> {
  const minutes = options.minutes ?? 60;
  const end = Math.floor((options.now ?? Date.now()) / 60_000) * 60_000;
  const starts = Array.from({ length: minutes }, (_, i) => end - (minutes - 1 - i) * 60_000);
  // The write deadline (250 ms), not a page read's 50: 60 calls, and the dashboard is not a hot path.
  const replies = await guarded.write((s) =>
    s.evalMany(
      READ,
      starts.map((ms) => ({ keys: [keys.metricsMinute(minuteId(ms))], args: [] })),
    ),
  );
  return starts.map((ms, i) => {
    const flat = hashReply.safeParse(replies[i] ?? []);
    const counts: Record<string, number> = {};
    if (flat.success) {
      for (let j = 0; j + 1 < flat.data.length; j += 2) {
        const n = Number(flat.data[j + 1]);
        if (Number.isFinite(n)) counts[flat.data[j]!] = n;
      }
    }
    return { at: new Date(ms), counts };
  });
}
