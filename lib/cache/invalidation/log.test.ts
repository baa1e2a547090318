import { describe, expect, it } from "vitest";
import type { Session } from "../../session/session";
import { closedPort, tcpProxy } from "../../../tests/support/net-faults";
import { useInstances } from "../../../tests/support/instances";
import { contentChangeOps } from "./content-change";
import { DEFAULT_LEASE_MS, Lease } from "./lease";

const alice: Session = { id: "alice-session-0001", name: "Alice" };

/*
 * The invalidation log (./log.ts) on real Postgres and Redis: intents that outlive their
 * writer, and a lease that ends when a process can no longer read the log.
 */
describe("InvalidationLog", () => {
  const t = useInstances({ truncate: "rooms, cache_invalidations" });
  const { instance } = t;
  // The production lease: these tests are about it.
  const lease = { invalidationLog: {} };

  it("a writer that dies between its commit and its invalidation → another process applies it on its next read of the log", async () => {
    const reader = instance(lease);
    const room = await reader.roomWrites.create(alice, { name: "Before" });
    expect((await reader.rooms.getRoom(room.id)).data?.name).toBe("Before");
    expect((await reader.rooms.getRoom(room.id)).source).toBe("cache");
    // What a writer leaves when it dies right after COMMIT: the change and its intent, nothing applied.
    await t.db.sql.begin(async (tx) => {
      await tx`update rooms set name = 'After', version = nextval('room_version_seq'), updated_at = now() where id = ${room.id}`;
      const ops = contentChangeOps("room.updated", [reader.keys.roomsAll, reader.keys.room(room.id)]);
      await tx`insert into cache_invalidations (key_prefix, ops) values (${t.redis.prefix}, ${tx.json(ops)})`;
    });
    await reader.invalidationLog!.pollOnce();
    expect((await reader.rooms.getRoom(room.id)).data?.name).toBe("After");
    expect((await t.db.sql`select count(*)::int as n from cache_invalidations`)[0]!.n).toBe(0);
  });

  it("a process that cannot read the log stops trusting its cache within a lease: reads go to Postgres", async () => {
    const proxy = await tcpProxy(5432);
    const url = new URL(t.db.url);
    url.port = String(proxy.port);
    try {
      const rt = instance({ ...lease, databaseUrl: url.toString() });
      const room = await rt.roomWrites.create(alice, { name: "Cached" });
      await rt.rooms.getRoom(room.id);
      expect((await rt.rooms.getRoom(room.id)).source).toBe("cache");
      expect(rt.guarded!.trusted).toBe(true);
      await proxy.cut(); // Postgres gone for this process: it can no longer read the log
      await expect.poll(() => rt.guarded!.trusted, { timeout: 5_000 }).toBe(false);
      // Not trusted: the read goes to Postgres, which is down, so the saved copy, marked stale.
      const read = await rt.rooms.getRoom(room.id);
      expect(read.source).toBe("stale");
      expect(read.data?.name).toBe("Cached");
      await proxy.restore();
      await expect.poll(() => rt.guarded!.trusted, { timeout: 5_000 }).toBe(true);
      expect((await rt.rooms.getRoom(room.id)).source).toBe("cache");
    } finally {
      await proxy.close();
    }
  });

  it("a lease that lapsed while the process was busy (no read of the log failed) → reads wait for the next read and are served from the cache", async () => {
    const busy = new Lease(DEFAULT_LEASE_MS);
    const rt = instance({ ...lease, lease: busy, guard: { leaseWaitMs: 60_000 } });
    const room = await rt.roomWrites.create(alice, { name: "Cached" });
    await rt.rooms.getRoom(room.id);
    await rt.invalidationLog!.stop(); // the log is read by hand from here
    busy.renew(performance.now() - DEFAULT_LEASE_MS - 1); // its last read began more than a lease ago
    expect(rt.guarded!.trusted).toBe(false);
    const before = t.queries.count;
    const reads = Promise.all(Array.from({ length: 20 }, () => rt.rooms.getRoom(room.id)));
    await rt.invalidationLog!.pollOnce(); // the late read of the log arrives
    const served = await reads;
    // Before, each of them went to Postgres the moment it found the lease lapsed.
    expect(served.map((r) => r.source)).toEqual(Array(20).fill("cache"));
    expect(t.queries.count - before).toBe(0); // not one read of Postgres (the log's own connection is not counted)
  });

  it("a read of the log that fails (Postgres refuses) ends the readers' wait: they go to Postgres at once", async () => {
    const proxy = await tcpProxy(5432);
    const url = new URL(t.db.url);
    url.port = String(proxy.port);
    try {
      const failing = new Lease(DEFAULT_LEASE_MS);
      // A wait this long would outlast the test: the read must not wait at all.
      const rt = instance({ ...lease, lease: failing, databaseUrl: url.toString(), guard: { leaseWaitMs: 60_000 } });
      const room = await rt.roomWrites.create(alice, { name: "Cached" });
      await rt.rooms.getRoom(room.id);
      await rt.invalidationLog!.stop(); // the log is read by hand from here
      await proxy.cut(); // connections refused
      await rt.invalidationLog!.pollOnce(); // fails
      expect(rt.guarded!.trusted).toBe(false);
      const read = await rt.rooms.getRoom(room.id);
      expect(read.source).toBe("stale"); // Postgres refused too: the saved copy
      expect(read.data?.name).toBe("Cached");
      await proxy.restore();
      await rt.invalidationLog!.pollOnce();
      expect(rt.guarded!.trusted).toBe(true); // read again, trusted again
    } finally {
      await proxy.close();
    }
  });

  it("a row this process cannot apply (Redis out of its reach) is not taken for applied: no lease, and the row stays", async () => {
    const healthy = instance(lease);
    await healthy.invalidationLog!.stop(); // it would apply the row; here only the cut-off process reads the log
    const cutOff = instance({ ...lease, redis: { driver: "ioredis", url: `redis://127.0.0.1:${await closedPort()}` }, guard: { maxBusyWaitMs: 200 } });
    const room = await cutOff.roomWrites.create(alice, { name: "Written cut off" }); // waits out the lease, then answers
    expect(room.name).toBe("Written cut off");
    await cutOff.invalidationLog!.pollOnce();
    expect(cutOff.guarded!.trusted).toBe(false);
    expect((await t.db.sql`select count(*)::int as n from cache_invalidations`)[0]!.n).toBe(1);
    await healthy.invalidationLog!.pollOnce(); // a process that can reach Redis applies it
    expect((await t.db.sql`select count(*)::int as n from cache_invalidations`)[0]!.n).toBe(0);
  });
});
