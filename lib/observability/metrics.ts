import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** Receives every increment of a tapped counter (see {@link tapped}). */
export type CounterTap = (labels: Readonly<Record<string, string | number | undefined>>, value: number) => void;

/**
 * A counter whose increments are also handed to listeners: the per-minute counters in
 * Redis (./minute-counters.ts) follow the cache counters this way, so every place that
 * counts a cache outcome, today's or a future cache's, feeds the dashboard without a
 * second call. prom-client assigns `inc` per instance in its constructor, so the wrapper
 * replaces that instance property; a listener that throws never reaches the caller.
 */
function tapped<T extends string>(counter: Counter<T>): Counter<T> & { tap(fn: CounterTap): () => void } {
  const taps = new Set<CounterTap>();
  const inc = counter.inc.bind(counter) as (a?: unknown, v?: number) => void;
  (counter as unknown as { inc: (a?: unknown, v?: number) => void }).inc = (a, v) => {
    inc(a, v);
    if (taps.size === 0) return;
    const labels = typeof a === "object" && a !== null ? (a as Record<string, string | number | undefined>) : {};
    const value = typeof a === "number" ? a : (v ?? 1);
    for (const fn of taps) {
      try {
        fn(labels, value);
      } catch {
        // Bookkeeping must never fail the read it counts.
      }
    }
  };
  return Object.assign(counter, {
    tap(fn: CounterTap) {
      taps.add(fn);
      return () => void taps.delete(fn);
    },
  });
}

/** Starts each series at 0, so a scrape shows every target before its first count. */
function withSeries<T extends string>(counter: Counter<T>, series: Partial<Record<T, string>>[]): Counter<T> {
  for (const labels of series) counter.inc(labels, 0);
  return counter;
}

function build() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "lobby_" });
  return {
    registry,
    /**
     * One series per cache label: `rooms-all`, `room`, `rooms-count`, `messages`, `stats`,
     * `search`. Outcomes: hit, miss, error (Redis failed or the breaker is open), stale (a
     * last-known-good copy served while Postgres was down), bypass (cache disabled), corrupt.
     */
    cacheRequests: tapped(
      new Counter({
        name: "lobby_cache_requests_total",
        help: "Cache reads by cache and outcome (hit, miss, error, stale, bypass, corrupt).",
        labelNames: ["cache", "outcome"] as const,
        registers: [registry],
      }),
    ),
    /** Where each read's answer finally came from: cache, db or stale (one per read, unlike the outcomes). */
    cacheServed: tapped(
      new Counter({
        name: "lobby_cache_served_total",
        help: "Reads by cache and where the answer came from (cache, db, stale).",
        labelNames: ["cache", "source"] as const,
        registers: [registry],
      }),
    ),
    cacheLatency: new Histogram({
      name: "lobby_cache_latency_seconds",
      help: "Time spent in Redis per cache read.",
      labelNames: ["cache"] as const,
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
      registers: [registry],
    }),
    cacheInvalidations: new Counter({
      name: "lobby_cache_invalidations_total",
      help: "Writes' invalidations by how they were applied: direct (by the writer), log (by a process reading the invalidation log), waited (the writer could not apply it and acknowledged after every lease).",
      labelNames: ["outcome"] as const,
      registers: [registry],
    }),
    singleFlightWaits: new Counter({
      name: "lobby_cache_singleflight_waits_total",
      help: "Reads that waited for another caller's load instead of querying Postgres.",
      labelNames: ["cache", "outcome"] as const,
      registers: [registry],
    }),
    guardRejections: new Counter({
      name: "lobby_cache_guard_rejections_total",
      help: "Populates refused by the version guard (a write landed during the load).",
      labelNames: ["cache"] as const,
      registers: [registry],
    }),
    cacheTrusted: new Gauge({
      name: "lobby_cache_trusted",
      help: "1 while this process holds its lease on the cache (it read and applied the invalidation log recently), else 0: reads go to Postgres.",
      registers: [registry],
    }),
    breakerState: new Gauge({
      name: "lobby_cache_breaker_state",
      help: "Redis circuit breaker: 0 closed, 1 half-open, 2 open.",
      registers: [registry],
    }),
    /** `target`: the primary (DATABASE_URL) or a read replica (DATABASE_REPLICA_URLS). */
    dbQueries: withSeries(
      new Counter({
        name: "lobby_db_queries_total",
        help: "Statements sent to Postgres by this process, by target (primary, replica).",
        labelNames: ["target"] as const,
        registers: [registry],
      }),
      [{ target: "primary" }, { target: "replica" }],
    ),
    /**
     * Reads that may fill a cache (lib/db/replicas), by where they ran and why: replica
     * (fenced; unfenced only in tests), primary (no_replica in rotation, no_position from
     * the primary, the replica behind, busy: every connection of its pool taken, a replica fault).
     */
    dbReads: new Counter({
      name: "lobby_db_reads_total",
      help: "Routed reads (cache fills, stats, search) by target and reason.",
      labelNames: ["target", "reason"] as const,
      registers: [registry],
    }),
    /** Requests that ended in an unexpected error (the route wrapper's 503), by kind. */
    requestErrors: tapped(
      new Counter({
        name: "lobby_request_errors_total",
        help: "Requests that failed with an unexpected error, by kind (api).",
        labelNames: ["kind"] as const,
        registers: [registry],
      }),
    ),
    sseStreams: new Gauge({
      name: "lobby_sse_streams_open",
      help: "Server-Sent Events streams open in this process.",
      registers: [registry],
    }),
    /** Streams opened, by how their frames reach the socket (lib/realtime/stream-handoff.ts). */
    sseStreamsOpened: new Counter({
      name: "lobby_sse_streams_opened_total",
      help: "Server-Sent Events streams opened, by transport: socket (written to the Node response) or web-stream (piped by Next).",
      labelNames: ["transport"] as const,
      registers: [registry],
    }),
    minuteCountsDropped: new Counter({
      name: "lobby_minute_counters_dropped_total",
      help: "Per-minute dashboard counts dropped because Redis could not take them (breaker open, timeout).",
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof build>;

const g = globalThis as unknown as { __lobbyMetrics?: Metrics };

/** One registry per process (kept on globalThis so dev reloads do not register twice). */
export function metrics(): Metrics {
  g.__lobbyMetrics ??= build();
  return g.__lobbyMetrics;
}
