/*
 * The worker process (DESIGN.md, Processes): reconciles the room cache on a BullMQ job
 * scheduler, warms the cache on start, and heartbeats for /api/health.
 *
 * Development: `npm run worker` (tsx). Production needs no dev tooling: `npm run
 * worker:build` bundles this entry with esbuild into `dist/worker.mjs` (our code and its
 * `@/` imports inlined; packages stay external and load from node_modules), and the list
 * thread that parses the live list's COPY beside it into `dist/copy-rows.worker.mjs`; `npm run
 * worker:start` runs it with plain `node`. Build it where `next build` runs.
 *
 * Stop it with SIGTERM or SIGINT: the run in progress finishes (`worker.close()` waits for
 * it), then the queue, Redis and Postgres are closed and the process exits 0. If that takes
 * longer than SHUTDOWN_TIMEOUT_MS it exits 1; the run lock expires on its own.
 */
import "../scripts/load-env";
import { envOrExit } from "../lib/env-or-exit";
import { logger, setLogService } from "../lib/observability/logger";
import { operatorAccess } from "../lib/observability/operator-access";
import { runtimeConfigFromEnv } from "../lib/runtime";
import { startWorker } from "./start-worker";

/** Under Kubernetes' default 30 s grace period, so the process ends on its own terms. */
const SHUTDOWN_TIMEOUT_MS = 25_000;

const config = envOrExit();
setLogService("worker");
const log = logger();
if (!config.redisTcp) {
  log.fatal("the worker needs Redis over TCP for BullMQ: set REDIS_URL or REDIS_CLUSTER_NODES (the REST variables are not enough)");
  process.exit(1);
}

// Production without METRICS_TOKEN serves metrics to no one, the worker's port included.
const metricsOpen = operatorAccess(config).kind !== "off";
if (config.workerMetricsPort && !metricsOpen) {
  log.warn("metrics port off: production serves metrics only with METRICS_TOKEN set (Bearer on the worker's port)");
}

/** Aborted by SIGTERM/SIGINT: a start still waiting (for an unreachable Redis) is given up. */
const startUp = new AbortController();
const starting = startWorker({
  runtime: runtimeConfigFromEnv(config),
  redisTcp: config.redisTcp,
  reconciliation: { enabled: config.reconciliationEnabled, intervalMs: config.reconcileIntervalMs },
  log,
  metricsPort: (metricsOpen && config.workerMetricsPort) || undefined, // WORKER_METRICS_PORT=0: no server
  metricsToken: config.metricsToken,
  signal: startUp.signal,
});

let stopping = false;
/**
 * The run in progress finishes while Redis answers; with Redis unreachable, nothing waits
 * on it (a start still waiting is given up, connections dropped), so the process ends within seconds.
 */
async function stop(signal: NodeJS.Signals): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, `${signal}: letting the current run finish, then closing`);
  const deadline = setTimeout(() => {
    log.error({ timeoutMs: SHUTDOWN_TIMEOUT_MS }, "shutdown timed out; exiting with the run unfinished");
    process.exit(1);
  }, SHUTDOWN_TIMEOUT_MS);
  startUp.abort(new Error(`${signal} during start-up`));
  try {
    // A start given up has closed what it had opened, and rejects.
    const handle = await starting.catch(() => null);
    await handle?.close();
    clearTimeout(deadline);
    log.info("worker stopped");
    process.exit(0);
  } catch (error) {
    log.error({ err: error }, "error while stopping");
    process.exit(1);
  }
}
process.on("SIGTERM", (s) => void stop(s));
process.on("SIGINT", (s) => void stop(s));

try {
  const handle = await starting;
  log.info({ pid: process.pid, queue: handle.queue.name }, "worker started");
} catch (error) {
  // Given up by a signal: stop() finishes the job.
  if (!startUp.signal.aborted) {
    log.fatal({ err: error }, "worker failed to start");
    process.exit(1);
  }
}
