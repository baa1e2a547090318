import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { useInstances } from "../../tests/support/instances";
import { closedPort } from "../../tests/support/net-faults";
import { REDIS_URL } from "../../tests/support/services";
import { JOB, RECONCILE_SCHEDULER_ID } from "../queue/contract";
import { closeSharedQueues, sharedRoomsQueue } from "../queue/shared-queue";
import { minuteId } from "../observability/minute-counters";
import { loadDashboard, RECONCILE_RUNS_SHOWN } from "./dashboard-data";

/** The dashboard's loader against real Postgres and Redis, with seeded counters, run history and queue. */
describe("loadDashboard", () => {
  const t = useInstances({ truncate: "rooms" });
  afterEach(async () => {
    await closeSharedQueues();
  });

  const run = (i: number) =>
    JSON.stringify({
      startedAt: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString(),
      finishedAt: new Date(Date.UTC(2026, 0, 1, 0, i, 1)).toISOString(),
      durationMs: 100 + i,
      scanned: 50,
      added: i % 3,
      removed: 1,
      modified: i,
      corrupt: 0,
      refused: 0,
      listRebuilt: false,
      countFixed: false,
      skipped: false,
      dryRun: false,
      reason: "schedule",
    });

  it("aggregates the hour's buckets across instances, the last 20 runs and the queue", async () => {
    const rt = t.instance({ minuteCounters: true });
    const now = Date.now();
    // What two web instances' flushes leave: the current minute, ten minutes ago, and one past the hour.
    const current = rt.keys.metricsMinute(minuteId(now));
    const earlier = rt.keys.metricsMinute(minuteId(now - 10 * 60_000));
    await t.redis.raw.hset(current, { "rooms-all:hit": 8, "rooms-all:miss": 2, "served:cache": 8, "served:db": 2 });
    await t.redis.raw.hincrby(current, "rooms-all:hit", 10); // another instance's flush
    await t.redis.raw.hset(earlier, { "room:hit": 1, "room:miss": 1, "room:error": 2, "served:db": 3, "errors:api": 1 });
    await t.redis.raw.hset(rt.keys.metricsMinute(minuteId(now - 2 * 3_600_000)), { "rooms-all:miss": 99 }); // outside the hour
    for (let i = 0; i < 25; i++) await t.redis.raw.lpush(rt.keys.reconcileHistory, run(i));

    const queueName = `dash-${randomBytes(4).toString("hex")}`;
    const queue = sharedRoomsQueue({ driver: "ioredis", url: REDIS_URL }, t.redis.prefix, queueName);
    expect(sharedRoomsQueue({ driver: "ioredis", url: REDIS_URL }, t.redis.prefix, queueName)).toBe(queue); // once per process
    await queue.add(JOB.warm, {});
    await queue.upsertJobScheduler(RECONCILE_SCHEDULER_ID, { every: 60_000 }, { name: JOB.reconcile, data: { reason: "schedule" } });

    try {
      const data = await loadDashboard({ runtime: rt, queue, now });
      expect(data.cacheEnabled).toBe(true);
      expect(data.breaker).toBe("closed");
      expect(data.health.postgres.up).toBe(true);
      expect(data.health.redis.up).toBe(true);

      if (!data.traffic.available) throw new Error(data.traffic.reason);
      expect(data.traffic.minutes).toHaveLength(60);
      expect(data.traffic.minutes.at(-1)!.at).toBe(new Date(Math.floor(now / 60_000) * 60_000).toISOString());
      expect(data.traffic.caches).toEqual([
        { cache: "rooms-all", hit: 18, miss: 2, error: 0, stale: 0, hitRate: 0.9 },
        { cache: "room", hit: 1, miss: 1, error: 2, stale: 0, hitRate: 0.25 },
      ]);
      expect(data.traffic.served).toEqual({ cache: 8, db: 5, stale: 0 });
      expect(data.traffic.errors).toBe(3); // two cache errors, one failed request

      if (!data.reconcile.available) throw new Error(data.reconcile.reason);
      expect(data.reconcile.runs).toHaveLength(RECONCILE_RUNS_SHOWN);
      expect(data.reconcile.runs[0]).toMatchObject({ modified: 24, durationMs: 124 }); // newest first
      expect(data.reconcile.runs.at(-1)).toMatchObject({ modified: 5 });

      if (!data.queue.available) throw new Error(data.queue.reason);
      expect(data.queue).toMatchObject({ active: 0, failed: 0, everyMs: 60_000 });
      // The job added, plus the scheduler's first iteration (waiting at once, or delayed).
      expect(data.queue.waiting + data.queue.delayed).toBe(2);
      expect(Date.parse(data.queue.nextRunAt!)).toBeGreaterThan(now - 1_000);
    } finally {
      await queue.obliterate({ force: true });
    }
  });

  it("renders every part as unavailable, within its deadline and without throwing, when Redis is down", async () => {
    const port = await closedPort();
    const down = `redis://127.0.0.1:${port}`;
    const rt = t.instance({ redis: { driver: "ioredis", url: down }, guard: {}, minuteCounters: true });
    // BullMQ's connection waits for Redis forever (maxRetriesPerRequest: null): only the
    // part's deadline ends the queue's wait, and its reason says so. No wall clock here: a
    // loaded machine makes everything slower, but never turns a deadline into an answer.
    const data = await loadDashboard({ runtime: rt, queue: sharedRoomsQueue({ driver: "ioredis", url: down }, t.redis.prefix, "dash-down"), timeoutMs: 500 });
    expect(data.queue).toEqual({ available: false, reason: expect.stringContaining("no answer within 500 ms") });
    expect(data.cacheEnabled).toBe(true);
    expect(data.traffic.available).toBe(false);
    expect(data.reconcile.available).toBe(false);
    expect(data.queue.available).toBe(false);
    expect(data.health.redis.up).toBe(false);
    expect(data.health.postgres.up).toBe(true);
  });

  it("says the cache is off when CACHE_ENABLED=false, with no errors from Redis parts", async () => {
    const rt = t.instance({ cacheEnabled: false });
    const data = await loadDashboard({ runtime: rt, queue: null });
    expect(data.cacheEnabled).toBe(false);
    expect(data.breaker).toBeNull();
    expect(data.traffic).toEqual({ available: false, reason: "cache disabled" });
    expect(data.reconcile).toEqual({ available: false, reason: "cache disabled" });
    expect(data.health.status).toBe("ok");
  });
});
