import { describe, expect, it } from "vitest";
import { useInstances } from "../../tests/support/instances";
import { closedPort } from "../../tests/support/net-faults";
import { METRICS_MINUTE_TTL_SECONDS } from "../cache/keys";
import type { Session } from "../session/session";
import { metrics } from "./metrics";
import { minuteId, readMinuteBuckets } from "./minute-counters";

const owner: Session = { id: "owner-session-00001", name: "Owner" };

/** The current value of one series of a process counter. */
async function counterValue(name: "cacheRequests" | "cacheServed", labels: Record<string, string>): Promise<number> {
  const { values } = await metrics()[name].get();
  return values.find((v) => Object.entries(labels).every(([k, x]) => (v.labels as Record<string, unknown>)[k] === x))?.value ?? 0;
}

describe("per-minute counters in Redis", () => {
  const t = useInstances({ truncate: "rooms" });

  it("N hits and M misses through RoomCacheService land exactly in the minute's hash and in prom-client", async () => {
    const writer = t.instance();
    const room = await writer.roomWrites.create(owner, { name: "Counted" });
    const rt = t.instance({ minuteCounters: true });
    const counters = rt.minuteCounters!;
    await counters.flush(); // nothing from before this point
    const before = {
      hit: await counterValue("cacheRequests", { cache: "room", outcome: "hit" }),
      miss: await counterValue("cacheRequests", { cache: "room", outcome: "miss" }),
      servedCache: await counterValue("cacheServed", { cache: "room", source: "cache" }),
      servedDb: await counterValue("cacheServed", { cache: "room", source: "db" }),
    };
    const minute = minuteId(Date.now());

    const M = 3;
    const N = 7;
    for (let i = 0; i < M; i++) {
      await rt.rooms.getRoom(room.id); // miss: loads and populates
      if (i < M - 1) await rt.cache.invalidate([rt.keys.room(room.id)]);
    }
    for (let i = 0; i < N; i++) expect((await rt.rooms.getRoom(room.id)).source).toBe("cache");
    const flushed = await counters.flush();

    // A minute boundary between the reads and the flush would split the counts; sum both buckets then.
    const buckets = [minute, minuteId(Date.now())].filter((m, i, all) => all.indexOf(m) === i);
    const sum = async (field: string) => {
      let n = 0;
      for (const b of buckets) n += Number((await t.redis.raw.hget(rt.keys.metricsMinute(b), field)) ?? 0);
      return n;
    };
    expect(await sum("room:hit")).toBe(N);
    expect(await sum("room:miss")).toBe(M);
    expect(await sum("served:cache")).toBe(N);
    expect(await sum("served:db")).toBe(M);
    expect(flushed).toEqual({ written: 2 * (N + M), dropped: 0 });

    expect(await counterValue("cacheRequests", { cache: "room", outcome: "hit" })).toBe(before.hit + N);
    expect(await counterValue("cacheRequests", { cache: "room", outcome: "miss" })).toBe(before.miss + M);
    expect(await counterValue("cacheServed", { cache: "room", source: "cache" })).toBe(before.servedCache + N);
    expect(await counterValue("cacheServed", { cache: "room", source: "db" })).toBe(before.servedDb + M);

    // The dashboard's read sees the same numbers in the current hour.
    const window = await readMinuteBuckets(rt.guarded!, rt.keys, { minutes: 60 });
    expect(window).toHaveLength(60);
    expect(window.reduce((n, b) => n + (b.counts["room:hit"] ?? 0), 0)).toBe(N);
  });

  it("sets the retention TTL on every bucket it writes", async () => {
    const rt = t.instance({ minuteCounters: true });
    rt.minuteCounters!.add("rooms-all:hit", 2);
    await rt.minuteCounters!.flush();
    const key = rt.keys.metricsMinute(minuteId(Date.now()));
    const ttl = await t.redis.raw.ttl(key);
    expect(ttl).toBeGreaterThan(METRICS_MINUTE_TTL_SECONDS - 10);
    expect(ttl).toBeLessThanOrEqual(METRICS_MINUTE_TTL_SECONDS);
  });

  it("drops counts without slowing or failing reads when Redis is down", async () => {
    const port = await closedPort();
    const room = await t.instance().roomWrites.create(owner, { name: "Down" });
    const rt = t.instance({ minuteCounters: true, redis: { driver: "ioredis", url: `redis://127.0.0.1:${port}` }, guard: {} });
    const dropped = (await metrics().minuteCountsDropped.get()).values[0]?.value ?? 0;
    for (let i = 0; i < 5; i++) expect((await rt.rooms.getRoom(room.id)).data?.name).toBe("Down");
    // Five reads opened the circuit: the flush is refused by it rather than sent to a dead
    // Redis (that an open circuit answers at once is lib/cache's guarded-store.test.ts).
    // Open, or half-open while its background probe is out (on a loaded machine that takes a
    // while): either way calls fail at once and go to Postgres.
    expect(["open", "half-open"]).toContain(rt.guarded?.state);
    const result = await rt.minuteCounters!.flush();
    expect(result.written).toBe(0);
    expect(result.dropped).toBeGreaterThanOrEqual(5); // room:error and served:db per read
    expect((await metrics().minuteCountsDropped.get()).values[0]?.value).toBe(dropped + result.dropped);
    // Dropped means gone: the next flush has nothing to resend.
    expect(await rt.minuteCounters!.flush()).toEqual({ written: 0, dropped: 0 });
  });

  it("is absent when the cache is off", () => {
    expect(t.instance({ cacheEnabled: false, minuteCounters: true }).minuteCounters).toBeNull();
  });
});
