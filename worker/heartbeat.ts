import { WORKER_HEARTBEAT_TTL_SECONDS } from "../lib/cache/keys";
import type { CacheStore } from "../lib/cache/store";
import type { ReconcileReport } from "../lib/reconcile/reconciliation-service";
import type { WorkerHeartbeat } from "../lib/worker-status";

/** Options of {@link Heartbeat}. */
export interface HeartbeatOptions {
  store: CacheStore;
  key: string;
  /** Beat period; the key expires after WORKER_HEARTBEAT_TTL_SECONDS (three periods at the default 5000 ms). */
  periodMs: number;
  reconciliation: boolean;
  nextRunAt: () => Promise<string | null>;
  onError: (error: unknown) => void;
  /** After each beat Redis took. */
  onBeat?: () => void;
}

/**
 * Writes `worker:heartbeat` every period, so `/api/health` can tell whether a worker is
 * alive (lib/worker-status.ts). Several workers share the key: any live one keeps it fresh.
 */
export class Heartbeat {
  private readonly startedAt = new Date().toISOString();
  private lastRun: ReconcileReport | null = null;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: HeartbeatOptions) {}

  /** Records a finished run and beats at once, so the status shows it (and the new next run) without waiting a period. */
  setLastRun(report: ReconcileReport): void {
    this.lastRun = report;
    if (this.timer) void this.beat();
  }

  /** Beats once (awaited, so the key exists when start resolves), then every period. */
  async start(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => void this.beat(), this.options.periodMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async beat(): Promise<void> {
    const { store, key, reconciliation, nextRunAt, onError } = this.options;
    try {
      const value: WorkerHeartbeat = {
        pid: process.pid,
        startedAt: this.startedAt,
        lastBeatAt: new Date().toISOString(),
        lastRun: this.lastRun,
        nextRunAt: reconciliation ? await nextRunAt() : null,
        reconciliation,
      };
      const ttl = Math.max(WORKER_HEARTBEAT_TTL_SECONDS, Math.ceil((3 * this.options.periodMs) / 1_000));
      await store.set(key, JSON.stringify(value), ttl);
      this.options.onBeat?.();
    } catch (error) {
      onError(error);
    }
  }
}
