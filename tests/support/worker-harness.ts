import { randomBytes } from "node:crypto";
import { QueueEvents } from "bullmq";
import pino from "pino";
import { afterEach, beforeEach } from "vitest";
import { queueOptions } from "../../lib/queue/contract";
import { createRoomsQueue, type RoomsQueue } from "../../lib/queue/producer";
import type { Runtime } from "../../lib/runtime";
import { startWorker, type WorkerConfig, type WorkerHandle } from "../../worker/start-worker";
import { TEST_REDIS } from "./services";
import { createTestDatabase, createTestRedis, createTestRuntime, type TestDatabase, type TestRedis } from "./test-env";

export interface WorkerHarness {
  readonly db: TestDatabase;
  readonly redis: TestRedis;
  /** The app's view: a runtime on the same database and prefix. */
  readonly app: Runtime;
  /** The test's own queue (random name, the test's prefix) and its events. */
  readonly queue: RoomsQueue;
  readonly events: QueueEvents;
  /** Starts the worker in this process on the test's queue and prefix; closed after the test. */
  start(overrides?: Partial<WorkerConfig>): Promise<WorkerHandle>;
  /** Closes the started worker now (a test that checks what happens after). */
  stop(): Promise<void>;
}

/**
 * Registers the hooks of a file that runs the worker in-process: per test a database, a
 * Redis prefix, an app runtime and a queue of its own, all closed after it.
 */
export function useWorkerHarness(queueLabel: string): WorkerHarness {
  let db: TestDatabase;
  let redis: TestRedis;
  let app: Runtime;
  let queueName: string;
  let queue: RoomsQueue;
  let events: QueueEvents;
  let eventsConnection: ReturnType<typeof queueOptions>;
  let handle: WorkerHandle | undefined;

  beforeEach(async () => {
    db = await createTestDatabase();
    redis = createTestRedis();
    app = createTestRuntime(db, redis);
    queueName = `${queueLabel}-${randomBytes(4).toString("hex")}`;
    queue = createRoomsQueue(TEST_REDIS, redis.prefix, queueName);
    eventsConnection = queueOptions(TEST_REDIS, redis.prefix);
    events = new QueueEvents(queueName, eventsConnection.options);
    await events.waitUntilReady();
  });

  const stop = async () => {
    await handle?.close();
    handle = undefined;
  };

  afterEach(async () => {
    await stop();
    await events.close();
    await eventsConnection.release();
    await queue.obliterate({ force: true });
    await queue.close();
    await app.close();
    await redis.close();
    await db.drop();
  });

  return {
    get db() {
      return db;
    },
    get redis() {
      return redis;
    },
    get app() {
      return app;
    },
    get queue() {
      return queue;
    },
    get events() {
      return events;
    },
    async start(overrides = {}) {
      handle = await startWorker({
        runtime: { databaseUrl: db.url, redis: TEST_REDIS, cacheEnabled: true, keyPrefix: redis.prefix, mode: "test" },
        redisTcp: TEST_REDIS,
        reconciliation: { enabled: false, intervalMs: 60_000 },
        log: pino({ level: "silent" }),
        queueName,
        warmRooms: 0,
        ...overrides,
      });
      return handle;
    },
    stop,
  };
}
