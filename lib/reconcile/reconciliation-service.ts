import { RECONCILE_HISTORY_LENGTH, type Keys, type Ttls } from "../cache/keys";
import { lua, type CacheStore } from "../cache/store";
import type { Db } from "../db/client";
import {
  emptyTally,
  NO_DRIFT,
  type DriftCounts,
  type ReconcileHooks,
  type ReconcileProgress,
  type RunContext,
  type Tally,
} from "./context";
import { reconcileCount } from "./count";
import { reconcileActivityOrder, removeDeadAddedMembers } from "./activity";
import { LiveIds } from "./live-ids";
import { reconcileList } from "./list";
import { reconcileCachedKeys } from "./rooms";

export type { ReconcileHooks, ReconcileProgress } from "./context";

/** DESIGN.md's sync threshold: a run this soon after the last completed one is skipped unless forced. */
export const RECONCILE_MIN_GAP_MS = 60_000;

/** What one run found and did. Counts are exact; in a dry run they say what a run would repair. */
export interface ReconcileReport extends DriftCounts {
  skipped: boolean;
  /** Why a skipped run did nothing: the last run was too recent, another run holds the lock, or the cache is off. */
  skipReason?: "recent" | "locked" | "cache-disabled";
  durationMs: number;
  /**
   * Time per part of the run (ms): the list pass (with the live rooms' keys and activity), the
   * SCAN of the cached keys (room keys of rooms not live, and the conversations), the activity
   * members, the count.
   */
  phaseMs?: Partial<Record<"list" | "keys" | "activity" | "count", number>>;
  finishedAt: string;
  dryRun: boolean;
}

/** A completed run as recorded in `reconcile:last_run` and `reconcile:history`. */
export interface ReconcileSummary extends ReconcileReport {
  startedAt: string;
  jobId?: string;
  reason?: string;
}

/** Options of {@link RoomReconciliationService}. */
export interface RoomReconciliationDeps {
  db: Db;
  /** A raw store: the worker is not on the request path, so no breaker; a failed run is retried. */
  store: CacheStore;
  keys: Keys;
  ttls: Ttls;
  /** Skip a run this soon after the last completed one, unless forced. Default {@link RECONCILE_MIN_GAP_MS}. */
  minGapMs?: number;
  /** Keys per SCAN batch and rows per Postgres page. Default 1000. */
  batchSize?: number;
  hooks?: ReconcileHooks;
}

export interface ReconcileRunOptions {
  /** Run even if the last run finished less than `minGapMs` ago. */
  force?: boolean;
  /** Diff and report, repair nothing, record nothing. */
  dryRun?: boolean;
  reason?: string;
  jobId?: string;
  /** Aborts between batches (the worker aborts when it loses its run lock). */
  signal?: AbortSignal;
  onProgress?: (progress: ReconcileProgress) => void | Promise<void>;
}

const PROGRESS_EVERY_MS = 250;

const LIST_ALL = lua(`return redis.call('LRANGE', KEYS[1], 0, -1)`);

const PUSH_CAPPED = lua(`
redis.call('LPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[2]) - 1)
return 1
`);

/**
 * Keeps the room cache true to Postgres (DESIGN.md, Reconciliation): diffs every cached
 * room:{id}, rooms:all and rooms:count, every cached messages:{roomId} and the
 * {rooms:all}:activity order against Postgres in batches, repairs what differs
 * through the same generation guard as the read path (so it never undoes a concurrent
 * write), and records `rooms:last_sync` and a summary. It takes no lock itself: callers
 * that may run concurrently (the worker) hold one.
 */
export class RoomReconciliationService {
  constructor(private readonly deps: RoomReconciliationDeps) {}

  async run(options: ReconcileRunOptions = {}): Promise<ReconcileReport> {
    const started = performance.now();
    const startedAt = new Date();
    const dryRun = options.dryRun ?? false;
    if (!options.force && (await this.ranRecently(startedAt))) {
      return this.report(emptyTally(), started, { dryRun, skipped: true, skipReason: "recent" });
    }
    const tally = emptyTally();
    // The passes run side by side: when one fails, the others stop at their next batch.
    const failed = new AbortController();
    const signal = options.signal ? AbortSignal.any([options.signal, failed.signal]) : failed.signal;
    // Progress goes to a Redis round trip in the worker (job.updateProgress): a few a second is plenty.
    let lastProgress = 0;
    const ctx: RunContext = {
      db: this.deps.db,
      store: this.deps.store,
      keys: this.deps.keys,
      ttls: this.deps.ttls,
      dryRun,
      batchSize: this.deps.batchSize ?? 1_000,
      hooks: this.deps.hooks ?? {},
      signal,
      tally,
      live: new LiveIds(),
      progress: async (phase) => {
        if (!options.onProgress || performance.now() - lastProgress < PROGRESS_EVERY_MS) return;
        lastProgress = performance.now();
        await options.onProgress({ phase, scanned: tally.scanned, listChecked: tally.listChecked });
      },
    };
    const phaseMs: NonNullable<ReconcileReport["phaseMs"]> = {};
    const timed = async (phase: keyof typeof phaseMs, work: () => Promise<void>) => {
      const t = performance.now();
      try {
        await work();
      } catch (error) {
        failed.abort(error);
        throw error;
      } finally {
        phaseMs[phase] = Math.round(performance.now() - t);
      }
    };
    // One pass over the live list checks rooms:all and the live rooms' keys together, and
    // records the live ids and their activity (in this process). Beside it, a SCAN finds the
    // room keys of rooms that are not live and every conversation, and a ZSCAN checks the
    // activity order's members and scores; the ids the list pass has not reached yet wait
    // for it (live-ids.ts). The list pass is bound by this process's CPU, the SCANs by
    // Redis's: side by side, each works while the other waits. The count is independent.
    const list = timed("list", async () => {
      try {
        await reconcileList(ctx);
      } catch (error) {
        ctx.live.fail(error);
        throw error;
      }
    });
    await allSettledOrThrow([
      list,
      timed("keys", () => reconcileCachedKeys(ctx)),
      timed("activity", async () => {
        await reconcileActivityOrder(ctx);
        await removeDeadAddedMembers(ctx);
      }),
      timed("count", () => reconcileCount(ctx)),
    ]);
    const report = { ...this.report(tally, started, { dryRun, skipped: false }), phaseMs };
    if (!dryRun) {
      await this.record({ ...report, startedAt: startedAt.toISOString(), jobId: options.jobId, reason: options.reason });
    }
    return report;
  }

  /** The last run summaries, newest first (at most RECONCILE_HISTORY_LENGTH). */
  async history(): Promise<ReconcileSummary[]> {
    const { store, keys } = this.deps;
    const raw = (await store.eval(LIST_ALL, [keys.reconcileHistory], [])) as string[];
    return raw.map((s) => JSON.parse(s) as ReconcileSummary);
  }

  private async ranRecently(now: Date): Promise<boolean> {
    const last = Date.parse((await this.deps.store.get(this.deps.keys.roomsLastSync)) ?? "");
    return Number.isFinite(last) && now.getTime() - last < (this.deps.minGapMs ?? RECONCILE_MIN_GAP_MS);
  }

  private report(
    t: Tally,
    started: number,
    extra: { dryRun: boolean; skipped: boolean; skipReason?: ReconcileReport["skipReason"] },
  ): ReconcileReport {
    return {
      skipped: extra.skipped,
      ...(extra.skipReason ? { skipReason: extra.skipReason } : {}),
      scanned: t.scanned,
      added: t.added,
      removed: t.removed,
      modified: t.modified,
      corrupt: t.corrupt,
      refused: t.refused,
      listRebuilt: t.listRebuilt,
      countFixed: t.countFixed,
      messagesScanned: t.messagesScanned,
      messagesRepaired: t.messagesRepaired,
      messagesRemoved: t.messagesRemoved,
      activityRepaired: t.activityRepaired,
      activityRemoved: t.activityRemoved,
      durationMs: Math.round(performance.now() - started),
      finishedAt: new Date().toISOString(),
      dryRun: extra.dryRun,
    };
  }

  /** `rooms:last_sync` (plain ISO-8601, no TTL), the last summary, and the capped history. */
  private async record(summary: ReconcileSummary): Promise<void> {
    const { store, keys } = this.deps;
    const json = JSON.stringify(summary);
    // Single-key commands: on Redis Cluster these three keys live on different slots.
    await Promise.all([
      store.set(keys.reconcileLastRun, json),
      store.eval(PUSH_CAPPED, [keys.reconcileHistory], [json, RECONCILE_HISTORY_LENGTH]),
    ]);
    await store.set(keys.roomsLastSync, summary.finishedAt);
  }
}

/** Waits for every one (none may still be writing when a run ends or fails), then throws the first failure. */
async function allSettledOrThrow(work: Promise<void>[]): Promise<void> {
  const results = await Promise.allSettled(work);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
}

/** An empty report for a run that did not happen (another holds the lock). */
export function skippedReport(skipReason: NonNullable<ReconcileReport["skipReason"]>, dryRun = false): ReconcileReport {
  return {
    skipped: true,
    skipReason,
    ...NO_DRIFT,
    durationMs: 0,
    finishedAt: new Date().toISOString(),
    dryRun,
  };
}
