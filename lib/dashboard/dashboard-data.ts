import type { Queue } from "bullmq";
import { z } from "zod";
import { withDeadline } from "../cache/guarded-store";
import { lua } from "../cache/store";
import { RECONCILE_SCHEDULER_ID } from "../queue/contract";
import { checkHealth, type HealthReport } from "../health";
import { readMinuteBuckets } from "../observability/minute-counters";
import type { Runtime } from "../runtime";

/*
 * Everything /dashboard shows, read in parallel, each part on its own: a part that cannot
 * be read (Redis down, cache off, no TCP Redis for the queue) comes back as
 * `{ available: false, reason }` and the rest still renders. Never throws.
 */

/** Caches in the order the dashboard lists them; labels seen in the counts but not here follow. */
export const KNOWN_CACHES = ["rooms-all", "room", "rooms-count", "messages", "stats", "search", "page"] as const;
/** Reconciliation runs shown (the history keeps more). */
export const RECONCILE_RUNS_SHOWN = 20;

export interface CacheCounts {
  hit: number;
  miss: number;
  error: number;
  stale: number;
}

export interface MinutePoint {
  /** Start of the minute, ISO-8601 UTC. */
  at: string;
  caches: Record<string, CacheCounts>;
  served: { cache: number; db: number; stale: number };
  errors: number;
}

export interface CacheSummary extends CacheCounts {
  cache: string;
  /** hits / (hits + misses + errors) over the hour; null with no reads. */
  hitRate: number | null;
}

export type Part<T> = ({ available: true } & T) | { available: false; reason: string };

export interface Traffic {
  minutes: MinutePoint[];
  caches: CacheSummary[];
  served: { cache: number; db: number; stale: number };
  /** Cache errors plus failed API requests over the hour. */
  errors: number;
}

const runSchema = z.looseObject({
  startedAt: z.string().optional(),
  finishedAt: z.string(),
  durationMs: z.number(),
  scanned: z.number().default(0),
  added: z.number().default(0),
  removed: z.number().default(0),
  modified: z.number().default(0),
  corrupt: z.number().default(0),
  refused: z.number().default(0),
  dryRun: z.boolean().default(false),
  reason: z.string().optional(),
  jobId: z.string().optional(),
});
export type ReconcileRun = z.infer<typeof runSchema>;

export interface QueueState {
  waiting: number;
  active: number;
  failed: number;
  delayed: number;
  /** When the reconcile job scheduler enqueues next (ISO), null without a scheduler. */
  nextRunAt: string | null;
  everyMs: number | null;
}

export interface DashboardData {
  generatedAt: string;
  /** CACHE_ENABLED (and a Redis to cache in). Off: every read goes to Postgres. */
  cacheEnabled: boolean;
  /** This instance's circuit breaker; null when the cache is off. */
  breaker: "closed" | "half-open" | "open" | null;
  traffic: Part<Traffic>;
  reconcile: Part<{ runs: ReconcileRun[] }>;
  queue: Part<QueueState>;
  health: HealthReport;
}

/** Options of {@link loadDashboard}. */
export interface DashboardDeps {
  runtime: Runtime;
  /** The rooms queue (lib/queue/shared-queue.ts); null when there is no TCP Redis for BullMQ. */
  queue: Queue | null;
  /** Clock for the minute window (ms). Default now. */
  now?: number;
  /** Deadline of each part, in ms. Default 1000 (the Postgres health check's own). */
  timeoutMs?: number;
}

const LIST_HEAD = lua(`return redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)`);

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

async function part<T>(fn: () => Promise<T>, timeoutMs: number): Promise<Part<T>> {
  try {
    return { available: true, ...(await withDeadline(fn(), timeoutMs)) };
  } catch (error) {
    return { available: false, reason: message(error) };
  }
}

export function summarize(minutes: MinutePoint[]): Traffic {
  const totals = new Map<string, CacheCounts>();
  const served = { cache: 0, db: 0, stale: 0 };
  let errors = 0;
  for (const m of minutes) {
    for (const [cache, c] of Object.entries(m.caches)) {
      const t = totals.get(cache) ?? { hit: 0, miss: 0, error: 0, stale: 0 };
      for (const k of ["hit", "miss", "error", "stale"] as const) t[k] += c[k];
      totals.set(cache, t);
    }
    served.cache += m.served.cache;
    served.db += m.served.db;
    served.stale += m.served.stale;
    errors += m.errors;
  }
  const order = [...KNOWN_CACHES, ...[...totals.keys()].filter((c) => !(KNOWN_CACHES as readonly string[]).includes(c)).sort()];
  const caches = order
    .filter((cache) => totals.has(cache))
    .map((cache) => {
      const t = totals.get(cache)!;
      const reads = t.hit + t.miss + t.error;
      return { cache, ...t, hitRate: reads > 0 ? t.hit / reads : null };
    });
  return { minutes, caches, served, errors };
}

/** Turns a bucket's `{cache}:{outcome}` / `served:{source}` / `errors:{kind}` fields into a point. */
export function toMinutePoint(at: Date, counts: Record<string, number>): MinutePoint {
  const point: MinutePoint = { at: at.toISOString(), caches: {}, served: { cache: 0, db: 0, stale: 0 }, errors: 0 };
  for (const [field, n] of Object.entries(counts)) {
    const cut = field.lastIndexOf(":");
    const name = field.slice(0, cut);
    const kind = field.slice(cut + 1);
    if (name === "served") {
      if (kind === "cache" || kind === "db" || kind === "stale") point.served[kind] += n;
    } else if (name === "errors") {
      point.errors += n;
    } else if (kind === "hit" || kind === "miss" || kind === "error" || kind === "stale") {
      const c = (point.caches[name] ??= { hit: 0, miss: 0, error: 0, stale: 0 });
      c[kind] += n;
      if (kind === "error") point.errors += n;
    }
  }
  return point;
}

export async function loadDashboard(deps: DashboardDeps): Promise<DashboardData> {
  const { runtime: rt, queue } = deps;
  const timeoutMs = deps.timeoutMs ?? 1_000;
  const guarded = rt.guarded;
  const cacheOff = { available: false as const, reason: "cache disabled" };

  const traffic: Promise<Part<Traffic>> = guarded
    ? part(async () => {
        const buckets = await readMinuteBuckets(guarded, rt.keys, { minutes: 60, now: deps.now });
        return summarize(buckets.map((b) => toMinutePoint(b.at, b.counts)));
      }, timeoutMs)
    : Promise.resolve(cacheOff);

  // The history is written by the worker whether or not anyone reads it; with the cache off there is none.
  const reconcile: Promise<Part<{ runs: ReconcileRun[] }>> = guarded
    ? part(async () => {
        const raw = (await guarded.write((s) => s.eval(LIST_HEAD, [rt.keys.reconcileHistory], [RECONCILE_RUNS_SHOWN]))) as unknown;
        const items = z.array(z.unknown()).catch([]).parse(raw);
        const runs = items.flatMap((item) => {
          try {
            const parsed = runSchema.safeParse(typeof item === "string" ? JSON.parse(item) : item);
            return parsed.success ? [parsed.data] : [];
          } catch {
            return [];
          }
        });
        return { runs };
      }, timeoutMs)
    : Promise.resolve(cacheOff);

  const queueState: Promise<Part<QueueState>> = queue
    ? part(async () => {
        const [counts, schedulers] = await Promise.all([
          queue.getJobCounts("waiting", "active", "failed", "delayed"),
          queue.getJobSchedulers(0, 20),
        ]);
        const scheduler = schedulers.find((s) => s.key === RECONCILE_SCHEDULER_ID || s.id === RECONCILE_SCHEDULER_ID) ?? schedulers[0];
        return {
          waiting: counts.waiting ?? 0,
          active: counts.active ?? 0,
          failed: counts.failed ?? 0,
          delayed: counts.delayed ?? 0,
          nextRunAt: scheduler?.next ? new Date(scheduler.next).toISOString() : null,
          everyMs: scheduler?.every ?? null,
        };
      }, timeoutMs)
    : Promise.resolve({ available: false as const, reason: "no Redis over TCP (REDIS_URL) for the queue" });

  const [t, r, q, health] = await Promise.all([traffic, reconcile, queueState, checkHealth(rt)]);
  return {
    generatedAt: new Date(deps.now ?? Date.now()).toISOString(),
    cacheEnabled: guarded !== null,
    breaker: guarded?.state ?? null,
    traffic: t,
    reconcile: r,
    queue: q,
    health,
  };
}
