import { sql as drizzleSql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import type { Db } from "../../db/client";
import type { Runtime } from "../../runtime";
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

  /**
   * Holds `rt`'s log connection (where its writer's deletes of applied rows go) on an
   * advisory lock this test takes on a connection of its own (the test database's other
   * one); `release` lets it go. Meanwhile `sql` is that reserved connection.
   */
  async function holdLogConnection(rt: Runtime) {
    const sql = await t.db.sql.reserve();
    await sql`select pg_advisory_lock(4242)`;
    const logDb = (rt.invalidationLog as unknown as { options: { db: Db } }).options.db;
    // Started now (a drizzle query runs when awaited or then'd).
    const queued = logDb.execute(drizzleSql`select pg_advisory_xact_lock(4242)`).then(() => undefined);
    let released = false;
    return {
      sql,
      rows: async () => (await sql<{ n: number }[]>`select count(*)::int as n from cache_invalidations`)[0]!.n,
      release: async () => {
        if (released) return;
        released = true;
        await sql`select pg_advisory_unlock(4242)`;
        await queued;
        sql.release();
      },
    };
  }

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

  it("a write is acknowledged without waiting for its row's delete; a read of the log that finds the applied row applies it again, and reads stay right", async () => {
    const writer = instance();
    const other = instance();
    const room = await writer.roomWrites.create(alice, { name: "Before" });
    expect((await other.rooms.getRoom(room.id)).data?.name).toBe("Before");
    expect((await other.rooms.getRoom(room.id)).source).toBe("cache");
    const held = await holdLogConnection(writer);
    try {
      await writer.roomWrites.update(alice, room.id, { name: "After" });
      // Acknowledged and applied, with its row still waiting for its delete.
      expect(await held.rows()).toBe(1);
      expect((await other.rooms.getRoom(room.id)).data?.name).toBe("After");
      // Another process reads the log first: it applies the row once more (a new generation) and deletes it.
      await other.invalidationLog!.pollOnce();
      expect(await held.rows()).toBe(0);
      expect((await other.rooms.getRoom(room.id)).data?.name).toBe("After");
    } finally {
      await held.release();
    }
    // The writer's delete then finds nothing to delete, and nothing is left behind.
    await writer.invalidationLog!.stop();
    expect((await t.db.sql`select count(*)::int as n from cache_invalidations`)[0]!.n).toBe(0);
    expect((await writer.rooms.getRoom(room.id)).data?.name).toBe("After");
  });

  it("a writer's delete of its applied row skips a row a log reader holds instead of waiting for it", async () => {
    const writer = instance();
    const room = await writer.roomWrites.create(alice, { name: "Before" });
    await writer.invalidationLog!.stop(); // its reads of the log out of the way; its deletes still run
    const held = await holdLogConnection(writer);
    let letGo!: () => void;
    const readerDone = new Promise<void>((resolve) => (letGo = resolve));
    let reader: Promise<unknown> | undefined;
    try {
      await writer.roomWrites.update(alice, room.id, { name: "After" });
      // Another process's read of the log holds the row (FOR UPDATE) when the writer's delete goes out.
      let locked!: () => void;
      const isLocked = new Promise<void>((resolve) => (locked = resolve));
      reader = t.db.sql.begin(async (tx) => {
        const [row] = await tx`select id from cache_invalidations for update`;
        locked();
        await readerDone;
        await tx`delete from cache_invalidations where id = ${row!.id}`;
      });
      await isLocked;
      await held.release();
      // The delete skipped the held row: this resolves while the reader still holds it (a wait would hang here).
      await writer.invalidationLog!.stop();
      expect((await t.db.sql`select count(*)::int as n from cache_invalidations`)[0]!.n).toBe(1);
    } finally {
      letGo();
      await reader;
      await held.release();
    }
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
