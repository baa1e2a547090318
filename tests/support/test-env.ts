import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { createRuntime, type Runtime, type RuntimeConfig } from "../../lib/runtime";
import { inject } from "vitest";
import { deleteMatching } from "./redis-keys";
import type { TcpRedis } from "../../lib/cache/redis-target";
import { connectTcp, type TcpClient } from "../../lib/cache/tcp-client";
import { PG_ADMIN_URL, TEST_REDIS, dbUrl } from "./services";

export interface TestDatabase {
  name: string;
  url: string;
  /** A direct connection for arranging data and out-of-band SQL. */
  sql: postgres.Sql;
  drop(): Promise<void>;
}

let creating: Promise<unknown> = Promise.resolve();

/** A fresh database cloned from the migrated template, owned by one test file. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const run = inject("testRun");
  const name = `lobby_t_${run}_${randomBytes(6).toString("hex")}`;
  const admin = postgres(PG_ADMIN_URL, { max: 1, onnotice: () => {} });
  // CREATE DATABASE ... TEMPLATE fails if two clones start at once in one process.
  const step = creating.then(() => admin.unsafe(`create database ${name} template lobby_t_${run}_template`));
  creating = step.catch(() => {});
  try {
    await step;
  } finally {
    await admin.end();
  }
  const url = dbUrl(name);
  const sql = postgres(url, { max: 2, onnotice: () => {} });
  return {
    name,
    url,
    sql,
    async drop() {
      await sql.end({ timeout: 1 });
      const a = postgres(PG_ADMIN_URL, { max: 1, onnotice: () => {} });
      await a.unsafe(`drop database if exists ${name} with (force)`);
      await a.end();
    },
  };
}

/** A Redis key prefix owned by one test, and a raw client to inspect or tamper with its keys. */
export interface TestRedis {
  prefix: string;
  /** On a cluster, a Cluster client: a command that spans keys must keep them on one slot. */
  raw: TcpClient;
  /** Deletes every key under the prefix (SCAN, never KEYS). */
  clear(): Promise<void>;
  close(): Promise<void>;
}

/** `target`: TEST_REDIS (a cluster in the cluster run), or one node for what only runs on one (the REST driver's server). */
export function createTestRedis(target: TcpRedis = TEST_REDIS): TestRedis {
  const prefix = `test:${randomBytes(5).toString("hex")}:`;
  const raw = connectTcp(target, { maxRetriesPerRequest: 1 });
  const clear = async () => {
    // `*prefix*`: companion keys put the prefixed key inside a hash tag (`{test:ab:room:1}:gen`).
    await deleteMatching(raw, `*${prefix}*`);
  };
  return {
    prefix,
    raw,
    clear,
    async close() {
      await clear();
      raw.disconnect();
    },
  };
}

/** A runtime wired to a test database and Redis prefix, cache on. */
export function createTestRuntime(db: TestDatabase, redis: TestRedis, overrides: Partial<RuntimeConfig> = {}): Runtime {
  return createRuntime({
    databaseUrl: db.url,
    redis: TEST_REDIS,
    cacheEnabled: true,
    keyPrefix: redis.prefix,
    mode: "test",
    ...overrides,
  });
}

/** Counts statements sent to Postgres; pass `onQuery` into the runtime's config. */
export function queryCounter() {
  let count = 0;
  return {
    onQuery: () => {
      count++;
    },
    get count() {
      return count;
    },
    reset() {
      count = 0;
    },
  };
}
