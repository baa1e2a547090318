import { afterAll, afterEach, beforeAll, beforeEach } from "vitest";
import { createCacheStore } from "../../lib/cache/create-store";
import { GuardedStore } from "../../lib/cache/guarded-store";
import { createKeys, type Keys } from "../../lib/cache/keys";
import type { Env } from "../../lib/env";
import { RedisEventBus } from "../../lib/realtime/event-bus";
import type { LobbyEvent } from "../../lib/realtime/events";
import { Hub } from "../../lib/realtime/hub";
import { REDIS_URL, TEST_REDIS } from "./services";
import { createTestRedis, type TestRedis } from "./test-env";
import { startUpstashRestServer, type UpstashRestServer } from "./upstash-rest-server";

export const activity = (n: number): LobbyEvent => ({ type: "room.activity", roomId: `r${n}`, lastActivityAt: new Date(n).toISOString() });
export const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Reads SSE frames from a stream until `until` says stop (or the timeout passes). */
export async function readFrames(stream: ReadableStream<Uint8Array>, until: (frames: string[]) => boolean, timeoutMs = 3_000) {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  const frames: string[] = [];
  let text = "";
  const deadline = Date.now() + timeoutMs;
  while (!until(frames) && Date.now() < deadline) {
    const next = await Promise.race([reader.read(), wait(Math.max(0, deadline - Date.now())).then(() => null)]);
    if (!next || next.done) break;
    text += decoder.decode(next.value, { stream: true });
    const parts = text.split("\n\n");
    text = parts.pop() ?? "";
    frames.push(...parts);
  }
  reader.releaseLock();
  return frames;
}

export interface TestBus {
  readonly redis: TestRedis;
  readonly keys: Keys;
  /** The bus (capped at 50 entries per topic) and a hub polling every 100 ms. */
  readonly bus: RedisEventBus;
  readonly hub: Hub;
}

/**
 * Registers the hooks of a realtime test over `driver`: a local Upstash REST server once
 * per file for "upstash", and per test a fresh prefix, bus and hub, closed after it.
 */
export function useTestBus(driver: "ioredis" | "upstash"): TestBus {
  let server: UpstashRestServer | undefined;
  let config: Env["redis"];
  let current: (TestBus & { close(): Promise<void> }) | undefined;
  beforeAll(async () => {
    if (driver === "upstash") {
      server = await startUpstashRestServer({ redisUrl: REDIS_URL });
      config = { driver: "upstash", url: server.url, token: server.token };
    } else config = TEST_REDIS;
  });
  afterAll(async () => {
    await server?.close();
  });
  beforeEach(() => {
    // The REST server fronts one node; the TCP driver runs on the cluster in the cluster run.
    const redis = createTestRedis(driver === "upstash" ? { driver: "ioredis", url: REDIS_URL } : TEST_REDIS);
    const keys = createKeys(redis.prefix);
    const store = createCacheStore(config)!;
    const bus = new RedisEventBus({ guarded: new GuardedStore(store, { readDeadlineMs: 2_000, writeDeadlineMs: 2_000 }), keys, maxLen: 50 });
    const hub = new Hub({ redis: config, keys, bus, pollIntervalMs: 100 });
    current = {
      redis,
      keys,
      bus,
      hub,
      async close() {
        await hub.close();
        await store.close();
        await redis.close();
      },
    };
  });
  afterEach(async () => {
    await current?.close();
    current = undefined;
  });
  const now = () => current ?? (() => { throw new Error("useTestBus: used outside a test"); })();
  return {
    get redis() {
      return now().redis;
    },
    get keys() {
      return now().keys;
    },
    get bus() {
      return now().bus;
    },
    get hub() {
      return now().hub;
    },
  };
}
