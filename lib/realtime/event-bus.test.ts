import { describe, expect, it } from "vitest";
import { activity, readFrames, useTestBus, wait } from "../../tests/support/realtime";
import { createCacheStore } from "../cache/create-store";
import { GuardedStore } from "../cache/guarded-store";
import { compareIds, RedisEventBus, type Delivery } from "./event-bus";
import type { Topic } from "./events";
import { FANOUT_SLICE } from "./hub";
import { openEventStream } from "./sse-stream";
import { ON_CLUSTER } from "../../tests/support/services";

const eventIds = (frames: string[]) => frames.filter((f) => f.includes("\nevent: ") && !f.includes("event: ready")).map((f) => /^id: (.+)$/m.exec(f)?.[1]);

describe("compareIds", () => {
  /** The plain definition: both parts as (big) integers. */
  const reference = (a: string, b: string) => {
    const [am = "0", as = "0"] = a.split("-");
    const [bm = "0", bs = "0"] = b.split("-");
    const x = BigInt(am || "0") - BigInt(bm || "0") || BigInt(as || "0") - BigInt(bs || "0");
    return x === 0n ? 0 : x < 0n ? -1 : 1;
  };

  it("orders Stream ids numerically, part by part, whatever their lengths and leading zeros", () => {
    const parts = ["0", "00", "1", "01", "9", "10", "99", "100", "1733500000000", "1733500000001", "18446744073709551615", "018446744073709551615"];
    const ids = [...parts.flatMap((ms) => parts.map((seq) => `${ms}-${seq}`)), ...parts, "5-", "-5", "-"];
    for (const a of ids) for (const b of ids) expect(compareIds(a, b), `${a} vs ${b}`).toBe(reference(a, b));
    expect(["10-0", "9-99", "9-100", "1733500000000-2", "0-1"].sort(compareIds)).toEqual(["0-1", "9-99", "9-100", "10-0", "1733500000000-2"]);
  });
});

// The REST server fronts one node: on a cluster only the TCP driver applies.
for (const driver of ON_CLUSTER ? (["ioredis"] as const) : (["ioredis", "upstash"] as const)) {
  describe(`realtime bus over ${driver}`, () => {
    const t = useTestBus(driver);

    it("gives increasing ids and replays exactly the events after a given id", async () => {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push((await t.bus.append("rooms", activity(i)))!);
      for (let i = 1; i < ids.length; i++) expect(compareIds(ids[i]!, ids[i - 1]!)).toBe(1);

      const missed = await t.bus.replay("rooms", ids[1]!);
      expect(missed.map((d) => d.id)).toEqual(ids.slice(2));
      expect(missed.map((d) => d.event)).toEqual([2, 3, 4].map(activity));
      expect(await t.bus.replay("rooms", ids[4]!)).toEqual([]);
      expect(await t.bus.tip("rooms")).toBe(ids[4]);
      // Topics have their own logs.
      expect(await t.bus.replay("room:other", "0-0")).toEqual([]);
      expect(await t.bus.tip("room:other")).toBe("0-0");
    });

    it("bounds each topic's log (MAXLEN ~) and gives it an expiry", async () => {
      for (let i = 0; i < 400; i++) await t.bus.publish("rooms", activity(i));
      const length = await t.redis.raw.xlen(t.keys.eventStream("rooms"));
      expect(length).toBeGreaterThanOrEqual(50);
      expect(length).toBeLessThan(200);
      expect(await t.redis.raw.ttl(t.keys.eventStream("rooms"))).toBeGreaterThan(0);
      // Replay gives what is kept, newest last.
      const all = await t.bus.replay("rooms", "0-0");
      expect(all).toHaveLength(length);
      expect(all.at(-1)?.event).toEqual(activity(399));
    });

    it("never throws when Redis is away", async () => {
      const dead = createCacheStore(
        driver === "ioredis" ? { driver: "ioredis", url: "redis://127.0.0.1:1" } : { driver: "upstash", url: "http://127.0.0.1:1", token: "x" },
      )!;
      const errors: unknown[] = [];
      const offline = new RedisEventBus({ guarded: new GuardedStore(dead, { writeDeadlineMs: 200 }), keys: t.keys, onError: (e) => errors.push(e) });
      await expect(offline.publish("rooms", activity(1))).resolves.toBeUndefined();
      expect(errors).toHaveLength(1);
      await dead.close();
    });

    it("fans live events out by topic through the hub", async () => {
      const got: Delivery[] = [];
      const off = await t.hub.subscribe("room:a", { deliver: (d) => got.push(d), resync: () => {} });
      const id = await t.bus.append("room:a", activity(1));
      await t.bus.append("room:b", activity(2));
      for (let i = 0; i < 30 && got.length === 0; i++) await wait(50);
      expect(got).toEqual([{ id, topic: "room:a", event: activity(1) }]);
      off();
      expect(t.hub.listenerCount()).toBe(0);
    });

    it(`a room of more listeners than a slice (${FANOUT_SLICE}): a burst reaches each one whole, in order, once; the fan-out yields between slices`, async () => {
      const listeners = FANOUT_SLICE * 3 + 5;
      const got: string[][] = Array.from({ length: listeners }, () => []);
      // Per listener, the callbacks queued by the first listener that had run when it was first
      // served: 0 for the first slice, more for the later ones (they wait their turn).
      let turn = 0;
      const served: number[] = [];
      const offs = await Promise.all(
        got.map((ids, i) =>
          t.hub.subscribe("room:busy", {
            deliver: (d) => {
              if (i === 0) setImmediate(() => turn++);
              if (ids.length === 0) served.push(turn);
              ids.push(d.id);
            },
            resync: () => {},
          }),
        ),
      );
      const sent: string[] = [];
      for (let i = 0; i < 5; i++) sent.push((await t.bus.append("room:busy", activity(i)))!);
      for (let i = 0; i < 60 && got.some((ids) => ids.length < sent.length); i++) await wait(50);
      expect(got.every((ids) => ids.join() === sent.join())).toBe(true);
      // The first delivery reached the first slice before a turn, the last listeners after one.
      expect(served.slice(0, FANOUT_SLICE).every((n) => n === 0)).toBe(true);
      expect(served.at(-1)).toBeGreaterThan(0);
      for (const off of offs) off();
    });

    it("a listener that unsubscribes while it waits for a later slice is handed nothing more", async () => {
      const got: string[][] = Array.from({ length: FANOUT_SLICE * 2 }, () => []);
      const offs: (() => void)[] = [];
      for (const [i, ids] of got.entries()) {
        offs.push(
          await t.hub.subscribe("room:leaving", {
            deliver: (d) => {
              // The first listener's stream closes the last one's, which is in the next slice.
              if (i === 0) offs.at(-1)!();
              ids.push(d.id);
            },
            resync: () => {},
          }),
        );
      }
      const id = (await t.bus.append("room:leaving", activity(0)))!;
      for (let i = 0; i < 60 && got.slice(0, -1).some((ids) => ids.length === 0); i++) await wait(50);
      await wait(50);
      expect(got.slice(0, -1).every((ids) => ids.join() === id)).toBe(true);
      expect(got.at(-1)).toEqual([]);
      for (const off of offs) off();
    });

    it("SSE: Last-Event-ID replays exactly the missed events, then goes live without gaps or duplicates", async () => {
      const before = (await t.bus.append("rooms", activity(0)))!;
      const missed = [(await t.bus.append("rooms", activity(1)))!, (await t.bus.append("rooms", activity(2)))!];
      const abort = new AbortController();
      const stream = openEventStream({ topic: "rooms", lastEventId: before, hub: t.hub, bus: t.bus, signal: abort.signal });
      // Publish while the stream is subscribing and replaying: the boundary must hold.
      const during = Promise.all([t.bus.append("rooms", activity(3)), t.bus.append("rooms", activity(4))]);
      const frames = await readFrames(stream, (f) => eventIds(f).length >= 4);
      const live = (await during) as string[];
      const after = (await t.bus.append("rooms", activity(5)))!;
      const more = await readFrames(stream, (f) => eventIds(f).length >= 1);
      abort.abort();

      expect(frames[0]).toBe("retry: 2000");
      expect(eventIds(frames)).toEqual([...missed, ...live].sort(compareIds));
      expect(eventIds(more)).toEqual([after]);
      const first = frames.find((f) => f.includes("event: "));
      expect(first).toBe(`id: ${missed[0]}\nevent: room.activity\ndata: ${JSON.stringify(activity(1))}`);
      expect(t.hub.listenerCount()).toBe(0);
    });

    it("SSE: a first connection gets the topic's newest id, so its first reconnect misses nothing", async () => {
      const old = (await t.bus.append("rooms", activity(0)))!;
      const abort = new AbortController();
      const stream = openEventStream({ topic: "rooms" as Topic, lastEventId: null, hub: t.hub, bus: t.bus, signal: abort.signal });
      const frames = await readFrames(stream, (f) => f.some((x) => x.startsWith("id: ")));
      expect(frames).toContain(`id: ${old}\nevent: ready\ndata: {}`);
      const next = (await t.bus.append("rooms", activity(1)))!;
      expect(eventIds(await readFrames(stream, (f) => eventIds(f).length >= 1))).toEqual([next]);
      abort.abort();
    });
  });
}
