import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

function build() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "lobby_" });
  return {
    registry,
    cacheRequests: new Counter({
      name: "lobby_cache_requests_total",
      help: "Cache reads by cache and outcome (hit, miss, error, stale, bypass).",
      labelNames: ["cache", "outcome"] as const,
      registers: [registry],
    }),
    cacheLatency: new Histogram({
      name: "lobby_cache_latency_seconds",
      help: "Time spent in Redis per cache read.",
      labelNames: ["cache"] as const,
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
      registers: [registry],
    }),
    cacheInvalidations: new Counter({
      name: "lobby_cache_invalidations_total",
      help: "Key invalidations by outcome (ok, retried, deferred).",
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
    breakerState: new Gauge({
      name: "lobby_cache_breaker_state",
      help: "Redis circuit breaker: 0 closed, 1 half-open, 2 open.",
      registers: [registry],
    }),
    dbQueries: new Counter({
      name: "lobby_db_queries_total",
      help: "Statements sent to Postgres by this process.",
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
