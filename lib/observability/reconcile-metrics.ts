import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { ReconcileReport } from "../reconcile/reconciliation-service";
import { metrics } from "./metrics";

/** The drift kinds a run counts, as metric labels. */
export const DRIFT_KINDS = [
  "added",
  "removed",
  "modified",
  "corrupt",
  "refused",
  "messagesRepaired",
  "messagesRemoved",
  "activityRepaired",
  "activityRemoved",
] as const;

function build(registry: Registry) {
  const m = {
    runs: new Counter({
      name: "lobby_reconcile_runs_total",
      help: "Reconciliation runs by outcome (done, dry-run, skipped, failed).",
      labelNames: ["outcome"] as const,
      registers: [registry],
    }),
    duration: new Histogram({
      name: "lobby_reconcile_duration_seconds",
      help: "Duration of completed reconciliation runs.",
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    }),
    drift: new Counter({
      name: "lobby_reconcile_drift_total",
      help: "Differences found by reconciliation runs, by kind (rooms: added, removed, modified, corrupt, refused; conversations: messagesRepaired, messagesRemoved; activity order: activityRepaired, activityRemoved).",
      labelNames: ["kind"] as const,
      registers: [registry],
    }),
    lastSuccess: new Gauge({
      name: "lobby_reconcile_last_success_timestamp_seconds",
      help: "Unix time at which this worker's last reconciliation run completed.",
      registers: [registry],
    }),
  };
  // Every series from the start, so a rate over them is defined before the first drift.
  for (const outcome of ["done", "dry-run", "skipped", "failed"]) m.runs.inc({ outcome }, 0);
  for (const kind of DRIFT_KINDS) m.drift.inc({ kind }, 0);
  return m;
}

export type ReconcileMetrics = ReturnType<typeof build>;

const g = globalThis as unknown as { __lobbyReconcileMetrics?: ReconcileMetrics };

/**
 * The worker's reconciliation metrics, registered on the process registry the first time
 * the worker asks for them, so a web process never exports all-zero reconcile series (its
 * `/api/metrics` reads the worker's gauges from Redis instead: lib/worker-status.ts).
 */
export function reconcileMetrics(): ReconcileMetrics {
  g.__lobbyReconcileMetrics ??= build(metrics().registry);
  return g.__lobbyReconcileMetrics;
}

/** Counts one finished job's report: outcome, duration and drift of a completed run. */
export function recordReconcileReport(report: ReconcileReport): void {
  const m = reconcileMetrics();
  if (report.skipped) {
    m.runs.inc({ outcome: "skipped" });
    return;
  }
  m.runs.inc({ outcome: report.dryRun ? "dry-run" : "done" });
  m.duration.observe(report.durationMs / 1_000);
  // A dry run repairs nothing: its counts are a forecast, not drift that was fixed.
  if (report.dryRun) return;
  for (const kind of DRIFT_KINDS) if (report[kind] > 0) m.drift.inc({ kind }, report[kind]);
  m.lastSuccess.set(Date.parse(report.finishedAt) / 1_000);
}
