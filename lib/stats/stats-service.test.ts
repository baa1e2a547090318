import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { metrics } from "../observability/metrics";
import { StatsService } from "./stats-service";
import type { Runtime } from "../runtime";
import type { Session } from "../session/session";
import { blackhole, gate } from "../../tests/support/net-faults";
import { useInstances } from "../../tests/support/instances";

const alice: Session = { id: "alice-session-0001", name: "Alice" };

/*
 * "Fresh" for stats, precisely: a write marks the cached value stale before it returns
 * (INCR of the generation). The first read after it still answers at once with the older
 * numbers (`fresh: false`) and starts the one refresh; once that refresh has finished
 * (`stats.settled()`, no TTL involved) every read returns the exact numbers, `fresh: true`.
 */
const counts = async (rt: Runtime) => {
  const { stats, fresh, source } = await rt.stats.read();
  const { computedAt: _, ...numbers } = stats;
  return { ...numbers, fresh, source };
};

const requests = async (outcome: string) =>
  (await metrics().cacheRequests.get()).values.find((v) => v.labels.cache === "stats" && v.labels.outcome === outcome)?.value ?? 0;

describe("StatsService (stale-while-revalidate, real Postgres and Redis)", () => {
  const t = useInstances({ truncate: "rooms, messages" });
  const { instance, key } = t;

  it("computes the four numbers in one statement, and serves them from Redis afterwards", async () => {
    const rt = instance();
    const general = await rt.roomWrites.create(alice, { name: "General" });
    const old = await rt.roomWrites.create(alice, { name: "Old" });
    await rt.messageWrites.send(alice, general.id, { body: "today" });
    await rt.messageWrites.send(alice, general.id, { body: "also today" });
    const gone = await rt.messageWrites.send(alice, general.id, { body: "deleted" });
    await rt.messageWrites.remove(alice, general.id, gone.id);
    // Yesterday's message, and a room quiet for two days.
    await t.db.sql`insert into messages (room_id, author_id, author_name, body, created_at) values (${general.id}, 'x', 'X', 'yesterday', now() - interval '25 hours')`;
    await t.db.sql`update rooms set created_at = now() - interval '2 days' where id = ${old.id}`;

    expect(await counts(rt)).toEqual({ rooms: 2, messages: 3, activeRooms24h: 1, messagesToday: 2, fresh: true, source: "db" });
    t.queries.reset();
    expect(await counts(rt)).toMatchObject({ rooms: 2, messages: 3, fresh: true, source: "cache" });
    expect(t.queries.count).toBe(0);
    const ttl = await t.redis.raw.ttl(key("stats:global"));
    expect(ttl).toBeGreaterThan(rt.ttls.stats); // kept past its freshness, to be served while refreshing
  });

  describe.each([
    [
      "room created",
      async (rt: Runtime): Promise<void> => {
        await rt.roomWrites.create(alice, { name: "Second" });
      },
      { rooms: 2, activeRooms24h: 2 },
    ],
    [
      "room deleted",
      async (rt: Runtime, roomId: string): Promise<void> => {
        await rt.roomWrites.remove(alice, roomId);
      },
      { rooms: 0, messages: 0, activeRooms24h: 0, messagesToday: 0 },
    ],
    [
      "message sent",
      async (rt: Runtime, roomId: string): Promise<void> => {
        await rt.messageWrites.send(alice, roomId, { body: "two" });
      },
      { messages: 2, messagesToday: 2 },
    ],
    [
      "message deleted",
      async (rt: Runtime, roomId: string): Promise<void> => {
        const page = await rt.messages.getNewest(roomId);
        await rt.messageWrites.remove(alice, roomId, page.data!.messages[0]!.id);
      },
      { messages: 0, messagesToday: 0 },
    ],
  ] as const)("after a %s", (_label, write, expected) => {
    it("the next read answers at once, marked stale, and the read after its refresh is exact", async () => {
      const rt = instance();
      const other = instance(); // another web instance: the mark is in Redis, not in a process
      const room = await rt.roomWrites.create(alice, { name: "First" });
      await rt.messageWrites.send(alice, room.id, { body: "one" });
      const before = { rooms: 1, messages: 1, activeRooms24h: 1, messagesToday: 1 };
      expect(await counts(rt)).toEqual({ ...before, fresh: true, source: "db" });

      await write(rt, room.id);
      expect(await counts(other)).toEqual({ ...before, fresh: false, source: "cache" });
      await other.stats.settled();
      expect(await counts(rt)).toEqual({ ...before, ...expected, fresh: true, source: "cache" });
    });
  });

  it("is not marked stale by a rename, and a message leaves rooms:all alone", async () => {
    const rt = instance();
    const room = await rt.roomWrites.create(alice, { name: "Before" });
    await rt.stats.read();
    await rt.rooms.getAllRooms();
    await rt.roomWrites.update(alice, room.id, { name: "After" });
    expect((await rt.stats.read()).fresh).toBe(true);
    await rt.rooms.getAllRooms();
    await rt.messageWrites.send(alice, room.id, { body: "hello" });
    expect(await t.redis.raw.exists(key("rooms:all"))).toBe(1);
    expect((await rt.stats.read()).fresh).toBe(false);
  });

  it("never makes a reader wait on a slow refresh while a value is cached", async () => {
    // The refresh is held at a gate: the reads can only resolve if none of them waits on it.
    let hold: ReturnType<typeof gate> | undefined;
    const rt = instance({ statsHooks: { beforeLoad: () => hold?.pass() } });
    const room = await rt.roomWrites.create(alice, { name: "Slow" });
    await rt.stats.read();
    await rt.messageWrites.send(alice, room.id, { body: "mark it stale" });
    hold = gate();
    const reads = await Promise.all(Array.from({ length: 5 }, () => rt.stats.read()));
    await hold.arrived; // the refresh started, and is still held
    expect(reads.every((r) => r.stats.messages === 0 && !r.fresh)).toBe(true);
    hold.open();
    await rt.stats.settled();
    expect((await rt.stats.read()).stats.messages).toBe(1);
  });

  it("refreshes once for 20 concurrent stale reads on two instances", async () => {
    let loads = 0;
    const hooks = { beforeLoad: async () => void (loads++, await sleep(100)) };
    const a = instance({ statsHooks: hooks });
    const b = instance({ statsHooks: hooks });
    const room = await a.roomWrites.create(alice, { name: "Busy" });
    await a.stats.read();
    await b.store!.get(b.keys.stats); // connected to the key's node before the burst (a cluster client's start-up is slower than the refresh)
    await a.messageWrites.send(alice, room.id, { body: "stale now" });
    loads = 0;
    const staleBefore = await requests("stale");
    const reads = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).stats.read()));
    await Promise.all([a.stats.settled(), b.stats.settled()]);
    expect(loads).toBe(1);
    expect(reads.every((r) => r.stats.messages === 0)).toBe(true);
    expect((await requests("stale")) - staleBefore).toBe(20);
    expect((await a.stats.read()).stats.messages).toBe(1);
  });

  it("computes once for 20 concurrent cold reads on two instances", async () => {
    let loads = 0;
    const hooks = { beforeLoad: async () => void (loads++, await sleep(100)) };
    const a = instance({ statsHooks: hooks });
    const b = instance({ statsHooks: hooks });
    await a.roomWrites.create(alice, { name: "Cold" });
    // Both connected first, to the key's node: a cluster client's start-up (slot map, then a
    // connection per master on first use) would let the value land before the slower
    // instance's reads, making them hits.
    await Promise.all([a, b].map((rt) => rt.store!.get(rt.keys.stats)));
    const missesBefore = await requests("miss");
    const reads = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).stats.read()));
    expect(loads).toBe(1);
    expect(reads.every((r) => r.stats.rooms === 1 && r.fresh)).toBe(true);
    expect((await requests("miss")) - missesBefore).toBe(20);
  });

  it("keeps the mark of a write that lands during a refresh (the generation guard)", async () => {
    const pause = { gate: null as ReturnType<typeof gate> | null };
    const rt = instance({ statsHooks: { afterLoad: () => pause.gate?.pass() } });
    const writer = instance();
    const room = await rt.roomWrites.create(alice, { name: "Race" });
    await rt.stats.read();
    await writer.messageWrites.send(alice, room.id, { body: "first" });

    pause.gate = gate();
    expect((await rt.stats.read()).fresh).toBe(false); // starts the refresh
    await pause.gate.arrived; // the refresh holds 1 message, not yet stored
    await writer.messageWrites.send(alice, room.id, { body: "second" });
    pause.gate.open();
    await rt.stats.settled();
    pause.gate = null;

    // Stored, but still marked: the write's mark came after the refresh's generation read.
    const afterRace = await rt.stats.read();
    expect(afterRace).toMatchObject({ fresh: false, stats: { messages: 1 } });
    await rt.stats.settled();
    expect(await counts(rt)).toMatchObject({ messages: 2, fresh: true });
  });

  it("Redis loses its data while a refresh runs → its numbers never pass for fresh after later writes", async () => {
    const pause = { gate: null as ReturnType<typeof gate> | null };
    const rt = instance({ statsHooks: { afterLoad: () => pause.gate?.pass() } });
    const writer = instance();
    const room = await writer.roomWrites.create(alice, { name: "Busy" });
    for (let i = 0; i < 5; i++) await writer.messageWrites.send(alice, room.id, { body: `before ${i}` });
    pause.gate = gate();
    const reading = rt.stats.read(); // a cold read: it computes (5 messages), having read the generation
    await pause.gate.arrived;
    await t.redis.clear(); // Redis restarts empty (or FLUSHDB)
    await writer.messageWrites.send(alice, room.id, { body: "after the loss" });
    pause.gate.open();
    await reading;
    pause.gate = null;
    await rt.stats.settled();
    // A restarted counter (1) below the one the refresh read (6) made its 5 pass for fresh.
    const next = await counts(instance());
    expect(next.fresh && next.messages === 5).toBe(false);
    await rt.stats.settled();
    expect(await counts(instance())).toMatchObject({ messages: 6, fresh: true });
  });

  it("replaces a cached value that fails validation, in the read that finds it", async () => {
    const rt = instance();
    await rt.roomWrites.create(alice, { name: "Valid" });
    await rt.stats.read();
    const raw = (await t.redis.raw.get(key("stats:global")))!;
    await t.redis.raw.set(key("stats:global"), raw.replace(/"rooms":\d+/, '"rooms":"many"'), "KEEPTTL");
    expect(await counts(rt)).toMatchObject({ rooms: 1, fresh: true, source: "db" });
    expect(await counts(rt)).toMatchObject({ rooms: 1, fresh: true, source: "cache" });
  });

  it("tells its owner when a background refresh stored new numbers (so a page rendered with the old ones can be redone)", async () => {
    const rt = instance();
    let refreshed = 0;
    const stats = new StatsService({
      reads: rt.reads,
      guarded: rt.guarded,
      keys: rt.keys,
      ttls: rt.ttls,
      metrics: metrics(),
      onRefreshed: () => void refreshed++,
    });
    const room = await rt.roomWrites.create(alice, { name: "Watched" });
    await stats.read(); // cold: the caller gets fresh numbers, nothing to redo
    await rt.messageWrites.send(alice, room.id, { body: "news" });
    await stats.read();
    await stats.settled();
    await stats.read();
    expect(refreshed).toBe(1);
  });

  it("goes straight to Postgres with the cache off, and with Redis down (breaker open)", async () => {
    const off = instance({ cacheEnabled: false });
    await off.roomWrites.create(alice, { name: "No cache" });
    expect(await counts(off)).toMatchObject({ rooms: 1, source: "db", fresh: true });
    expect(await t.redis.raw.exists(key("stats:global"))).toBe(0);

    const hole = await blackhole();
    try {
      // Production deadlines, but a test process sharing its core with other test files is
      // "busy" by withDeadline's measure, which would grant a silent Redis up to 5 s: cap it.
      const down = instance({ redis: { driver: "ioredis", url: `redis://127.0.0.1:${hole.port}` }, guard: { maxBusyWaitMs: 200 } });
      for (let i = 0; i < 5; i++) expect(await counts(down)).toMatchObject({ rooms: 1, source: "db" });
      // Open: no later read waits on Redis (GuardedStore's own tests time the deadline itself).
      // Open, or half-open while its background probe is out (on a loaded machine that takes a
      // while): either way calls fail at once and go to Postgres.
      expect(["open", "half-open"]).toContain(down.guarded?.state);
      await down.roomWrites.create(alice, { name: "During the outage" });
      expect(await counts(down)).toMatchObject({ rooms: 2 });
    } finally {
      await hole.close();
    }
  });
});
