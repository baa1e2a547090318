import { defineConfig } from "vitest/config";
import base from "./vitest.config";

/*
 * The integration tests of every Redis use, run again on a Redis Cluster: the cache
 * protocol, the page cache, realtime, rate limits, the queue and worker, the reconciler.
 * `npm test` runs them with LOBBY_TEST_REDIS_CLUSTER naming a local cluster
 * (scripts/redis-cluster.ts), which tests/support/services.ts turns into TEST_REDIS.
 */
export const CLUSTER_TESTS = [
  "lib/rooms/room-cache-service.test.ts",
  "lib/cache/cache-aside.test.ts",
  "lib/cache/invalidation/log.test.ts",
  "lib/messages/message-service.test.ts",
  "lib/rooms/room-activity.test.ts",
  "lib/stats/stats-service.test.ts",
  "lib/search/search-service.test.ts",
  "lib/search/search-limits.test.ts",
  "lib/page-cache/next-cache-handler.test.ts",
  "lib/realtime/event-bus.test.ts",
  "lib/realtime/sse-reset.test.ts",
  "lib/observability/minute-counters.test.ts",
  "lib/health.test.ts",
  "lib/queue/run-lock.test.ts",
  "worker/start-worker.test.ts",
  "lib/reconcile/reconciliation-service.test.ts",
  "lib/reconcile/messages.test.ts",
];

// Replaced, not merged: vitest merges arrays by concatenation.
export default defineConfig({ ...base, test: { ...base.test, include: CLUSTER_TESTS } });
