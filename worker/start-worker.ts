import { hostname } from "node:os";
import { Worker } from "bullmq";
import type pino from "pino";
import { createIoredisStore } from "../lib/cache/ioredis-store";
import type { TcpRedis } from "../lib/cache/redis-target";
import { metrics } from "../lib/observability/metrics";
import { reconcileMetrics, recordReconcileReport } from "../lib/observability/reconcile-metrics";
import { JOB, RECONCILE_SCHEDULER_ID, ROOMS_QUEUE, defaultJobOptions, queueOptions } from "../lib/queue/contract";
import { createRoomsQueue, type RoomsQueue } from "../lib/queue/producer";
import { RunLock } from "../lib/queue/run-lock";
import { RECONCILE_MIN_GAP_MS, RoomReconciliationService, type ReconcileHooks } from "../lib/reconcile/reconciliation-service";
import { HOME_PAGE_TAGS } from "../lib/page-cache/page-tags";
import { createRuntime, type Runtime, type RuntimeConfig } from "../lib/runtime";
import { Heartbeat } from "./heartbeat";
import { startMetricsServer, type MetricsServer } from "./metrics-server";
import { createProcessor } from "./processor";
import { RedisState } from "./redis-state";
import { listThread } from "../lib/db/queries/copy-rows-thread";
import { warmCache } from "./warm-up";

/** How long closing a Redis connection may wait for Redis once nothing is left to finish. */
const CLOSE_GRACE_MS = 2_000;

/** What the worker process runs with; worker/index.ts builds it from `env()`. */
export interface WorkerConfig {
  runtime: RuntimeConfig;
  /** TCP Redis for BullMQ and the reconciler (`env().redisTcp`): one node or a cluster. */
  redisTcp: TcpRedis;
  /** Schedule `reconcile-rooms` every `intervalMs` (ENABLE_ROOM_RECONCILIATION, RECONCILE_INTERVAL_MS). */
  reconciliation: { enabled: boolean; intervalMs: number };
  log: pino.Logger;
  /** Default ROOMS_QUEUE; tests give each their own. */
  queueName?: string;
  /** Newest rooms loaded by the warm-up at start. Default 50; 0 skips the warm-up. */
  warmRooms?: number;
  /** Heartbeat period. Default 5000 ms (the key lives three periods). */
  heartbeatMs?: number;
  /** Run lock lifetime without renewal. Default 30 000 ms. */
  lockTtlMs?: number;
  hooks?: ReconcileHooks;
  /**
   * Port of the worker's `GET /metrics` (WORKER_METRICS_PORT, whose 0 means off: index.ts
   * passes undefined then). Default undefined: no server. 0 here picks a free port (tests).
   */
  metricsPort?: number;
  /** Bearer token the metrics port requires (METRICS_TOKEN). Default none. */
  metricsToken?: string;
  /**
   * Aborting it gives up a start still in progress (one waiting for an unreachable Redis):
   * what was opened is closed and startWorker rejects with the signal's reason.
   */
  signal?: AbortSignal;
}

export interface WorkerHandle {
  runtime: Runtime;
  queue: RoomsQueue;
  worker: Worker;
  /** The port `GET /metrics` listens on, or null without a metrics server. */
  metricsPort: number | null;
  /** Whether Redis answers, as the worker's connections report it (one log line per change). */
  redis: RedisState;
  /**
   * Waits for the run in progress (while Redis answers), then closes the worker, the queue,
   * the metrics port, Redis and Postgres. With Redis unreachable nothing waits on it: the
   * connections are dropped.
   */
  close(): Promise<void>;
}

/**
 * Starts the worker: warm-up, the job scheduler, the BullMQ worker (concurrency 1) and the
 * heartbeat. Postgres gets a pool of 2 (one run at a time, plus the warm-up's loads).
 */
export async function startWorker(config: WorkerConfig): Promise<WorkerHandle> {
  const { log, reconciliation } = config;
  const runtime = createRuntime({
    ...config.runtime,
    dbMax: 2,
    // The dashboard's per-minute counters count what users were served, not the warm-up.
    minuteCounters: false,
    // Not the request path: a warm-up load may wait longer on Redis than a page would.
    guard: { readDeadlineMs: 2_000, writeDeadlineMs: 5_000, ...config.runtime.guard },
  });
  // The reconciler's own connection: long batches need more than the web's 250 ms command timeout.
  const store = createIoredisStore(config.redisTcp, { commandTimeout: 10_000 });
  const queueName = config.queueName ?? ROOMS_QUEUE;
  const queue = createRoomsQueue(config.redisTcp, runtime.keys.prefix, queueName);
  const workerConnection = queueOptions(config.redisTcp, runtime.keys.prefix);
  const cacheOn = runtime.store !== null;
  const redis = new RedisState(log);
  // Without a listener BullMQ prints every failed reconnect of the queue's connection as a stack trace.
  queue.on("error", (error) => redis.error("queue", error));

  const reconciler = new RoomReconciliationService({
    db: runtime.db.db,
    store,
    keys: runtime.keys,
    ttls: runtime.ttls,
    // The 60 s threshold is meant to absorb a manual run next to a scheduled one; with a
    // shorter interval (development: 30 s) it would swallow every other scheduled run.
    minGapMs: Math.min(RECONCILE_MIN_GAP_MS, Math.floor(reconciliation.intervalMs / 2)),
    hooks: config.hooks,
  });
  const heartbeat = new Heartbeat({
    store,
    key: runtime.keys.workerHeartbeat,
    periodMs: config.heartbeatMs ?? 5_000,
    reconciliation: reconciliation.enabled && cacheOn,
    nextRunAt: async () => {
      const scheduler = await queue.getJobScheduler(RECONCILE_SCHEDULER_ID);
      return scheduler?.next ? new Date(scheduler.next).toISOString() : null;
    },
    onError: (error) => redis.error("heartbeat", error),
    onBeat: () => redis.ok(),
  });
  let worker: Worker | undefined;
  let metricsServer: MetricsServer | undefined;
  let closing: Promise<void> | undefined;

  const close = () =>
    (closing ??= (async () => {
      heartbeat.stop();
      if (worker) {
        const w = worker;
        // The run in progress finishes and BullMQ records it, for as long as Redis answers
        // (worker/index.ts bounds the whole stop). Once Redis is unreachable there is nothing
        // to wait for: a graceful close would wait for replies that cannot come.
        if (redis.down) await settle(w.close(true), CLOSE_GRACE_MS);
        else {
          const graceful = w.close();
          if ((await Promise.race([graceful.then(() => "closed" as const), redis.whenDown().then(() => "down" as const)])) === "down") {
            await settle(w.disconnect(), CLOSE_GRACE_MS);
            await settle(graceful, CLOSE_GRACE_MS);
          }
        }
      }
      // A QUIT that Redis cannot answer waits in ioredis' offline queue until it can: give
      // it a moment, then drop the connection.
      if (!(await settle(queue.close(), redis.down ? 0 : CLOSE_GRACE_MS))) await settle(queue.disconnect(), CLOSE_GRACE_MS);
      await workerConnection.release();
      await metricsServer?.close();
      await store.close();
      await runtime.close();
    })());

  /** `step`, unless the start is given up first (then everything opened so far is closed). */
  const step = async <T>(promise: Promise<T>): Promise<T> => {
    const signal = config.signal;
    if (!signal) return promise;
    signal.throwIfAborted();
    promise.catch(() => {}); // left to fail on its own once its connection is dropped
    let onAbort!: () => void;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
    });
    try {
      return await Promise.race([promise, aborted]);
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  };

  try {
    await start();
  } catch (error) {
    await close();
    throw error;
  }
  return {
    runtime,
    queue,
    worker: worker!,
    metricsPort: metricsServer?.port ?? null,
    redis,
    close,
  };

  async function start(): Promise<void> {
    if (config.reconciliation.enabled) {
      // The list thread loads beside the warm-up, so the first run does not wait for it.
      void listThread.ready().catch((error: unknown) => log.warn({ err: error }, "the list thread did not start (a run starts it again)"));
    }
    if (cacheOn && (config.warmRooms ?? 50) > 0) {
      // A failed warm-up is not fatal: the first requests fill the cache instead.
      await step(warmCache(runtime.rooms, { rooms: config.warmRooms }))
        .then((r) => log.info({ event: "warm-cache", ...r }, `cache warmed: ${r.rooms} rooms listed, ${r.warmed} loaded`))
        .catch((error: unknown) => {
          if (config.signal?.aborted) throw error;
          log.warn({ err: error }, "cache warm-up failed");
        });
    }

    worker = new Worker(
      queueName,
      createProcessor({
        reconciler,
        lock: new RunLock(store, runtime.keys.reconcileLock, { ttlMs: config.lockTtlMs }),
        rooms: cacheOn ? runtime.rooms : null,
        log,
        onReport: (report) => {
          heartbeat.setLastRun(report);
          recordReconcileReport(report);
          // The home page was rendered from the list and order the run just repaired: expire it.
          if (!report.skipped && !report.dryRun && (report.listRebuilt || report.added + report.removed + report.modified + report.activityRepaired + report.activityRemoved > 0)) {
            void runtime.pages?.invalidate(HOME_PAGE_TAGS, "hard");
          }
        },
      }),
      { ...workerConnection.options, concurrency: 1, name: `${hostname()}:${process.pid}` },
    );
    worker.on("error", (error) => redis.error("worker", error));
    worker.on("failed", (job, error) => {
      if (job?.name === JOB.reconcile) reconcileMetrics().runs.inc({ outcome: "failed" });
      const durationMs = job?.processedOn && job.finishedOn ? job.finishedOn - job.processedOn : undefined;
      const fields = { err: error, job: job?.name, jobId: job?.id, attempt: job?.attemptsMade, attempts: job?.opts.attempts, durationMs };
      // An attempt BullMQ will retry (Redis cut mid-run, say) is a warning; the job failing for good is an error.
      const retried = job !== undefined && job.attemptsMade < (job.opts.attempts ?? 1);
      if (retried) log.warn(fields, `job ${job.name} attempt ${job.attemptsMade} of ${job.opts.attempts} failed, to be retried: ${error.message}`);
      else log.error(fields, `job ${job?.name ?? "?"} failed: ${error.message}`);
    });

    if (reconciliation.enabled && cacheOn) {
      await step(
        queue.upsertJobScheduler(
          RECONCILE_SCHEDULER_ID,
          { every: reconciliation.intervalMs },
          { name: JOB.reconcile, data: { reason: "schedule" }, opts: defaultJobOptions },
        ),
      );
      log.info({ intervalMs: reconciliation.intervalMs }, `reconciliation on: every ${reconciliation.intervalMs} ms`);
    } else {
      // Off here means off: a scheduler left by an earlier configuration would keep enqueuing.
      await step(queue.removeJobScheduler(RECONCILE_SCHEDULER_ID));
      log.warn(
        cacheOn
          ? "reconciliation is OFF (ENABLE_ROOM_RECONCILIATION is not true, and NODE_ENV is not production): " +
              "no scheduled runs; manual runs (npm run reconcile) are still processed"
          : "reconciliation is OFF: the cache is disabled (CACHE_ENABLED=false or no Redis for the cache)",
      );
    }
    await step(heartbeat.start());

    reconcileMetrics(); // registered before the first scrape, so the series exist at zero
    if (config.metricsPort !== undefined) {
      // A taken port (a second worker on the same host) costs the scrape target, not the worker.
      metricsServer = await startMetricsServer({ registry: metrics().registry, port: config.metricsPort, token: config.metricsToken, log })
        .then((server) => {
          log.info({ port: server.port }, `metrics on :${server.port}/metrics`);
          return server;
        })
        .catch((error: unknown) => {
          log.warn({ err: error, port: config.metricsPort }, "metrics port unavailable; running without it");
          return undefined;
        });
    }
  }
}

/** True when `promise` settled within `ms` (its outcome is not needed, only that it is over). */
async function settle(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const done = promise.then(
    () => true,
    () => true,
  );
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([done, late]);
  } finally {
    clearTimeout(timer);
  }
}
