import type { Job } from "bullmq";
import { QueueEvents } from "bullmq";
import pino from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createKeys } from "../lib/cache/keys";
import { JOB, ROOMS_QUEUE, queueOptions } from "../lib/queue/contract";
import { createRoomsQueue, enqueue, type RoomsQueue } from "../lib/queue/producer";
import type { ReconcileReport, ReconcileSummary } from "../lib/reconcile/reconciliation-service";
import { closedPort, tcpProxy } from "../tests/support/net-faults";
import { REDIS_URL } from "../tests/support/services";
import { createTestDatabase, createTestRedis, type TestDatabase, type TestRedis } from "../tests/support/test-env";
import { eventually, spawnWorker, type WorkerProcess } from "../tests/support/worker-process";
import { startWorker } from "./start-worker";

/** worker/index.ts as real processes: the scheduler across two workers, and SIGTERM mid-run. */
describe("worker process", () => {
  let db: TestDatabase;
  let redis: TestRedis;
  let queue: RoomsQueue;
  const workers: WorkerProcess[] = [];

  beforeEach(async () => {
    db = await createTestDatabase();
    redis = createTestRedis();
    queue = createRoomsQueue({ driver: "ioredis", url: REDIS_URL }, redis.prefix);
    await db.sql`insert into rooms (name, owner_id, owner_name) select 'Room ' || i, 'o', 'O' from generate_series(1, 20) i`;
  });

  afterEach(async () => {
    for (const w of workers.splice(0)) {
      if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill("SIGKILL");
      await w.exited;
    }
    await queue.close();
    await redis.close();
    await db.drop();
  });

  const keys = () => createKeys(redis.prefix);
  const history = async () =>
    (await redis.raw.lrange(keys().reconcileHistory, 0, -1)).map((s) => JSON.parse(s) as ReconcileSummary);
  const spawn = (extra: Record<string, string>) => {
    const w = spawnWorker({ databaseUrl: db.url, prefix: redis.prefix, extra });
    workers.push(w);
    return w;
  };
  const started = (w: WorkerProcess) => w.waitForLine((l) => l.msg === "worker started");

  it("executes each scheduled run exactly once with two workers", async () => {
    const env = { ENABLE_ROOM_RECONCILIATION: "true", RECONCILE_INTERVAL_MS: "1500" };
    const [a, b] = [spawn(env), spawn(env)];
    await Promise.all([started(a), started(b)]);
    // Several intervals: wait for five recorded runs.
    await eventually(async () => ((await history()).length >= 5 ? true : undefined), 30_000, 100);
    a.child.kill("SIGTERM");
    b.child.kill("SIGTERM");
    expect(await a.exited).toEqual({ code: 0, signal: null });
    expect(await b.exited).toEqual({ code: 0, signal: null });

    const runs = (await history()).reverse();
    const ids = runs.map((r) => r.jobId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^repeat:reconcile-rooms-every:\d+$/);
    // Never two at once: each run starts after the previous one finished.
    for (let i = 1; i < runs.length; i++) expect(Date.parse(runs[i]!.startedAt)).toBeGreaterThanOrEqual(Date.parse(runs[i - 1]!.finishedAt));
    // Every run BullMQ completed is recorded once, and every recorded run was one completed job, started once.
    const completed = (await queue.getCompleted(0, -1)) as Job<unknown, ReconcileReport>[];
    const executed = completed.filter((j) => j.name === JOB.reconcile && !j.returnvalue.skipped);
    expect(executed.map((j) => j.id).sort()).toEqual([...ids].sort());
    for (const job of executed) expect(job.attemptsStarted).toBe(1);
    expect(await queue.getFailedCount()).toBe(0);
  }, 60_000);

  it("in production without METRICS_TOKEN, opens no metrics port (and says so once)", async () => {
    const port = await closedPort();
    const w = spawn({ NODE_ENV: "production", SESSION_SECRET: "s".repeat(32), ENABLE_ROOM_RECONCILIATION: "false", WORKER_METRICS_PORT: String(port) });
    await started(w);
    expect(w.lines.filter((l) => String(l.msg).startsWith("metrics port off"))).toHaveLength(1);
    await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();
    w.child.kill("SIGTERM");
    expect(await w.exited).toEqual({ code: 0, signal: null });
  }, 30_000);

  /** Resolves with the exit, or with "still running" once `ms` have passed (the process is then killed by afterEach). */
  const exitWithin = (w: WorkerProcess, ms: number) =>
    Promise.race([w.exited, new Promise<"still running">((r) => setTimeout(() => r("still running"), ms).unref())]);
  const redisDownLines = (w: WorkerProcess) => w.lines.filter((l) => l.redis === "down");
  const redisUpLines = (w: WorkerProcess) => w.lines.filter((l) => l.redis === "up");

  it("Redis refused from the start: one line says so (no trace per retry), and SIGTERM stops it within 5 s", async () => {
    const port = await closedPort();
    const w = spawn({ REDIS_URL: `redis://127.0.0.1:${port}`, ENABLE_ROOM_RECONCILIATION: "true", RECONCILE_INTERVAL_MS: "60000" });
    await w.waitForLine((l) => l.redis === "down");
    // Over a few reconnect periods (ioredis backs off to 5 s): still one line, and no stack traces.
    await new Promise((r) => setTimeout(r, 7_000));
    expect(redisDownLines(w)).toHaveLength(1);
    expect(w.lines.filter((l) => Number(l.level) >= 50)).toEqual([]);
    expect(w.output()).not.toMatch(/ECONNREFUSED[\s\S]*\n\s+at /);
    expect(w.output().split("\n").filter((line) => line.includes("ECONNREFUSED"))).toHaveLength(1);

    w.child.kill("SIGTERM");
    // The requirement itself (a supervisor's grace period), not a performance figure.
    expect(await exitWithin(w, 5_000)).toEqual({ code: 0, signal: null });
    expect(w.lines.at(-1)?.msg).toBe("worker stopped");
  }, 30_000);

  it("Redis cut while running: one line down, one line up again, and SIGTERM while it is down stops within 5 s", async () => {
    const proxy = await tcpProxy(Number(new URL(REDIS_URL).port || 6379), new URL(REDIS_URL).hostname);
    try {
      const w = spawn({ REDIS_URL: `redis://127.0.0.1:${proxy.port}`, ENABLE_ROOM_RECONCILIATION: "true", RECONCILE_INTERVAL_MS: "60000" });
      await started(w);
      await proxy.cut();
      await w.waitForLine((l) => l.redis === "down");
      await proxy.restore();
      await w.waitForLine((l) => l.redis === "up");
      expect(redisDownLines(w)).toHaveLength(1);
      expect(redisUpLines(w)).toHaveLength(1);

      await proxy.cut();
      await eventually(async () => (redisDownLines(w).length === 2 ? true : undefined));
      w.child.kill("SIGTERM");
      expect(await exitWithin(w, 5_000)).toEqual({ code: 0, signal: null });
      expect(w.lines.filter((l) => Number(l.level) >= 50)).toEqual([]);
    } finally {
      await proxy.close();
    }
  }, 60_000);

  it("finishes the run in progress on SIGTERM, exits 0, leaves no lock, and the next run works", async () => {
    const w = spawn({ ENABLE_ROOM_RECONCILIATION: "false" });
    await started(w);
    // Hold the rooms table so the run blocks in its first Postgres read, mid-run.
    let unblock!: () => void;
    const released = new Promise<void>((r) => (unblock = r));
    let locked!: () => void;
    const holding = new Promise<void>((r) => (locked = r));
    const blocker = db.sql.begin(async (tx) => {
      await tx`lock table rooms in access exclusive mode`;
      locked();
      await released;
    });
    await holding;
    const eventsConnection = queueOptions({ driver: "ioredis", url: REDIS_URL }, redis.prefix);
    const events = new QueueEvents(ROOMS_QUEUE, eventsConnection.options);
    try {
      await events.waitUntilReady();
      const job = await enqueue(queue, JOB.reconcile, { force: true, reason: "sigterm-test" });
      await eventually(async () => {
        const [row] = await db.sql`select 1 from pg_stat_activity where datname = ${db.name} and wait_event_type = 'Lock'`;
        return row ? true : undefined;
      });
      expect(await redis.raw.exists(keys().reconcileLock)).toBe(1);

      w.child.kill("SIGTERM");
      await w.waitForLine((l) => l.signal === "SIGTERM");
      expect(w.child.exitCode).toBeNull(); // still finishing the run
      unblock();
      await blocker;
      expect(await w.exited).toEqual({ code: 0, signal: null });

      expect(await job.waitUntilFinished(events, 5_000)).toMatchObject({ skipped: false, scanned: 20, added: 0 }); // warmed at start: all 20 cached
      expect(await redis.raw.exists(keys().reconcileLock)).toBe(0);
      expect((await history()).map((h) => h.reason)).toEqual(["sigterm-test"]);

      // The next run, by a fresh worker, takes the lock and completes.
      const next = await startWorker({
        runtime: { databaseUrl: db.url, redis: { driver: "ioredis", url: REDIS_URL }, cacheEnabled: true, keyPrefix: redis.prefix, mode: "test" },
        redisTcp: { driver: "ioredis", url: REDIS_URL },
        reconciliation: { enabled: false, intervalMs: 60_000 },
        log: pino({ level: "silent" }),
        warmRooms: 0,
      });
      try {
        const again = await enqueue(queue, JOB.reconcile, { force: true, reason: "after-sigterm" });
        expect(await again.waitUntilFinished(events, 10_000)).toMatchObject({ skipped: false, added: 0, removed: 0, modified: 0 });
      } finally {
        await next.close();
      }
      expect(await redis.raw.exists(keys().reconcileLock)).toBe(0);
    } finally {
      unblock();
      await blocker.catch(() => {});
      await events.close();
      await eventsConnection.release();
    }
  }, 60_000);
});
