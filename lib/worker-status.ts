import { Gauge, type Registry } from "prom-client";
import { WORKER_HEARTBEAT_TTL_SECONDS } from "./cache/keys";
import { DRIFT_KINDS } from "./observability/reconcile-metrics";
import type { ReconcileReport, ReconcileSummary } from "./reconcile/reconciliation-service";
import type { Runtime } from "./runtime";

/** What the worker writes to `worker:heartbeat` every few seconds (TTL: three periods). */
export interface WorkerHeartbeat {
  pid: number;
  startedAt: string;
  lastBeatAt: string;
  /** This process's last run (null before its first). */
  lastRun: ReconcileReport | null;
  /** When the job scheduler enqueues the next run; null when reconciliation is off. */
  nextRunAt: string | null;
  reconciliation: boolean;
}

export interface WorkerStatus {
  /** A worker beat within the heartbeat's lifetime. With several workers, any one counts. */
  up: boolean;
  lastBeatAt: string | null;
  /** The last completed run, by any worker. */
  lastRun: ReconcileSummary | null;
  /** `rooms:last_sync`. */
  lastSync: string | null;
  nextRunAt: string | null;
  /** Set when the status could not be read (cache disabled, Redis down). */
  error?: string;
}

const parse = <T>(raw: string | null): T | null => {
  if (!raw) return null;
  try {
    return JSON.parse(raw) as T;
  } catch {
    return null;
  }
};

/**
 * The worker's status for `/api/health` and the dashboard, from Redis (the worker has no
 * port of its own). Never throws: Redis down or the cache disabled reads as not up.
 */
export async function readWorkerStatus(rt: Pick<Runtime, "guarded" | "keys">): Promise<WorkerStatus> {
  const empty = { up: false, lastBeatAt: null, lastRun: null, lastSync: null, nextRunAt: null };
  if (!rt.guarded) return { ...empty, error: "cache disabled" };
  const { keys } = rt;
  try {
    // Three GETs, not one MGET: on Redis Cluster these keys live on different slots.
    const [beat, lastRun, lastSync] = await Promise.all(
      [keys.workerHeartbeat, keys.reconcileLastRun, keys.roomsLastSync].map((k) => rt.guarded!.read((s) => s.get(k))),
    );
    const heartbeat = parse<WorkerHeartbeat>(beat ?? null);
    const age = heartbeat ? Date.now() - Date.parse(heartbeat.lastBeatAt) : Infinity;
    return {
      up: age < WORKER_HEARTBEAT_TTL_SECONDS * 1_000,
      lastBeatAt: heartbeat?.lastBeatAt ?? null,
      lastRun: parse<ReconcileSummary>(lastRun ?? null),
      lastSync: lastSync ?? null,
      nextRunAt: heartbeat?.nextRunAt ?? null,
    };
  } catch (error) {
    return { ...empty, error: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * Worker gauges for the web's `/api/metrics` (the worker also serves its own registry on
 * WORKER_METRICS_PORT; these let one scrape of any web instance see the worker's state):
 * read from Redis at scrape time, once per scrape for all of them.
 */
export function registerWorkerMetrics(registry: Registry, rt: Pick<Runtime, "guarded" | "keys">): void {
  let cached: { at: number; status: Promise<WorkerStatus> } | undefined;
  const status = () => {
    if (!cached || Date.now() - cached.at > 1_000) cached = { at: Date.now(), status: readWorkerStatus(rt) };
    return cached.status;
  };
  const gauge = (name: string, help: string, set: (g: Gauge, s: WorkerStatus) => void, labelNames: string[] = []) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        set(this, await status());
      },
    });
  gauge("lobby_worker_up", "1 when a worker heartbeat is fresh.", (g, s) => g.set(s.up ? 1 : 0));
  gauge("lobby_reconcile_last_sync_timestamp_seconds", "rooms:last_sync as a Unix time.", (g, s) => {
    if (s.lastSync) g.set(Date.parse(s.lastSync) / 1_000);
  });
  gauge("lobby_reconcile_last_run_duration_seconds", "Duration of the last reconciliation run.", (g, s) => {
    if (s.lastRun) g.set(s.lastRun.durationMs / 1_000);
  });
  gauge(
    "lobby_reconcile_last_run_drift",
    "Differences the last reconciliation run repaired, by kind.",
    (g, s) => {
      if (!s.lastRun) return;
      for (const kind of DRIFT_KINDS) g.set({ kind }, s.lastRun[kind] ?? 0);
    },
    ["kind"],
  );
}
