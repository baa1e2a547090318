import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { QueueEvents, UnrecoverableError } from "bullmq";
import pino from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { pageCacheKeys } from "../lib/page-cache/page-cache";
import { HOME_PAGE_TAGS } from "../lib/page-cache/page-tags";
import { JOB, ROOMS_QUEUE, queueOptions } from "../lib/queue/contract";
import { createRoomsQueue, enqueue, type RoomsQueue } from "../lib/queue/producer";
import { RunLock } from "../lib/queue/run-lock";
import type { Runtime } from "../lib/runtime";
import type { Session } from "../lib/session/session";
import { readWorkerStatus } from "../lib/worker-status";
import { REDIS_URL } from "../tests/support/services";
import { createTestDatabase, createTestRedis, createTestRuntime, type TestDatabase, type TestRedis } from "../tests/support/test-env";
import { eventually } from "../tests/support/worker-process";
import { startWorker, type WorkerConfig, type WorkerHandle } from "./start-worker";

const owner: Session = { id: "owner-session-00001", name: "Owner" };

/** The worker in this process, on its own queue name and prefix: the app's view of a run. */
describe("startWorker", () => {
  let db: TestDatabase;
  let redis: TestRedis;
  let app: Runtime;
  let queueName: string;
  let queue: RoomsQueue;
  let events: QueueEvents;
  let handle: WorkerHandle | undefined;

  beforeEach(async () => {
    db = await createTestDatabase();
    redis = createTestRedis();
    app = createTestRuntime(db, redis);
    queueName = `rooms-test-${randomBytes(4).toString("hex")}`;
    queue = createRoomsQueue(REDIS_URL, redis.prefix, queueName);
    events = new QueueEvents(queueName, queueOptions(REDIS_URL, redis.prefix));
    await events.waitUntilReady();
  });

  afterEach(async () => {
    await handle?.close();
    handle = undefined;
    await events.close();
    await queue.obliterate({ force: true });
    await queue.close();
    await app.close();
    await redis.close();
    await db.drop();
  });

  const start = async (overrides: Partial<WorkerConfig> = {}) => {
    handle = await startWorker({
      runtime: { databaseUrl: db.url, redis: { driver: "ioredis", url: REDIS_URL }, cacheEnabled: true, keyPrefix: redis.prefix, mode: "test" },
      redisUrl: REDIS_URL,
      reconciliation: { enabled: false, intervalMs: 60_000 },
      log: pino({ level: "silent" }),
      queueName,
      warmRooms: 0,
      ...overrides,
    });
    return handle;
  };

  it("serves an out-of-band SQL rename through the app after a triggered run", async () => {
    const room = await app.roomWrites.create(owner, { name: "Old Name" });
    await start();
    expect((await app.rooms.getAllRooms()).data.map((r) => r.name)).toEqual(["Old Name"]);
    await db.sql`update rooms set name = 'New Name', version = nextval('room_version_seq'), updated_at = now() where id = ${room.id}`;
    // The cache does not know yet: this is the drift the worker exists for.
    expect((await app.rooms.getAllRooms()).data.map((r) => r.name)).toEqual(["Old Name"]);

    const pages = pageCacheKeys(redis.prefix);
    const clockBefore = Number(await redis.raw.get(pages.clock));
    const job = await enqueue(queue, JOB.reconcile, { force: true, reason: "test" });
    expect(await job.waitUntilFinished(events, 10_000)).toMatchObject({ modified: 1, listRebuilt: true });
    const after = await app.rooms.getAllRooms();
    expect(after.data.map((r) => r.name)).toEqual(["New Name"]);
    expect(after.source).toBe("cache");
    // The home page rendered from the drifted list is expired too (lib/page-cache): its
    // tag carries a hard mark newer than any render stamped before the repair.
    const mark = await eventually(async () => {
      const m = Number(await redis.raw.hget(pages.hard, HOME_PAGE_TAGS[0]!));
      return m > clockBefore ? m : undefined;
    }, 5_000);
    expect(mark).toBeGreaterThan(clockBefore);
  });

  it("answers `npm run reconcile` (scripts/reconcile.ts): a dry run reports, a real run repairs", async () => {
    const room = await app.roomWrites.create(owner, { name: "Before" });
    await app.rooms.getRoom(room.id);
    await db.sql`update rooms set name = 'After', version = nextval('room_version_seq') where id = ${room.id}`;
    await start({ queueName: ROOMS_QUEUE }); // the CLI talks to the contract's queue; the prefix isolates it
    const cli = (...args: string[]) =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        const child = spawn(process.execPath, ["--import", "tsx", "scripts/reconcile.ts", ...args], {
          env: { PATH: process.env.PATH, NODE_ENV: "test", DATABASE_URL: db.url, REDIS_URL, REDIS_KEY_PREFIX: redis.prefix },
          stdio: ["ignore", "pipe", "pipe"],
        });
        let out = "";
        child.stdout.on("data", (c: Buffer) => (out += c));
        child.stderr.on("data", (c: Buffer) => (out += c));
        child.on("exit", (code) => resolve({ code, out }));
      });
    const dry = await cli("--dry-run");
    expect(dry.code).toBe(0);
    expect(dry.out).toContain("dry run: nothing was repaired");
    expect(JSON.parse(dry.out.trim().split("\n").pop()!)).toMatchObject({ dryRun: true, modified: 1 });
    expect(JSON.parse((await redis.raw.get(app.keys.room(room.id)))!).data.name).toBe("Before");

    const real = await cli();
    expect(real.code).toBe(0);
    expect(JSON.parse(real.out.trim().split("\n").pop()!)).toMatchObject({ dryRun: false, modified: 1 });
    expect(JSON.parse((await redis.raw.get(app.keys.room(room.id)))!).data.name).toBe("After");
  }, 30_000);

  it("warms rooms:all, rooms:count and the newest rooms on start", async () => {
    const ids: string[] = [];
    for (const name of ["One", "Two", "Three"]) ids.push((await app.roomWrites.create(owner, { name })).id);
    await start({ warmRooms: 2 });
    const cached = await redis.raw.mget(app.keys.roomsAll, app.keys.roomsCount, ...ids.map((id) => app.keys.room(id)));
    // Newest first: Three and Two are warmed, One is not.
    expect(cached.map((v) => v !== null)).toEqual([true, true, false, true, true]);
  });

  it("fails an invalid payload at once, without retries", async () => {
    await start();
    await expect(enqueue(queue, JOB.reconcile, { force: "yes" } as never)).rejects.toBeInstanceOf(UnrecoverableError);
    const bad = await queue.add(JOB.reconcile, { force: "yes" });
    await expect(bad.waitUntilFinished(events, 10_000)).rejects.toThrow(/invalid reconcile-rooms payload/);
    const unknown = await queue.add("drop-everything", {});
    await expect(unknown.waitUntilFinished(events, 10_000)).rejects.toThrow(/unknown job/);
    for (const job of [bad, unknown]) {
      const state = (await queue.getJob(job.id!))!;
      expect(await state.getState()).toBe("failed");
      expect(state.attemptsMade).toBe(1);
    }
  });

  it("never runs twice at once: a scheduled run skips, a forced run waits for the lock", async () => {
    const other = await new RunLock(app.store!, app.keys.reconcileLock).acquire();
    expect(other).not.toBeNull();
    await start();
    const scheduled = await enqueue(queue, JOB.reconcile, { reason: "schedule" });
    expect(await scheduled.waitUntilFinished(events, 10_000)).toMatchObject({ skipped: true, skipReason: "locked" });
    const forced = await enqueue(queue, JOB.reconcile, { force: true }, { backoff: { type: "fixed", delay: 200 } });
    await eventually(async () => ((await queue.getJob(forced.id!))!.attemptsMade >= 1 ? true : undefined));
    await other!.release();
    expect(await forced.waitUntilFinished(events, 10_000)).toMatchObject({ skipped: false });
    expect((await queue.getJob(forced.id!))!.attemptsMade).toBeGreaterThanOrEqual(2);
  });

  it("reports its status for /api/health: heartbeat, last run, last sync, next run", async () => {
    expect(await readWorkerStatus(app)).toMatchObject({ up: false, lastRun: null, lastSync: null });
    await start({ reconciliation: { enabled: true, intervalMs: 60_000 } });
    // Upserting the scheduler enqueues the first run at once.
    const status = await eventually(async () => {
      const s = await readWorkerStatus(app);
      return s.lastRun && Date.parse(s.nextRunAt ?? "") > Date.now() ? s : undefined;
    });
    expect(status.up).toBe(true);
    expect(status.lastRun).toMatchObject({ skipped: false, reason: "schedule" });
    expect(status.lastSync).toBe(status.lastRun!.finishedAt);
    expect(Date.parse(status.lastBeatAt!)).toBeLessThanOrEqual(Date.now());
    expect(Date.parse(status.nextRunAt!) - Date.parse(status.lastRun!.startedAt)).toBeGreaterThan(50_000);
    expect(await redis.raw.ttl(app.keys.workerHeartbeat)).toBeGreaterThan(0);
  });
});
