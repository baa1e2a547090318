import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createCacheStore } from "../cache/create-store";
import { GuardedStore } from "../cache/guarded-store";
import { createKeys } from "../cache/keys";
import type { CacheStore } from "../cache/store";
import type { Env } from "../env";
import { createTestRedis, type TestRedis } from "../../tests/support/test-env";
import { REDIS_URL } from "../../tests/support/services";
import { startUpstashRestServer, type UpstashRestServer } from "../../tests/support/upstash-rest-server";
import { RedisEventBus } from "./event-bus";
import type { LobbyEvent } from "./events";
import { Hub } from "./hub";
import { clientPosition, openEventStream } from "./sse-stream";

/*
 * The capped log's limits (DESIGN.md, Realtime): a client whose position the log no longer
 * reaches (trimmed past it, from the future, not an id) gets `event: reset` and re-fetches,
 * never a replay with a hole; a client whose position is kept gets exactly what it missed.
 * Also the first connection's `?since=` (the id a page was rendered at).
 */

const activity = (n: number): LobbyEvent => ({ type: "room.activity", roomId: `r${n}`, lastActivityAt: new Date(n).toISOString() });
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** SSE frames of a stream until `until` says stop (or the timeout passes). */
async function readFrames(stream: ReadableStream<Uint8Array>, until: (frames: string[]) => boolean, timeoutMs = 3_000) {
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
const typeOf = (frame: string) => /^event: (.+)$/m.exec(frame)?.[1];
const idOf = (frame: string) => /^id: (.+)$/m.exec(frame)?.[1];
const eventIds = (frames: string[]) => frames.filter((f) => typeOf(f) === "room.activity").map(idOf);
const hasReady = (frames: string[]) => frames.some((f) => typeOf(f) === "ready");

describe("clientPosition", () => {
  const req = (query: string, lastEventId?: string) =>
    new Request(`http://x/api/events${query}`, { headers: lastEventId ? { "last-event-id": lastEventId } : {} });
  it("prefers Last-Event-ID, then ?lastEventId=, then ?since=; a non-id is passed on to be reset", () => {
    expect(clientPosition(req(""))).toBeNull();
    expect(clientPosition(req("?since=5-0"))).toBe("5-0");
    expect(clientPosition(req("?since=5-0&lastEventId=7-1"))).toBe("7-1");
    expect(clientPosition(req("?since=5-0", "9-2"))).toBe("9-2");
    expect(clientPosition(req("?since=yesterday"))).toBe("malformed");
    expect(clientPosition(req("?since="))).toBeNull();
  });
});

for (const driver of ["ioredis", "upstash"] as const) {
  describe(`capped replay over ${driver}`, () => {
    let server: UpstashRestServer | undefined;
    let redisConfig: Env["redis"];
    let redis: TestRedis;
    let store: CacheStore;
    let bus: RedisEventBus;
    let hub: Hub;

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
      const keys = createKeys(redis.prefix);
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

    /** 400 events into a log capped at ~50: the first ones are trimmed. */
    async function overflow(): Promise<string[]> {
      const ids: string[] = [];
      for (let i = 0; i < 400; i++) ids.push((await bus.append("rooms", activity(i)))!);
      return ids;
    }

    it("catches up exactly from a kept id, and resets from a trimmed, future or missing one", async () => {
      const ids = await overflow();
      const tip = ids.at(-1)!;
      const kept = ids[ids.length - 10]!;
      expect(await bus.catchUp("rooms", kept)).toEqual({ reset: false, deliveries: expect.any(Array) });
      const replayed = await bus.catchUp("rooms", kept);
      expect(replayed.reset === false && replayed.deliveries.map((d) => d.id)).toEqual(ids.slice(-9));

      // Trimmed: a plain XRANGE would have answered with the kept tail, silently missing the rest.
      expect(await bus.catchUp("rooms", ids[0]!)).toEqual({ reset: true, tip });
      expect(await bus.catchUp("rooms", "0-0")).toEqual({ reset: true, tip });
      expect(await bus.catchUp("rooms", "99999999999999-0")).toEqual({ reset: true, tip });
      expect(await bus.catchUp("rooms", null)).toEqual({ reset: true, tip });
      // A topic with no log: only 0-0 (a page rendered before any event) is whole.
      expect(await bus.catchUp("room:quiet", "0-0")).toEqual({ reset: false, deliveries: [] });
      expect(await bus.catchUp("room:quiet", ids[5]!)).toEqual({ reset: true, tip: "0-0" });
    });

    it("0-0 replays the whole log while it has never been trimmed", async () => {
      const ids = [(await bus.append("rooms", activity(1)))!, (await bus.append("rooms", activity(2)))!];
      const result = await bus.catchUp("rooms", "0-0");
      expect(result.reset === false && result.deliveries.map((d) => d.id)).toEqual(ids);
    });

    it("SSE: an id older than the capped log gets `reset` (no gapped replay), then live events", async () => {
      const ids = await overflow();
      const abort = new AbortController();
      const stream = openEventStream({ topic: "rooms", lastEventId: ids[0]!, hub, bus, signal: abort.signal });
      const frames = await readFrames(stream, hasReady);
      expect(frames.filter((f) => typeOf(f) === "reset")).toEqual([`id: ${ids.at(-1)}\nevent: reset\ndata: {}`]);
      expect(eventIds(frames)).toEqual([]);
      const next = (await bus.append("rooms", activity(1000)))!;
      expect(eventIds(await readFrames(stream, (f) => eventIds(f).length >= 1))).toEqual([next]);
      abort.abort();
    });

    it("SSE: a malformed id gets `reset` too", async () => {
      const tip = (await bus.append("rooms", activity(1)))!;
      const abort = new AbortController();
      const frames = await readFrames(openEventStream({ topic: "rooms", lastEventId: "malformed", hub, bus, signal: abort.signal }), hasReady);
      abort.abort();
      expect(frames.filter((f) => typeOf(f) === "reset")).toEqual([`id: ${tip}\nevent: reset\ndata: {}`]);
      expect(eventIds(frames)).toEqual([]);
    });

    it("SSE: a kept id (a page's `since`) gets exactly the events after it, then `ready`, and no reset", async () => {
      const ids = await overflow();
      const since = ids[ids.length - 4]!;
      const abort = new AbortController();
      const frames = await readFrames(openEventStream({ topic: "rooms", lastEventId: since, hub, bus, signal: abort.signal }), hasReady);
      abort.abort();
      expect(eventIds(frames)).toEqual(ids.slice(-3));
      expect(frames.some((f) => typeOf(f) === "reset")).toBe(false);
      expect(frames.at(-1)).toBe(`id: ${ids.at(-1)}\nevent: ready\ndata: {}`);
    });

    it("SSE: a page rendered before any event (`since` 0-0) gets the events that came before it connected", async () => {
      const ids = [(await bus.append("room:new", activity(1)))!, (await bus.append("room:new", activity(2)))!];
      const abort = new AbortController();
      const frames = await readFrames(openEventStream({ topic: "room:new", lastEventId: "0-0", hub, bus, signal: abort.signal }), hasReady);
      abort.abort();
      expect(eventIds(frames)).toEqual(ids);
    });
  });
}
