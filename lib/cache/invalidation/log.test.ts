import { describe, expect, it } from "vitest";
import type { Session } from "../../session/session";
import { closedPort, tcpProxy } from "../../../tests/support/net-faults";
import { useInstances } from "../../../tests/support/instances";
import { contentChangeOps } from "./content-change";

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
