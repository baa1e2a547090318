import { describe, expect, it } from "vitest";
import { activity, readFrames, useTestBus, wait } from "../../tests/support/realtime";
import { clientPosition, openEventStream } from "./sse-stream";
import { ON_CLUSTER } from "../../tests/support/services";

/*
 * The capped log's limits (DESIGN.md, Realtime): a client whose position the log no longer
 * reaches (trimmed past it, from the future, not an id) gets `event: reset` and re-fetches,
 * never a replay with a hole; a client whose position is kept gets exactly what it missed.
 * Also the first connection's `?since=` (the id a page was rendered at).
 */

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

// The REST server fronts one node: on a cluster only the TCP driver applies.
for (const driver of ON_CLUSTER ? (["ioredis"] as const) : (["ioredis", "upstash"] as const)) {
  describe(`capped replay over ${driver}`, () => {
    const t = useTestBus(driver);

    /** 400 events into a log capped at ~50: the first ones are trimmed. */
    async function overflow(): Promise<string[]> {
      const ids: string[] = [];
      for (let i = 0; i < 400; i++) ids.push((await t.bus.append("rooms", activity(i)))!);
      return ids;
    }

    it("catches up exactly from a kept id, and resets from a trimmed, future or missing one", async () => {
      const ids = await overflow();
      const tip = ids.at(-1)!;
      const kept = ids[ids.length - 10]!;
      expect(await t.bus.catchUp("rooms", kept)).toEqual({ reset: false, deliveries: expect.any(Array) });
      const replayed = await t.bus.catchUp("rooms", kept);
      expect(replayed.reset === false && replayed.deliveries.map((d) => d.id)).toEqual(ids.slice(-9));

      // Trimmed: a plain XRANGE would have answered with the kept tail, silently missing the rest.
      expect(await t.bus.catchUp("rooms", ids[0]!)).toEqual({ reset: true, tip });
      expect(await t.bus.catchUp("rooms", "0-0")).toEqual({ reset: true, tip });
      expect(await t.bus.catchUp("rooms", "99999999999999-0")).toEqual({ reset: true, tip });
      expect(await t.bus.catchUp("rooms", null)).toEqual({ reset: true, tip });
      // A topic with no log: only 0-0 (a page rendered before any event) is whole.
      expect(await t.bus.catchUp("room:quiet", "0-0")).toEqual({ reset: false, deliveries: [] });
      expect(await t.bus.catchUp("room:quiet", ids[5]!)).toEqual({ reset: true, tip: "0-0" });
    });

    it("0-0 replays the whole log while it has never been trimmed", async () => {
      const ids = [(await t.bus.append("rooms", activity(1)))!, (await t.bus.append("rooms", activity(2)))!];
      const result = await t.bus.catchUp("rooms", "0-0");
      expect(result.reset === false && result.deliveries.map((d) => d.id)).toEqual(ids);
    });

    it("SSE: an id older than the capped log gets `reset` (no gapped replay), then live events", async () => {
      const ids = await overflow();
      const abort = new AbortController();
      const stream = openEventStream({ topic: "rooms", lastEventId: ids[0]!, hub: t.hub, bus: t.bus, signal: abort.signal });
      const frames = await readFrames(stream, hasReady);
      expect(frames.filter((f) => typeOf(f) === "reset")).toEqual([`id: ${ids.at(-1)}\nevent: reset\ndata: {}`]);
      expect(eventIds(frames)).toEqual([]);
      const next = (await t.bus.append("rooms", activity(1000)))!;
      expect(eventIds(await readFrames(stream, (f) => eventIds(f).length >= 1))).toEqual([next]);
      abort.abort();
    });

    it("SSE: a malformed id gets `reset` too", async () => {
      const tip = (await t.bus.append("rooms", activity(1)))!;
      const abort = new AbortController();
      const frames = await readFrames(openEventStream({ topic: "rooms", lastEventId: "malformed", hub: t.hub, bus: t.bus, signal: abort.signal }), hasReady);
      abort.abort();
      expect(frames.filter((f) => typeOf(f) === "reset")).toEqual([`id: ${tip}\nevent: reset\ndata: {}`]);
      expect(eventIds(frames)).toEqual([]);
    });

    it("SSE: a kept id (a page's `since`) gets exactly the events after it, then `ready`, and no reset", async () => {
      const ids = await overflow();
      const since = ids[ids.length - 4]!;
      const abort = new AbortController();
      const frames = await readFrames(openEventStream({ topic: "rooms", lastEventId: since, hub: t.hub, bus: t.bus, signal: abort.signal }), hasReady);
      abort.abort();
      expect(eventIds(frames)).toEqual(ids.slice(-3));
      expect(frames.some((f) => typeOf(f) === "reset")).toBe(false);
      expect(frames.at(-1)).toBe(`id: ${ids.at(-1)}\nevent: ready\ndata: {}`);
    });

    it("SSE: a page rendered before any event (`since` 0-0) gets the events that came before it connected", async () => {
      const ids = [(await t.bus.append("room:new", activity(1)))!, (await t.bus.append("room:new", activity(2)))!];
      const abort = new AbortController();
      const frames = await readFrames(openEventStream({ topic: "room:new", lastEventId: "0-0", hub: t.hub, bus: t.bus, signal: abort.signal }), hasReady);
      abort.abort();
      expect(eventIds(frames)).toEqual(ids);
    });
  });
}
