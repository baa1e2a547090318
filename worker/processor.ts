import type { Job } from "bullmq";
import type pino from "pino";
import { JOB, parsePayload, type ReconcilePayload } from "../lib/queue/contract";
import type { RunLock } from "../lib/queue/run-lock";
import type { RoomCacheService } from "../lib/rooms/room-cache-service";
import {
  skippedReport,
  type ReconcileReport,
  type RoomReconciliationService,
} from "../lib/reconcile/reconciliation-service";
import { warmCache } from "./warm-up";

export interface ProcessorDeps {
  reconciler: RoomReconciliationService;
  lock: RunLock;
  /** null when the cache is disabled: nothing to warm or reconcile. */
  rooms: RoomCacheService | null;
  log: pino.Logger;
  onReport?: (report: ReconcileReport) => void;
}

/**
 * The worker's job handler. Payloads are validated against the contract first; an
 * invalid one throws `UnrecoverableError` (from parsePayload), so BullMQ fails it at once.
 */
export function createProcessor(deps: ProcessorDeps) {
  return async (job: Job): Promise<unknown> => {
    const payload = parsePayload(job.name, job.data);
    if (!deps.rooms) {
      deps.log.warn({ job: job.name, jobId: job.id }, "cache disabled (CACHE_ENABLED=false): nothing to do");
      return skippedReport("cache-disabled");
    }
    if (job.name === JOB.warm) {
      const result = await warmCache(deps.rooms, { rooms: "rooms" in payload ? payload.rooms : undefined });
      deps.log.info({ event: "warm-cache", jobId: job.id, ...result }, "cache warmed");
      return result;
    }
    return reconcile(deps, job, payload as ReconcilePayload);
  };
}

async function reconcile(deps: ProcessorDeps, job: Job, payload: ReconcilePayload): Promise<ReconcileReport> {
  const { log } = deps;
  const lease = await deps.lock.acquire();
  if (!lease) {
    // A forced run was asked for by someone waiting on it: retry (with the job's backoff)
    // until the other run is done. A scheduled one is covered by the run in progress.
    if (payload.force) throw new Error("another reconciliation run holds the lock");
    log.info({ event: "reconcile", jobId: job.id, skipped: true, skipReason: "locked" }, "reconcile skipped: another run holds the lock");
    return skippedReport("locked", payload.dryRun ?? false);
  }
  try {
    const report = await deps.reconciler.run({
      ...payload,
      jobId: job.id,
      signal: lease.signal,
      onProgress: (progress) => job.updateProgress({ ...progress }),
    });
    // The one structured line per run (DESIGN.md): counts and duration.
    log.info(
      { event: "reconcile", jobId: job.id, reason: payload.reason, attempt: job.attemptsMade + 1, ...report },
      report.skipped
        ? `reconcile skipped: last run finished under the sync threshold ago`
        : `reconcile ${report.dryRun ? "(dry run) " : ""}done in ${report.durationMs} ms: ` +
            `${report.scanned} scanned, ${report.added} added, ${report.removed} removed, ` +
            `${report.modified} modified, ${report.corrupt} corrupt; messages: ${report.messagesScanned} scanned, ` +
            `${report.messagesRepaired} repaired, ${report.messagesRemoved} removed; activity: ` +
            `${report.activityRepaired} repaired, ${report.activityRemoved} removed`,
    );
    deps.onReport?.(report);
    return report;
  } finally {
    await lease.release().catch((error: unknown) => log.warn({ err: error }, "could not release the run lock (it expires)"));
  }
}
