import { spawn } from "node:child_process";
import { UnrecoverableError } from "bullmq";
import { describe, expect, it } from "vitest";
import { pageCacheKeys } from "../lib/page-cache/page-cache";
import { HOME_PAGE_TAGS } from "../lib/page-cache/page-tags";
import { JOB, ROOMS_QUEUE } from "../lib/queue/contract";
import { enqueue } from "../lib/queue/producer";
import { RunLock } from "../lib/queue/run-lock";
import type { Session } from "../lib/session/session";
import { readWorkerStatus } from "../lib/worker-status";
import { TEST_REDIS_ENV } from "../tests/support/services";
import { useWorkerHarness } from "../tests/support/worker-harness";
import { eventually } from "../tests/support/worker-process";

const owner: Session = { id: "owner-session-00001", name: "Owner" };

/** The worker in this process, on its own queue name and prefix: the app's view of a run. */
describe("startWorker", () => {
  const w = useWorkerHarness("rooms-test");

  it("serves an out-of-band SQL rename through the app after a triggered run", async () => {
    const room = await w.app.roomWrites.create(owner, { name: "Old Name" });
    await w.start();
    // Cached (a fresh runtime reads Postgres until it has read the invalidation log once).
    await expect.poll(async () => (await w.app.rooms.getAllRooms()).source, { timeout: 10_000 }).toBe("cache");
    expect((await w.app.rooms.getAllRooms()).data.map((r) => r.name)).toEqual(["Old Name"]);
    await w.db.sql`update rooms set name = 'New Name', version = nextval('room_version_seq'), updated_at = now() where id = ${room.id}`;
    // The cache does not know yet: this is the drift the worker exists for.
    expect((await w.app.rooms.getAllRooms()).data.map((r) => r.name)).toEqual(["Old Name"]);

    const pages = pageCacheKeys(w.redis.prefix);
    const clockBefore = Number((await w.redis.raw.hget(pages.marks, "clock")) ?? 0);
    const job = await enqueue(w.queue, JOB.reconcile, { force: true, reason: "test" });
    expect(await job.waitUntilFinished(w.events, 10_000)).toMatchObject({ modified: 1, listRebuilt: true });
    const after = await w.app.rooms.getAllRooms();
    expect(after.data.map((r) => r.name)).toEqual(["New Name"]);
    expect(after.source).toBe("cache");
    // The home page rendered from the drifted list is expired too (lib/page-cache): its
    // tag carries a hard mark newer than any render stamped before the repair.
    const mark = await eventually(async () => {
      const m = Number(await w.redis.raw.hget(pages.marks, `h:${HOME_PAGE_TAGS[0]!}`));
      return m > clockBefore ? m : undefined;
    }, 5_000);
    expect(mark).toBeGreaterThan(clockBefore);
  });

  it("answers `npm run reconcile` (scripts/reconcile.ts): a dry run reports, a real run repairs", async () => {
    const room = await w.app.roomWrites.create(owner, { name: "Before" });
    // Cached (a fresh runtime reads Postgres until it has read the invalidation log once).
    await expect.poll(async () => (await w.app.rooms.getRoom(room.id)).source, { timeout: 10_000 }).toBe("cache");
    await w.db.sql`update rooms set name = 'After', version = nextval('room_version_seq') where id = ${room.id}`;
    await w.start({ queueName: ROOMS_QUEUE }); // the CLI talks to the contract's queue; the prefix isolates it
    const cli = (...args: string[]) =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        const child = spawn(process.execPath, ["--import", "tsx", "scripts/reconcile.ts", ...args], {
          env: { PATH: process.env.PATH, NODE_ENV: "test", DATABASE_URL: w.db.url, ...TEST_REDIS_ENV, REDIS_KEY_PREFIX: w.redis.prefix },
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
    expect(JSON.parse((await w.redis.raw.get(w.app.keys.room(room.id)))!).data.name).toBe("Before");

    const real = await cli();
    expect(real.code).toBe(0);
    expect(JSON.parse(real.out.trim().split("\n").pop()!)).toMatchObject({ dryRun: false, modified: 1 });
    expect(JSON.parse((await w.redis.raw.get(w.app.keys.room(room.id)))!).data.name).toBe("After");
  }, 60_000); // two CLI processes, each compiled by tsx at start: 6 s on a quiet machine, over 30 s on one loaded four times over

  it("warms rooms:all, rooms:count and the newest rooms on start", async () => {
    const ids: string[] = [];
    for (const name of ["One", "Two", "Three"]) ids.push((await w.app.roomWrites.create(owner, { name })).id);
    await w.start({ warmRooms: 2 });
    // One GET each: on a cluster these keys live on different slots.
    const cached = await Promise.all([w.app.keys.roomsAll, w.app.keys.roomsCount, ...ids.map((id) => w.app.keys.room(id))].map((k) => w.redis.raw.get(k)));
    // Newest first: Three and Two are warmed, One is not.
    expect(cached.map((v) => v !== null)).toEqual([true, true, false, true, true]);
  });

  it("fails an invalid payload at once, without retries", async () => {
    await w.start();
    await expect(enqueue(w.queue, JOB.reconcile, { force: "yes" } as never)).rejects.toBeInstanceOf(UnrecoverableError);
    const bad = await w.queue.add(JOB.reconcile, { force: "yes" });
    await expect(bad.waitUntilFinished(w.events, 10_000)).rejects.toThrow(/invalid reconcile-rooms payload/);
    const unknown = await w.queue.add("drop-everything", {});
    await expect(unknown.waitUntilFinished(w.events, 10_000)).rejects.toThrow(/unknown job/);
    for (const job of [bad, unknown]) {
      const state = (await w.queue.getJob(job.id!))!;
      expect(await state.getState()).toBe("failed");
      expect(state.attemptsMade).toBe(1);
    }
  });

  it("never runs twice at once: a scheduled run skips, a forced run waits for the lock", async () => {
    const other = await new RunLock(w.app.store!, w.app.keys.reconcileLock).acquire();
    expect(other).not.toBeNull();
    await w.start();
    const scheduled = await enqueue(w.queue, JOB.reconcile, { reason: "schedule" });
    expect(await scheduled.waitUntilFinished(w.events, 10_000)).toMatchObject({ skipped: true, skipReason: "locked" });
    const forced = await enqueue(w.queue, JOB.reconcile, { force: true }, { backoff: { type: "fixed", delay: 200 } });
    await eventually(async () => ((await w.queue.getJob(forced.id!))!.attemptsMade >= 1 ? true : undefined));
    await other!.release();
    expect(await forced.waitUntilFinished(w.events, 10_000)).toMatchObject({ skipped: false });
    expect((await w.queue.getJob(forced.id!))!.attemptsMade).toBeGreaterThanOrEqual(2);
  });

  it("reports its status for /api/health: heartbeat, last run, last sync, next run", async () => {
    expect(await readWorkerStatus(w.app)).toMatchObject({ up: false, lastRun: null, lastSync: null });
    await w.start({ reconciliation: { enabled: true, intervalMs: 60_000 } });
    // Upserting the scheduler enqueues the first run at once.
    const status = await eventually(async () => {
      const s = await readWorkerStatus(w.app);
      return s.lastRun && Date.parse(s.nextRunAt ?? "") > Date.now() ? s : undefined;
    });
    expect(status.up).toBe(true);
    expect(status.lastRun).toMatchObject({ skipped: false, reason: "schedule" });
    expect(status.lastSync).toBe(status.lastRun!.finishedAt);
    expect(Date.parse(status.lastBeatAt!)).toBeLessThanOrEqual(Date.now());
    expect(Date.parse(status.nextRunAt!) - Date.parse(status.lastRun!.startedAt)).toBeGreaterThan(50_000);
    expect(await w.redis.raw.ttl(w.app.keys.workerHeartbeat)).toBeGreaterThan(0);
  });
});
