import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createCacheStore } from "../cache/create-store";
import { GuardedStore } from "../cache/guarded-store";
import { createKeys } from "../cache/keys";
import type { CacheStore } from "../cache/store";
import type { Env } from "../env";
import { createTestRedis, type TestRedis } from "../../tests/support/test-env";
import { REDIS_URL } from "../../tests/support/services";
import { startUpstashRestServer, type UpstashRestServer } from "../../tests/support/upstash-rest-server";
import { compareIds, RedisEventBus, type Delivery } from "./event-bus";
import type { LobbyEvent, Topic } from "./events";
import { Hub } from "./hub";
import { openEventStream } from "./sse-stream";

const activity = (n: number): LobbyEvent => ({ type: "room.activity", roomId: `r${n}`, lastActivityAt: new Date(n).toISOString() });

/** Reads SSE frames from a stream until `until` says stop (or the timeout passes). */
async function readFrames(stream: ReadableStream<Uint8Array>, until: (frames: string[]) => boolean, timeoutMs = 3_000) {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  const frames: string[] = [];
  let text = "";
  const deadline = Date.now() + timeoutMs;
  while (!until(frames) && Date.now() < deadline) {
    const next = await Promise.race([reader.read(), new Promise<null>((r) => setTimeout(() => r(null), deadline - Date.now()))]);
    if (!next || next.done) break;
    text += decoder.decode(next.value, { stream: true });
    const parts = text.split("\n\n");
    text = parts.pop() ?? "";
    frames.push(...parts);
  }
  reader.releaseLock();
  return frames;
}
const eventIds = (frames: string[]) => frames.filter((f) => f.includes("\nevent: ") && !f.includes("event: ready")).map((f) => /^id: (.+)$/m.exec(f)?.[1]);
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const driver of ["ioredis", "upstash"] as const) {
  describe(`realtime bus over ${driver}`, () => {
    let server: UpstashRestServer | undefined;
    let redisConfig: Env["redis"];
    let redis: TestRedis;
    let store: CacheStore;
    let bus: RedisEventBus;
    let hub: Hub;
    let keys: ReturnType<typeof createKeys>;

    beforeAll(async () => {
      if (driver === "upstash") {
        server = await startUpstashRestServer({ redisUrl: REDIS_URL });
        redisConfig = { driver: "upstash", url: server.url, token: server.token };
      } else redisConfig = { driver: "ioredis", url: REDIS_URL };
    });
    afterAll(async () => {
      await server?.close();
    });
    beforeEach(() => {
      redis = createTestRedis();
      keys = createKeys(redis.prefix);
      store = createCacheStore(redisConfig)!;
      const guarded = new GuardedStore(store, { readDeadlineMs: 2_000, writeDeadlineMs: 2_000 });
      bus = new RedisEventBus({ guarded, keys, maxLen: 50 });
      hub = new Hub({ redis: redisConfig, keys, bus, pollIntervalMs: 100 });
    });
    afterEach(async () => {
      await hub.close();
      await store.close();
      await redis.close();
    });

    it("gives increasing ids and replays exactly the events after a given id", async () => {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push((await bus.append("rooms", activity(i)))!);
      for (let i = 1; i < ids.length; i++) expect(compareIds(ids[i]!, ids[i - 1]!)).toBe(1);

      const missed = await bus.replay("rooms", ids[1]!);
      expect(missed.map((d) => d.id)).toEqual(ids.slice(2));
      expect(missed.map((d) => d.event)).toEqual([2, 3, 4].map(activity));
      expect(await bus.replay("rooms", ids[4]!)).toEqual([]);
      expect(await bus.tip("rooms")).toBe(ids[4]);
      // Topics have their own logs.
      expect(await bus.replay("room:other", "0-0")).toEqual([]);
      expect(await bus.tip("room:other")).toBe("0-0");
    });

    it("bounds each topic's log (MAXLEN ~) and gives it an expiry", async () => {
      for (let i = 0; i < 400; i++) await bus.publish("rooms", activity(i));
      const length = await redis.raw.xlen(keys.eventStream("rooms"));
      expect(length).toBeGreaterThanOrEqual(50);
      expect(length).toBeLessThan(200);
      expect(await redis.raw.ttl(keys.eventStream("rooms"))).toBeGreaterThan(0);
      // Replay gives what is kept, newest last.
      const all = await bus.replay("rooms", "0-0");
      expect(all).toHaveLength(length);
      expect(all.at(-1)?.event).toEqual(activity(399));
    });

    it("never throws when Redis is away", async () => {
      const dead = createCacheStore(
        driver === "ioredis" ? { driver: "ioredis", url: "redis://127.0.0.1:1" } : { driver: "upstash", url: "http://127.0.0.1:1", token: "x" },
      )!;
      const errors: unknown[] = [];
      const offline = new RedisEventBus({ guarded: new GuardedStore(dead, { writeDeadlineMs: 200 }), keys, onError: (e) => errors.push(e) });
      await expect(offline.publish("rooms", activity(1))).resolves.toBeUndefined();
      expect(errors).toHaveLength(1);
      await dead.close();
    });

    it("fans live events out by topic through the hub", async () => {
      const got: Delivery[] = [];
      const off = await hub.subscribe("room:a", { deliver: (d) => got.push(d), resync: () => {} });
      const id = await bus.append("room:a", activity(1));
      await bus.append("room:b", activity(2));
      for (let i = 0; i < 30 && got.length === 0; i++) await wait(50);
      expect(got).toEqual([{ id, topic: "room:a", event: activity(1) }]);
      off();
      expect(hub.listenerCount()).toBe(0);
    });

    it("SSE: Last-Event-ID replays exactly the missed events, then goes live without gaps or duplicates", async () => {
      const before = (await bus.append("rooms", activity(0)))!;
      const missed = [(await bus.append("rooms", activity(1)))!, (await bus.append("rooms", activity(2)))!];
      const abort = new AbortController();
      const stream = openEventStream({ topic: "rooms", lastEventId: before, hub, bus, signal: abort.signal });
      // Publish while the stream is subscribing and replaying: the boundary must hold.
      const during = Promise.all([bus.append("rooms", activity(3)), bus.append("rooms", activity(4))]);
      const frames = await readFrames(stream, (f) => eventIds(f).length >= 4);
      const live = (await during) as string[];
      const after = (await bus.append("rooms", activity(5)))!;
      const more = await readFrames(stream, (f) => eventIds(f).length >= 1);
      abort.abort();

      expect(frames[0]).toBe("retry: 2000");
      expect(eventIds(frames)).toEqual([...missed, ...live].sort(compareIds));
      expect(eventIds(more)).toEqual([after]);
      const first = frames.find((f) => f.includes("event: "));
      expect(first).toBe(`id: ${missed[0]}\nevent: room.activity\ndata: ${JSON.stringify(activity(1))}`);
      expect(hub.listenerCount()).toBe(0);
    });

    it("SSE: a first connection gets the topic's newest id, so its first reconnect misses nothing", async () => {
      const old = (await bus.append("rooms", activity(0)))!;
      const abort = new AbortController();
      const stream = openEventStream({ topic: "rooms" as Topic, lastEventId: null, hub, bus, signal: abort.signal });
      const frames = await readFrames(stream, (f) => f.some((x) => x.startsWith("id: ")));
      expect(frames).toContain(`id: ${old}\nevent: ready\ndata: {}`);
      const next = (await bus.append("rooms", activity(1)))!;
      expect(eventIds(await readFrames(stream, (f) => eventIds(f).length >= 1))).toEqual([next]);
      abort.abort();
    });
  });
}
