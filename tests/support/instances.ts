import { afterAll, afterEach, beforeAll, beforeEach } from "vitest";
import type { Env } from "../../lib/env";
import type { Runtime, RuntimeConfig } from "../../lib/runtime";
import { createTestDatabase, createTestRedis, createTestRuntime, queryCounter, type TestDatabase, type TestRedis } from "./test-env";
import { REDIS_URL, TEST_REDIS } from "./services";

export interface Instances {
  /** The file's database (cloned from the migrated template in beforeAll). */
  readonly db: TestDatabase;
  /** This test's Redis prefix and raw client. */
  readonly redis: TestRedis;
  /** Statements every instance of this file sent to Postgres. */
  readonly queries: ReturnType<typeof queryCounter>;
  /**
   * One web instance: its own pools and breaker, the shared database and prefix. Protocol
   * tests get generous deadlines and a long lease, so a loaded CI machine cannot turn them
   * into fault tests; fault tests pass the production defaults (`guard: {}`, `invalidationLog: {}`).
   */
  instance(overrides?: Partial<RuntimeConfig>): Runtime;
  /** A key under this test's prefix. */
  key(name: string): string;
}

/**
 * Registers the hooks of an integration test file: a database per file, tables emptied
 * and a fresh Redis prefix per test, every instance closed after it.
 */
export function useInstances(options: { truncate: string; redis?: () => Env["redis"] }): Instances {
  let db: TestDatabase | undefined;
  let redis: TestRedis | undefined;
  const runtimes: Runtime[] = [];
  const queries = queryCounter();
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });
  beforeEach(async () => {
    // The REST server fronts one node: its tests inspect that node, never the cluster.
    redis = createTestRedis(options.redis?.().driver === "upstash" ? { driver: "ioredis", url: REDIS_URL } : TEST_REDIS);
    await db!.sql.unsafe(`truncate ${options.truncate} cascade`);
    queries.reset();
  });
  afterEach(async () => {
    await Promise.all(runtimes.splice(0).map((rt) => rt.close()));
    await redis?.close();
  });
  return {
    get db() {
      return db!;
    },
    get redis() {
      return redis!;
    },
    queries,
    instance(overrides = {}) {
      const rt = createTestRuntime(db!, redis!, {
        ...(options.redis ? { redis: options.redis() } : {}),
        onQuery: queries.onQuery,
        guard: { readDeadlineMs: 2_000, writeDeadlineMs: 2_000 },
        // A long lease: a loaded test machine whose reads of the log lag must not turn protocol
        // tests into "cache not trusted" tests. Tests of the lease itself set their own.
        invalidationLog: { leaseMs: 5_000 },
        ...overrides,
      });
      runtimes.push(rt);
      return rt;
    },
    key: (name) => redis!.prefix + name,
  };
}
