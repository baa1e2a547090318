import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createIoredisStore } from "../cache/ioredis-store";
import type { CacheStore } from "../cache/store";
import { TEST_REDIS } from "../../tests/support/services";
import { createTestRedis, type TestRedis } from "../../tests/support/test-env";
import { eventually } from "../../tests/support/worker-process";
import { RunLock } from "./run-lock";

describe("RunLock", () => {
  let redis: TestRedis;
  let store: CacheStore;
  let key: string;

  beforeEach(() => {
    redis = createTestRedis();
    store = createIoredisStore(TEST_REDIS);
    key = `${redis.prefix}lock:reconcile`;
  });
  afterEach(async () => {
    await store.close();
    await redis.close();
  });

  it("admits one holder at a time and releases only its own token", async () => {
    const a = await new RunLock(store, key).acquire();
    expect(a).not.toBeNull();
    expect(await new RunLock(store, key).acquire()).toBeNull();
    await redis.raw.set(key, "someone-else"); // a's lease lapsed and another took it
    await a!.release();
    expect(await redis.raw.get(key)).toBe("someone-else");
    await redis.raw.del(key);
    const b = await new RunLock(store, key).acquire();
    await b!.release();
    expect(await redis.raw.exists(key)).toBe(0);
  });

  it("renews while held, so a long run keeps it past its TTL", async () => {
    const lease = (await new RunLock(store, key, { ttlMs: 300, renewEveryMs: 50 }).acquire())!;
    const deadline = Date.now() + 900;
    await eventually(async () => (Date.now() > deadline ? true : undefined), 2_000);
    expect(await redis.raw.get(key)).toBe(lease.token);
    expect(lease.signal.aborted).toBe(false);
    await lease.release();
  });

  it("aborts the holder's signal when the lock is lost", async () => {
    const lease = (await new RunLock(store, key, { ttlMs: 5_000, renewEveryMs: 30 }).acquire())!;
    await redis.raw.set(key, "stolen");
    await eventually(async () => (lease.signal.aborted ? true : undefined), 2_000);
    expect(() => lease.signal.throwIfAborted()).toThrow(/lock lost/);
    await lease.release();
    expect(await redis.raw.get(key)).toBe("stolen");
  });
});
