import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { Env } from "../lib/env";
import type { Session } from "../lib/session/session";
import { blackhole, closedPort, gate, tcpProxy } from "./support/net-faults";
import { useInstances } from "./support/instances";

export interface DriverUnderTest {
  name: string;
  start(): Promise<{ redis: Env["redis"]; close(): Promise<void> }>;
  /** The driver's configuration for a Redis endpoint at this local port (closed, or never answering). */
  endpointAt(port: number): Env["redis"];
}

const alice: Session = { id: "alice-session-0001", name: "Alice" };
const bob: Session = { id: "bob-session-000001", name: "Bob" };

/**
 * The read and write paths of DESIGN.md against real Postgres and real Redis. Run once
 * per driver (ioredis over TCP, @upstash/redis over REST), with the same expectations.
 */
export function roomCacheSuite(driver: DriverUnderTest) {
  describe(`RoomCacheService over ${driver.name}`, () => {
    let backend: Awaited<ReturnType<DriverUnderTest["start"]>>;
    beforeAll(async () => {
      backend = await driver.start();
    });
    afterAll(async () => {
      await backend.close();
    });
    const t = useInstances({ truncate: "rooms", redis: () => backend.redis });
    const { instance, key, queries } = t;

    it("misses, loads from Postgres, populates with the contract's TTL, then hits with zero queries", async () => {
      const rt = instance();
      await rt.roomWrites.create(alice, { name: "General", description: "Anything goes" });
      queries.reset();
      const first = await rt.rooms.getAllRooms();
      expect(first.source).toBe("db");
      expect(queries.count).toBe(1);
      expect(await t.redis.raw.ttl(key("rooms:all"))).toBeGreaterThan(rt.ttls.roomsAll - 3);
      expect(await t.redis.raw.ttl(key("rooms:all"))).toBeLessThanOrEqual(rt.ttls.roomsAll);

      queries.reset();
      const second = await rt.rooms.getAllRooms();
      expect(second.source).toBe("cache");
      expect(queries.count).toBe(0);
      expect(second.data).toEqual(first.data);
      expect(second.data[0]?.createdAt).toBeInstanceOf(Date);
      expect(second.data[0]?.createdAt.getTime()).toBe(first.data[0]?.createdAt.getTime());
    });

    it("caches one room under room:{id}, never an unknown id", async () => {
      const rt = instance();
      const room = await rt.roomWrites.create(alice, { name: "Books" });
      expect((await rt.rooms.getRoom(room.id)).source).toBe("db");
      const hit = await rt.rooms.getRoom(room.id);
      expect(hit.source).toBe("cache");
      expect(hit.data?.name).toBe("Books");
      expect(await t.redis.raw.ttl(key(`room:${room.id}`))).toBeGreaterThan(rt.ttls.room - 3);

      const unknown = "00000000-0000-4000-8000-000000000000";
      expect((await rt.rooms.getRoom(unknown)).data).toBeNull();
      expect(await t.redis.raw.exists(key(`room:${unknown}`))).toBe(0);
    });

    it("keeps rooms:count right across creates and deletes", async () => {
      const rt = instance();
      expect((await rt.rooms.getRoomCount()).data).toBe(0);
      const a = await rt.roomWrites.create(alice, { name: "One" });
      await rt.roomWrites.create(alice, { name: "Two" });
      expect((await rt.rooms.getRoomCount()).data).toBe(2);
      expect(await t.redis.raw.get(key("rooms:count"))).toContain('"data":2');
      await rt.roomWrites.remove(alice, a.id);
      expect((await rt.rooms.getRoomCount()).data).toBe(1);
    });

    it("invalidates on every write, and the next read on another instance sees it", async () => {
      const a = instance();
      const b = instance();
      const room = await a.roomWrites.create(alice, { name: "Cats" });
      await b.rooms.getAllRooms();
      await b.rooms.getRoom(room.id);

      await a.roomWrites.update(alice, room.id, { name: "Dogs" });
      expect((await b.rooms.getAllRooms()).data.map((r) => r.name)).toEqual(["Dogs"]);
      expect((await b.rooms.getRoom(room.id)).data?.name).toBe("Dogs");

      await a.roomWrites.update(alice, room.id, { description: "Woof" });
      expect((await b.rooms.getRoom(room.id)).data?.description).toBe("Woof");

      const other = await a.roomWrites.create(bob, { name: "Birds" });
      expect((await b.rooms.getAllRooms()).data.map((r) => r.name)).toEqual(["Birds", "Dogs"]);
      expect((await b.rooms.getRoomCount()).data).toBe(2);

      await a.roomWrites.remove(bob, other.id);
      await b.rooms.getRoom(other.id);
      expect((await b.rooms.getAllRooms()).data.map((r) => r.name)).toEqual(["Dogs"]);
      expect((await b.rooms.getRoom(other.id)).data).toBeNull();
      expect((await b.rooms.getRoomCount()).data).toBe(1);
    });

    it("reads the list and its activity order in one call that sends only what changed", async () => {
      const [a, b] = [instance(), instance()];
      const cats = await a.roomWrites.create(alice, { name: "Cats" });
      await a.roomWrites.create(alice, { name: "Dogs" });
      const names = async () => (await b.activity.activeRooms(b.rooms)).data.map((r) => r.name);
      expect(await names()).toEqual(["Dogs", "Cats"]);
      expect(await names()).toEqual(["Dogs", "Cats"]);
      const get = vi.spyOn(b.store!, "get");
      const evals = vi.spyOn(b.store!, "eval");
      queries.reset();
      expect(await names()).toEqual(["Dogs", "Cats"]);
      expect(get).not.toHaveBeenCalled();
      expect(evals).toHaveBeenCalledTimes(1);
      const [state, value, signature, members] = (await evals.mock.results[0]!.value) as unknown[];
      expect([state, value, members]).toEqual([1, "", undefined]);
      // Activity on another instance: the order is sent, the list is not, and it shows at once.
      await a.activity.apply({ room: cats.id, ms: Date.now() + 1_000 });
      evals.mockClear();
      expect(await names()).toEqual(["Cats", "Dogs"]);
      const moved = (await evals.mock.results[0]!.value) as unknown[];
      expect(moved.slice(0, 2)).toEqual([1, ""]);
      expect(moved[2]).not.toBe(signature);
      expect(moved[3]).toHaveLength(4);
      expect(evals).toHaveBeenCalledTimes(1);
      expect(queries.count).toBe(0);
    });

    it("refuses bad input, duplicate names and non-owners, storing nothing", async () => {
      const rt = instance();
      const room = await rt.roomWrites.create(alice, { name: "Chess" });
      await expect(rt.roomWrites.create(alice, { name: "   " })).rejects.toMatchObject({ status: 400, fields: { name: expect.any(String) } });
      await expect(rt.roomWrites.create(alice, { name: "x".repeat(65) })).rejects.toMatchObject({ status: 400 });
      await expect(rt.roomWrites.create(alice, { name: "bad\u0007bell" })).rejects.toMatchObject({ status: 400 });
      await expect(rt.roomWrites.create(bob, { name: "  CHESS " })).rejects.toMatchObject({ status: 409, code: "duplicate_name" });
      await expect(rt.roomWrites.update(bob, room.id, { name: "Mine now" })).rejects.toMatchObject({ status: 403 });
      await expect(rt.roomWrites.remove(bob, room.id)).rejects.toMatchObject({ status: 403 });
      const [row] = await t.db.sql<{ n: number }[]>`select count(*)::int as n from rooms`;
      expect(row?.n).toBe(1);
      expect((await rt.rooms.getRoom(room.id)).data?.name).toBe("Chess");
      // A name counts in code points and is stored NFC-normalised.
      const accented = await rt.roomWrites.create(alice, { name: "Cafe\u0301 ".padEnd(5) });
      expect(accented.name).toBe("Caf\u00e9");
    });

    it.each([
      ["garbage JSON", "{not json"],
      ["valid JSON of the wrong shape", JSON.stringify({ v: 1, at: "now", data: [{ id: 42 }] })],
    ])("treats %s as a miss, deletes it and serves Postgres", async (_label, garbage) => {
      const rt = instance();
      await rt.roomWrites.create(alice, { name: "Real" });
      await t.redis.raw.set(key("rooms:all"), garbage, "EX", 60);
      const result = await rt.rooms.getAllRooms();
      expect(result.data.map((r) => r.name)).toEqual(["Real"]);
      expect(result.source).toBe("db");
      expect(await t.redis.raw.get(key("rooms:all"))).toContain('"name":"Real"');
    });

    it("forced race: a rename that commits while a loader is paused is not overwritten by the old row", async () => {
      const pause = gate();
      const reader = instance({ hooks: { afterLoad: () => pause.pass() } });
      const writer = instance();
      const room = await writer.roomWrites.create(alice, { name: "Old name" });

      const loading = reader.rooms.getRoom(room.id); // misses, reads "Old name", pauses before its set
      await pause.arrived;
      await writer.roomWrites.update(alice, room.id, { name: "New name" }); // commits and invalidates
      pause.open();
      expect((await loading).data?.name).toBe("Old name"); // it began before the write: allowed

      const after = instance();
      expect((await after.rooms.getRoom(room.id)).data?.name).toBe("New name");
      expect((await t.redis.raw.get(key(`room:${room.id}`))) ?? "").not.toContain("Old name");
    });

    it("forced race, guard disabled: plain cache-aside serves the old row (the test above can fail)", async () => {
      const pause = gate();
      // Only the writer's own invalidation: no process re-reads the log during the test (a
      // second application of it would delete the old row the race leaves behind).
      const quiet = { invalidationLog: { pollMs: 60_000, leaseMs: 120_000 } };
      const reader = instance({ hooks: { afterLoad: () => pause.pass() }, unsafeDisableGuard: true, ...quiet });
      const writer = instance(quiet);
      const room = await writer.roomWrites.create(alice, { name: "Old name" });
      const loading = reader.rooms.getRoom(room.id);
      await pause.arrived;
      await writer.roomWrites.update(alice, room.id, { name: "New name" });
      pause.open();
      await loading;
      expect((await instance(quiet).rooms.getRoom(room.id)).data?.name).toBe("Old name");
    });

    it("Redis loses its data while a loader is paused after a write's invalidation → the loader's old row is not stored", async () => {
      // The generation the loader read must never come back: a counter restarted by the loss
      // would read "0" again (missing), exactly what a never-invalidated key had before.
      const pause = gate();
      const reader = instance({ hooks: { afterLoad: () => pause.pass() } });
      const writer = instance();
      const room = await writer.roomWrites.create(alice, { name: "Old name" });
      const loading = reader.rooms.getRoom(room.id); // takes the lock, reads the generation, reads "Old name"
      await pause.arrived;
      await writer.roomWrites.update(alice, room.id, { name: "New name" }); // commits, invalidates
      await t.redis.clear(); // Redis restarts empty (or FLUSHDB): the invalidation is gone with the rest
      pause.open();
      await loading;
      expect((await instance().rooms.getRoom(room.id)).data?.name).toBe("New name");
      expect((await t.redis.raw.get(key(`room:${room.id}`))) ?? "").not.toContain("Old name");
    });

    it("forced race on rooms:all: a room created during a load is in the next read", async () => {
      const pause = gate();
      const reader = instance({ hooks: { afterLoad: () => pause.pass() } });
      const writer = instance();
      await writer.roomWrites.create(alice, { name: "First" });
      const loading = reader.rooms.getAllRooms();
      await pause.arrived;
      await writer.roomWrites.create(alice, { name: "Second" });
      pause.open();
      await loading;
      expect((await writer.rooms.getAllRooms()).data.map((r) => r.name)).toEqual(["Second", "First"]);
    });

    it("never replaces a newer cached value with an older load", async () => {
      const pause = gate();
      const reader = instance({ hooks: { afterLoad: () => pause.pass() } });
      const room = await reader.roomWrites.create(alice, { name: "Versioned" });
      const loading = reader.rooms.getRoom(room.id);
      await pause.arrived;
      const newer = JSON.stringify({ v: room.version + 1000, at: new Date().toISOString(), data: { ...room, name: "From the future" } });
      await t.redis.raw.set(key(`room:${room.id}`), newer, "EX", 60);
      pause.open();
      await loading;
      expect(await t.redis.raw.get(key(`room:${room.id}`))).toBe(newer);
    });

    it("single flight: 50 concurrent misses on two instances make one Postgres query", async () => {
      const slow = { afterLoad: () => new Promise<void>((r) => setTimeout(r, 50)) };
      const a = instance({ hooks: slow });
      const b = instance({ hooks: slow });
      await a.roomWrites.create(alice, { name: "Popular" });
      // Each pool's first connection sends postgres.js's one-time type lookup; not a load.
      await Promise.all([a.db.sql`select 1`, b.db.sql`select 1`]);
      queries.reset();
      const results = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? a : b).rooms.getAllRooms()));
      expect(queries.count).toBe(1);
      expect(results.every((r) => r.data[0]?.name === "Popular")).toBe(true);
    });

    it("single flight when the wait runs out: one direct load per instance, shared by its callers", async () => {
      const pause = gate();
      const a = instance({ hooks: { afterLoad: () => pause.pass() } });
      const b = instance({ waitForLoaderMs: 50 });
      await a.roomWrites.create(alice, { name: "Slow loader" });
      // Both connected first, to Postgres and to Redis (a cluster client's start-up takes a few round trips).
      await Promise.all([a.db.sql`select 1`, b.db.sql`select 1`, a.store!.get(a.keys.roomsAll), b.store!.get(b.keys.roomsAll)]);
      queries.reset();
      const loading = a.rooms.getAllRooms(); // takes the lock, then stalls before its set
      await pause.arrived;
      const results = await Promise.all(Array.from({ length: 25 }, () => b.rooms.getAllRooms()));
      expect(results.every((r) => r.data[0]?.name === "Slow loader")).toBe(true);
      expect(queries.count).toBe(2); // a's load, and b's one direct load after its wait ran out
      pause.open();
      await loading;
    });

    it("serves the saved copy, marked stale, when Postgres is down and the key has expired", async () => {
      const proxy = await tcpProxy(5432);
      const url = new URL(t.db.url);
      url.port = String(proxy.port);
      const rt = instance({ databaseUrl: url.toString() });
      try {
        await rt.roomWrites.create(alice, { name: "Survivor" });
        await rt.rooms.getAllRooms(); // populates rooms:all and its saved copy
        await proxy.cut();
        expect((await rt.rooms.getAllRooms()).source).toBe("cache"); // fresh key: a plain hit
        await t.redis.raw.del(key("rooms:all")); // the key expires
        const stale = await rt.rooms.getAllRooms();
        expect(stale.source).toBe("stale");
        expect(stale.data.map((r) => r.name)).toEqual(["Survivor"]);
        await t.redis.raw.del(`{${key("rooms:all")}}:stale`); // and no saved copy either
        await expect(rt.rooms.getAllRooms()).rejects.toThrow();
      } finally {
        await proxy.close();
      }
    });

    describe.each([
      ["unreachable (closed port)", async () => ({ port: await closedPort(), close: async () => {} })],
      ["accepting connections but never answering", blackhole],
    ])("Redis %s", (_label, makeEndpoint) => {
      it("answers correctly from Postgres without waiting on timeouts, and writes still succeed", async () => {
        const endpoint = await makeEndpoint();
        try {
          const healthy = instance();
          await healthy.roomWrites.create(alice, { name: "Still here" });
          // Production deadlines; but a test process sharing its core with other test files
          // is "busy" by withDeadline's measure, which grants a silent Redis up to 5 s: cap that.
          const rt = instance({ redis: driver.endpointAt(endpoint.port), guard: { maxBusyWaitMs: 200 } });
          // No call waits for a connect or command timeout (ioredis' default connect timeout
          // is 10 s, Upstash retries 5 times): the circuit opens on the first failures, and
          // from then on no call reaches Redis at all. (Timed by behaviour, not by a clock:
          // eight calls that each waited out such a timeout would blow the test's own limit.)
          let reachedStore = 0;
          const store = rt.store!;
          for (const op of ["get", "eval"] as const) {
            const original = store[op].bind(store) as (...args: unknown[]) => Promise<unknown>;
            (store as unknown as Record<string, unknown>)[op] = (...args: unknown[]) => {
              reachedStore++;
              return original(...args);
            };
          }
          let reachedWhenOpened: number | undefined;
          for (let i = 0; i < 8; i++) {
            const result = await rt.rooms.getAllRooms();
            expect(result.data.map((r) => r.name)).toEqual(["Still here"]);
            expect(result.source).toBe("db");
            if (rt.guarded?.state === "open") reachedWhenOpened ??= reachedStore;
          }
          // Open, or half-open while its background probe is out (on a loaded machine that takes a
          // while): either way calls fail at once and go to Postgres.
          expect(["open", "half-open"]).toContain(rt.guarded?.state);
          expect(reachedStore).toBe(reachedWhenOpened);

          const room = await rt.roomWrites.create(bob, { name: "Written during the outage" });
          expect((await rt.rooms.getRoom(room.id)).data?.name).toBe("Written during the outage");
        } finally {
          await endpoint.close();
        }
      });

      it("a writer cut off from Redis while a reader is not → the reader's first read after the 2xx shows the write", async () => {
        const endpoint = await makeEndpoint();
        try {
          // The production lease, the same on both: the writer waits out what readers may trust.
          const lease = { invalidationLog: {} };
          const reader = instance(lease);
          const room = await reader.roomWrites.create(alice, { name: "Before" });
          // The reader has the room and the list cached.
          await reader.rooms.getRoom(room.id);
          await reader.rooms.getAllRooms();
          const writer = instance({ redis: driver.endpointAt(endpoint.port), guard: { maxBusyWaitMs: 200 }, ...lease });
          await writer.roomWrites.update(alice, room.id, { name: "After" }); // committed; the writer cannot invalidate
          const created = await writer.roomWrites.create(bob, { name: "Created while cut off" });
          // The 2xx is in hand: the reader, which Redis answers fine, must not serve what came before.
          expect((await reader.rooms.getRoom(room.id)).data?.name).toBe("After");
          expect((await reader.rooms.getAllRooms()).data.map((r) => r.name).sort()).toEqual(["After", "Created while cut off"]);
          expect((await reader.rooms.getRoom(created.id)).data?.name).toBe("Created while cut off");
          // And the intent outlived the writer: applied by the reader's instance, the cache is warm again.
          await writer.close();
          expect((await instance(lease).rooms.getRoom(room.id)).data?.name).toBe("After");
        } finally {
          await endpoint.close();
        }
      });
    });
  });
}
