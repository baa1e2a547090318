import { randomBytes } from "node:crypto";
import { QueueEvents } from "bullmq";
import pino from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { JOB, queueOptions } from "../lib/queue/contract";
import { createRoomsQueue, enqueue, type RoomsQueue } from "../lib/queue/producer";
import type { Runtime } from "../lib/runtime";
import { REDIS_URL } from "../tests/support/services";
import { createTestDatabase, createTestRedis, createTestRuntime, type TestDatabase, type TestRedis } from "../tests/support/test-env";
import { startWorker, type WorkerHandle } from "./start-worker";

const TOKEN = "worker-metrics-token-0123456789";

/** The worker's own Prometheus port: started with the worker, serving its registry, closed with it. */
describe("worker metrics port", () => {
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
    queueName = `rooms-metrics-${randomBytes(4).toString("hex")}`;
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

  const start = (metricsToken?: string) =>
    startWorker({
      runtime: { databaseUrl: db.url, redis: { driver: "ioredis", url: REDIS_URL }, cacheEnabled: true, keyPrefix: redis.prefix, mode: "test" },
      redisUrl: REDIS_URL,
      reconciliation: { enabled: false, intervalMs: 60_000 },
      log: pino({ level: "silent" }),
      queueName,
      warmRooms: 0,
      metricsPort: 0,
      metricsToken,
    });

  it("serves lobby_reconcile_* on GET /metrics after a run, and stops listening on close", async () => {
    handle = await start();
    const url = `http://127.0.0.1:${handle.metricsPort}/metrics`;
    const scrape = async () => (await fetch(url)).text();
    const value = (text: string, series: string) =>
      Number(text.split("\n").find((l) => l.startsWith(`${series} `))?.split(" ")[1] ?? Number.NaN);
    const before = await scrape();
    const done = value(before, 'lobby_reconcile_runs_total{outcome="done"}');
    expect(done).toBeGreaterThanOrEqual(0);

    await app.roomWrites.create({ id: "owner-session-00001", name: "Owner" }, { name: "Scraped" });
    await app.rooms.getAllRooms();
    await db.sql`update rooms set name = 'Renamed', version = nextval('room_version_seq')`;
    const job = await enqueue(queue, JOB.reconcile, { force: true, reason: "test" });
    await job.waitUntilFinished(events, 10_000);

    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/plain");
    const after = await response.text();
    expect(value(after, 'lobby_reconcile_runs_total{outcome="done"}')).toBe(done + 1);
    expect(value(after, 'lobby_reconcile_drift_total{kind="modified"}')).toBeGreaterThanOrEqual(1);
    expect(value(after, "lobby_reconcile_duration_seconds_count")).toBeGreaterThanOrEqual(1);
    expect(value(after, "lobby_reconcile_last_success_timestamp_seconds")).toBeGreaterThan(Date.now() / 1_000 - 60);
    expect((await fetch(`http://127.0.0.1:${handle.metricsPort}/other`)).status).toBe(404);

    await handle.close();
    handle = undefined;
    await expect(fetch(url)).rejects.toThrow();
  });

  it("needs the bearer token when METRICS_TOKEN is set", async () => {
    handle = await start(TOKEN);
    const url = `http://127.0.0.1:${handle.metricsPort}/metrics`;
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(url, { headers: { authorization: "Bearer wrong-token-of-some-length" } })).status).toBe(401);
    const ok = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain("lobby_reconcile_runs_total");
  });
});
