import { randomUUID } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTestDatabase, createTestRedis, createTestRuntime, type TestDatabase, type TestRedis } from "../../tests/support/test-env";
import { encodeEnvelope } from "../cache/protocol";
import { listLiveRoomsWithVersion } from "../db/queries/rooms";
import type { Runtime } from "../runtime";
import type { Session } from "../session/session";
import { forcedOrder, reconcileStoreDrivers } from "./test-drivers";
import { SNAPSHOT } from "./scripts";
import type { CacheStore } from "../cache/store";
import { RoomReconciliationService, type ReconcileHooks, type ReconcileReport } from "./reconciliation-service";

const owner: Session = { id: "owner-session-00001", name: "Owner" };

const clean = {
  skipped: false,
  scanned: 3,
  added: 0,
  removed: 0,
  modified: 0,
  corrupt: 0,
  refused: 0,
  listRebuilt: false,
  countFixed: false,
  dryRun: false,
};

const drivers = reconcileStoreDrivers();

for (const driver of drivers)
describe(`RoomReconciliationService over ${driver.name}`, () => {
  let db: TestDatabase;
  let redis: TestRedis;
  let rt: Runtime;
  let ids: string[];

  beforeEach(async () => {
    db = await createTestDatabase();
    redis = createTestRedis();
    rt = createTestRuntime(db, redis);
    ids = [];
    for (const name of ["Alpha", "Bravo", "Charlie"]) ids.push((await rt.roomWrites.create(owner, { name })).id);
    // Everything cached, as after a busy minute: the list, the count and every room.
    await rt.rooms.getAllRooms();
    await rt.rooms.getRoomCount();
    for (const id of ids) await rt.rooms.getRoom(id);
  });

  afterEach(async () => {
    await rt.close();
    await redis.close();
    await db.drop();
  });

  const service = (hooks?: ReconcileHooks) =>
    new RoomReconciliationService({ db: rt.db.db, store: driver.store(rt), keys: rt.keys, ttls: rt.ttls, hooks });
  const run = (opts: { dryRun?: boolean; force?: boolean } = {}, hooks?: ReconcileHooks) =>
    service(hooks).run({ force: true, ...opts });
  const raw = (key: string) => redis.raw.get(key);
  const cachedData = async (key: string) => JSON.parse((await raw(key))!).data;
  const renameBySql = (id: string, name: string) =>
    db.sql`update rooms set name = ${name}, version = nextval('room_version_seq'), updated_at = now() where id = ${id}`;
  const deleteBySql = (id: string) =>
    db.sql`update rooms set deleted_at = now(), version = nextval('room_version_seq') where id = ${id}`;

  /** After a repair, a second run finds nothing, and the cache serves what Postgres has. */
  async function expectConsistent(names: string[]) {
    const again = await run();
    expect(again).toMatchObject({ added: 0, removed: 0, modified: 0, corrupt: 0, listRebuilt: false, countFixed: false });
    expect((await cachedData(rt.keys.roomsAll)).map((r: { name: string }) => r.name).sort()).toEqual([...names].sort());
    expect(await cachedData(rt.keys.roomsCount)).toBe(names.length);
  }

  it("finds nothing to repair in a consistent cache", async () => {
    expect(await run()).toMatchObject(clean);
  });

  it("repairs a room renamed by SQL behind the cache", async () => {
    await renameBySql(ids[0]!, "Alpha Prime");
    expect(await run()).toMatchObject({ ...clean, modified: 1, listRebuilt: true });
    expect((await cachedData(rt.keys.room(ids[0]!))).name).toBe("Alpha Prime");
    expect((await rt.rooms.getRoom(ids[0]!)).data?.name).toBe("Alpha Prime");
    await expectConsistent(["Alpha Prime", "Bravo", "Charlie"]);
  });

  it("removes a room deleted by SQL from its key, the list and the count", async () => {
    await deleteBySql(ids[1]!);
    const genBefore = await raw(rt.keys.gen(rt.keys.room(ids[1]!)));
    expect(await run()).toMatchObject({ ...clean, removed: 1, listRebuilt: true, countFixed: true });
    expect(await raw(rt.keys.room(ids[1]!))).toBeNull();
    // Removed with the writers' INVALIDATE: the generation moved, so no load in flight can resurrect it.
    const genAfter = await raw(rt.keys.gen(rt.keys.room(ids[1]!)));
    expect(genAfter).not.toBeNull();
    expect(genAfter).not.toBe(genBefore);
    await expectConsistent(["Alpha", "Charlie"]);
  });

  it("adds a room inserted by SQL behind the cache to the list and the count", async () => {
    await db.sql`insert into rooms (name, owner_id, owner_name) values ('Delta', 'someone', 'Someone')`;
    expect(await run()).toMatchObject({ ...clean, added: 1, listRebuilt: true, countFixed: true });
    await expectConsistent(["Alpha", "Bravo", "Charlie", "Delta"]);
  });

  it("replaces garbage in room:{id} with the current row", async () => {
    await redis.raw.set(rt.keys.room(ids[2]!), "{not json", "EX", 60);
    expect(await run()).toMatchObject({ ...clean, corrupt: 1 });
    expect(await cachedData(rt.keys.room(ids[2]!))).toMatchObject({ id: ids[2], name: "Charlie" });
  });

  it("compares each live room's key with its row as bytes, multi-byte and escaped text included: only a differing one is read again", async () => {
    // Rooms whose JSON is longer in bytes than in characters, or escaped, between the others:
    // a key compared at the wrong place in the batch's bytes would be read again.
    for (const name of ["Salle é中🎉", 'Quote " and \\ back', "𝄞 ß€"]) ids.push((await rt.roomWrites.create(owner, { name, description: "é".repeat(40) })).id);
    await rt.rooms.getAllRooms();
    await rt.rooms.getRoomCount();
    for (const id of ids) await rt.rooms.getRoom(id);
    await renameBySql(ids[4]!, "Quote renamed");
    const reread: string[] = [];
    const store = driver.store(rt);
    const watched: CacheStore = { ...store, mget: (keys) => (reread.push(...keys.filter((k) => k.startsWith(rt.keys.room("")))), store.mget(keys)) };
    const report = await new RoomReconciliationService({ db: rt.db.db, store: watched, keys: rt.keys, ttls: rt.ttls }).run({ force: true });
    expect(report).toMatchObject({ ...clean, scanned: 6, modified: 1, listRebuilt: true });
    expect(reread).toEqual([rt.keys.room(ids[4]!)]);
    expect((await cachedData(rt.keys.room(ids[4]!))).name).toBe("Quote renamed");
  });

  it("invalidates room:{id} for a room that never existed", async () => {
    const ghost = rt.keys.room(randomUUID());
    await redis.raw.set(ghost, (await raw(rt.keys.room(ids[0]!)))!, "EX", 60);
    expect(await run()).toMatchObject({ ...clean, scanned: 4, removed: 1 });
    expect(await raw(ghost)).toBeNull();
  });

  for (const order of ["scans first", "list first"] as const)
    it(`finds the same drift when the key SCAN runs ${order === "scans first" ? "before" : "after"} the list pass`, async () => {
      // A rename, a deletion and a key of a room that never existed. Scans first: every id
      // the SCAN finds is held until the list pass is done, and only the ones it did not
      // find live are looked at; each key is counted once either way.
      await renameBySql(ids[0]!, "Alpha Prime");
      await deleteBySql(ids[1]!);
      const ghost = rt.keys.room(randomUUID());
      await redis.raw.set(ghost, (await raw(rt.keys.room(ids[2]!)))!, "EX", 60);
      const store = forcedOrder(driver.store(rt), rt.keys, order);
      const report = await new RoomReconciliationService({ db: rt.db.db, store, keys: rt.keys, ttls: rt.ttls }).run({ force: true });
      expect(report).toMatchObject({ ...clean, scanned: 4, modified: 1, removed: 2, listRebuilt: true, countFixed: true });
      expect(await raw(ghost)).toBeNull();
      expect(await raw(rt.keys.room(ids[1]!))).toBeNull();
      expect((await cachedData(rt.keys.room(ids[0]!))).name).toBe("Alpha Prime");
      await expectConsistent(["Alpha Prime", "Charlie"]);
    });

  it("fails with the list pass's error when it fails, and the passes beside it stop", async () => {
    // The list pass fails once the SCAN and the ZSCAN are done, so both wait on its live ids.
    const forced = forcedOrder(driver.store(rt), rt.keys, "scans first");
    const store = new Proxy(forced, {
      get: (target, name) => {
        if (name === "eval")
          return (async (script, keys, args) => {
            const result = await target.eval(script, keys, args);
            if (script === SNAPSHOT) throw new Error("snapshot refused");
            return result;
          }) satisfies CacheStore["eval"];
        const value = Reflect.get(target, name, target) as unknown;
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    // Without the list pass's failure passed on to them, they would wait forever.
    await expect(new RoomReconciliationService({ db: rt.db.db, store, keys: rt.keys, ttls: rt.ttls }).run({ force: true })).rejects.toThrow(
      "snapshot refused",
    );
    // Nothing was recorded, and a run after it completes.
    expect(await raw(rt.keys.roomsLastSync)).toBeNull();
    expect(await run()).toMatchObject(clean);
  }, 20_000);

  it("leaves keys that only look like rooms alone", async () => {
    const notOurs = rt.keys.room("not-a-uuid");
    await redis.raw.set(notOurs, "x", "EX", 60);
    expect(await run()).toMatchObject(clean);
    expect(await raw(notOurs)).toBe("x");
  });

  it("finds a ghost room key and a ghost conversation in one SCAN, and leaves keys that only share its glob alone", async () => {
    const ghost = randomUUID();
    await redis.raw.set(rt.keys.room(ghost), (await raw(rt.keys.room(ids[0]!)))!, "EX", 60);
    await redis.raw.set(rt.keys.messages(ghost), encodeEnvelope(1, { messages: [], nextCursor: null }), "EX", 60);
    // Each matches the one glob (key-scan.ts) without being a room key or a conversation.
    const lookAlikes = [`${rt.keys.prefix}moss:${randomUUID()}`, `${rt.keys.prefix}roomy:${randomUUID()}`, rt.keys.messages("not-a-uuid"), `${rt.keys.room(randomUUID())}:x`];
    for (const key of lookAlikes) await redis.raw.set(key, "x", "EX", 60);
    expect(await run()).toMatchObject({ ...clean, scanned: 4, removed: 1, messagesScanned: 1, messagesRemoved: 1 });
    expect(await raw(rt.keys.room(ghost))).toBeNull();
    expect(await raw(rt.keys.messages(ghost))).toBeNull();
    for (const key of lookAlikes) expect(await raw(key)).toBe("x");
  });

  it("rebuilds rooms:all byte for byte as the read path writes it, with its TTL and last-known-good copy", async () => {
    await renameBySql(ids[2]!, "Charlie Prime");
    expect(await run()).toMatchObject({ modified: 1, listRebuilt: true });
    const rebuilt = (await raw(rt.keys.roomsAll))!;
    const { rooms, version } = await listLiveRoomsWithVersion(rt.db.db);
    expect(rebuilt).toBe(encodeEnvelope(version, rooms, new Date(JSON.parse(rebuilt).at)));
    expect(await redis.raw.ttl(rt.keys.roomsAll)).toBeGreaterThan(0);
    expect(await raw(rt.keys.stale(rt.keys.roomsAll))).toBe(rebuilt);
    for (const key of ["snapshot", "staging"] as const) expect(await redis.raw.exists(rt.keys[key](rt.keys.roomsAll))).toBe(0);
  });

  it("rebuilds rooms:all byte for byte after the list shrank, and after it grew", async () => {
    await deleteBySql(ids[1]!);
    expect(await run()).toMatchObject({ removed: 1, listRebuilt: true });
    let rebuilt = (await raw(rt.keys.roomsAll))!;
    let live = await listLiveRoomsWithVersion(rt.db.db);
    expect(rebuilt).toBe(encodeEnvelope(live.version, live.rooms, new Date(JSON.parse(rebuilt).at)));
    await db.sql`insert into rooms (name, owner_id, owner_name) values ('Delta', 'someone', 'Someone'), ('Echo', 'someone', 'Someone')`;
    expect(await run()).toMatchObject({ added: 2, listRebuilt: true });
    rebuilt = (await raw(rt.keys.roomsAll))!;
    live = await listLiveRoomsWithVersion(rt.db.db);
    expect(rebuilt).toBe(encodeEnvelope(live.version, live.rooms, new Date(JSON.parse(rebuilt).at)));
  });

  it("rebuilds a missing rooms:all without counting drift", async () => {
    await redis.raw.del(rt.keys.roomsAll);
    expect(await run()).toMatchObject({ ...clean, listRebuilt: true });
    await expectConsistent(["Alpha", "Bravo", "Charlie"]);
  });

  it("rebuilds rooms:all that still lists a deleted room", async () => {
    await redis.raw.del(rt.keys.room(ids[0]!));
    await deleteBySql(ids[0]!);
    expect(await run()).toMatchObject({ ...clean, scanned: 2, removed: 1, listRebuilt: true, countFixed: true });
    await expectConsistent(["Bravo", "Charlie"]);
  });

  it("rebuilds a corrupt rooms:all", async () => {
    await redis.raw.set(rt.keys.roomsAll, '{"v":1,"at":"x","data":[{"id":1}]}', "EX", 60);
    expect(await run()).toMatchObject({ ...clean, corrupt: 1, listRebuilt: true });
    await expectConsistent(["Alpha", "Bravo", "Charlie"]);
  });

  it("rebuilds a rooms:all that lists a live room twice, as corrupt", async () => {
    const listed = JSON.parse((await raw(rt.keys.roomsAll))!) as { data: unknown[] };
    listed.data.push(listed.data.at(-1));
    await redis.raw.set(rt.keys.roomsAll, JSON.stringify(listed), "EX", 60);
    expect(await run()).toMatchObject({ ...clean, corrupt: 1, listRebuilt: true });
    await expectConsistent(["Alpha", "Bravo", "Charlie"]);
  });

  it("counts a room whose creation time moved (so its place in the list did) as modified, once", async () => {
    await db.sql`update rooms set created_at = created_at - interval '1 day', version = nextval('room_version_seq') where id = ${ids[2]!}`;
    expect(await run()).toMatchObject({ ...clean, modified: 1, listRebuilt: true });
    await expectConsistent(["Alpha", "Bravo", "Charlie"]);
  });

  it("finds the drift among rooms created in one millisecond, whose microseconds order them against their ids", async () => {
    // Five rooms in one millisecond: the later the microsecond, the smaller the id, so the
    // list's order (created_at desc, id desc) is not the ids' order within the millisecond.
    const base = "2026-01-01 00:00:00.123";
    const same = ["f", "d", "b", "9", "7"].map((c, i) => ({ id: `${c.repeat(8)}-0000-4000-8000-000000000000`, at: `${base}${i}00+00` }));
    for (const r of same) await db.sql`insert into rooms (id, name, owner_id, owner_name, created_at, updated_at) values (${r.id}, ${"Same " + r.id[0]}, 'o', 'O', ${r.at}, ${r.at})`;
    await redis.raw.del(rt.keys.roomsAll);
    await rt.rooms.getAllRooms();
    expect(await run()).toMatchObject({ added: 0, removed: 0, modified: 0, corrupt: 0, listRebuilt: false });
    // Behind the cache: one of them deleted, one renamed, one more created in that millisecond.
    await deleteBySql(same[1]!.id);
    await renameBySql(same[3]!.id, "Same renamed");
    await db.sql`insert into rooms (id, name, owner_id, owner_name, created_at, updated_at) values ('c0000000-0000-4000-8000-000000000000', 'Same c', 'o', 'O', ${`${base}250+00`}, ${`${base}250+00`})`;
    expect(await run()).toMatchObject({ added: 1, removed: 1, modified: 1, corrupt: 0, listRebuilt: true });
    await expectConsistent(["Alpha", "Bravo", "Charlie", "Same f", "Same b", "Same renamed", "Same 7", "Same c"]);
  });

  it("fixes a wrong rooms:count", async () => {
    const { v } = JSON.parse((await raw(rt.keys.roomsCount))!) as { v: number };
    await redis.raw.set(rt.keys.roomsCount, JSON.stringify({ v, at: new Date().toISOString(), data: 42 }), "EX", 60);
    expect(await run()).toMatchObject({ ...clean, countFixed: true });
    expect(await cachedData(rt.keys.roomsCount)).toBe(3);
  });

  it("reports without repairing in a dry run", async () => {
    await renameBySql(ids[0]!, "Alpha Prime");
    await redis.raw.del(rt.keys.roomsCount);
    const before = await raw(rt.keys.room(ids[0]!));
    expect(await run({ dryRun: true })).toMatchObject({ ...clean, modified: 1, listRebuilt: true, countFixed: true, dryRun: true });
    expect(await raw(rt.keys.room(ids[0]!))).toBe(before);
    expect(await raw(rt.keys.roomsCount)).toBeNull();
    expect(await raw(rt.keys.roomsLastSync)).toBeNull();
  });

  it("reports a missing list and a ghost key in a dry run, touching neither", async () => {
    const ghost = rt.keys.room(randomUUID());
    await redis.raw.set(ghost, (await raw(rt.keys.room(ids[0]!)))!, "EX", 60);
    await redis.raw.del(rt.keys.roomsAll);
    expect(await run({ dryRun: true })).toMatchObject({ ...clean, scanned: 4, removed: 1, listRebuilt: true, dryRun: true });
    expect(await raw(ghost)).not.toBeNull();
    expect(await raw(rt.keys.roomsAll)).toBeNull();
  });

  it("writes rooms:last_sync and a capped history; skips an early run unless forced", async () => {
    const first = await service().run();
    expect(first.skipped).toBe(false);
    const sync1 = (await raw(rt.keys.roomsLastSync))!;
    expect(sync1).toBe(first.finishedAt);
    expect(sync1).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(await redis.raw.ttl(rt.keys.roomsLastSync)).toBe(-1);

    const early: ReconcileReport = await service().run();
    expect(early).toMatchObject({ skipped: true, skipReason: "recent", scanned: 0 });
    expect(await raw(rt.keys.roomsLastSync)).toBe(sync1);

    const forced = await service().run({ force: true, reason: "test" });
    expect(forced.skipped).toBe(false);
    const sync2 = (await raw(rt.keys.roomsLastSync))!;
    expect(Date.parse(sync2)).toBeGreaterThanOrEqual(Date.parse(sync1));
    expect(sync2).toBe(forced.finishedAt);

    const history = await service().history();
    expect(history.map((h) => h.finishedAt)).toEqual([sync2, sync1]);
    expect(history[0]).toMatchObject({ reason: "test", scanned: 3 });
    expect(JSON.parse((await raw(rt.keys.reconcileLastRun))!).finishedAt).toBe(sync2);
    // Capped at 50: the dashboard charts the last 50 runs.
    for (let i = 0; i < 52; i++) await service().run({ force: true });
    expect(await redis.raw.llen(rt.keys.reconcileHistory)).toBe(50);
    // 55 full runs: on a loaded machine (CI beside other suites) they outlast the default 20 s.
  }, 120_000);

  it("does not revert a rename that commits while the run is in progress", async () => {
    await renameBySql(ids[0]!, "Behind The Cache");
    let renamed = false;
    const report = await run({}, {
      // The run has read generations and Postgres ("Behind The Cache"); now a user renames.
      beforeRepair: async ({ phase }) => {
        if (phase !== "rooms" || renamed) return;
        renamed = true;
        await rt.roomWrites.update(owner, ids[0]!, { name: "Renamed By Owner" });
      },
    });
    expect(renamed).toBe(true);
    // Both repairs read before the rename are refused: room:{id}, and the rooms:all this run
    // was rebuilding (its generation was read when the run snapshotted the list).
    expect(report).toMatchObject({ modified: 1, refused: 2 });
    expect(await raw(rt.keys.room(ids[0]!))).toBeNull();
    expect((await rt.rooms.getRoom(ids[0]!)).data?.name).toBe("Renamed By Owner");
    expect((await rt.rooms.getAllRooms()).data.map((r) => r.name)).toContain("Renamed By Owner");
    await expectConsistent(["Renamed By Owner", "Bravo", "Charlie"]);
  });

  it("does not overwrite rooms:all rebuilt from a snapshot older than a concurrent write", async () => {
    await renameBySql(ids[1]!, "Bravo Behind");
    const report = await run({}, {
      beforeRepair: async ({ phase }) => {
        if (phase === "list") await rt.roomWrites.update(owner, ids[1]!, { name: "Bravo By Owner" });
      },
    });
    expect(report).toMatchObject({ modified: 1, listRebuilt: true, refused: 1 });
    expect((await rt.rooms.getAllRooms()).data.map((r) => r.name)).toContain("Bravo By Owner");
  });
});

for (const driver of drivers)
describe(`RoomReconciliationService at list sizes past one chunk, over ${driver.name}`, () => {
  it("streams a multi-megabyte rooms:all with multi-byte text across chunk boundaries", async () => {
    const db = await createTestDatabase();
    const redis = createTestRedis();
    const rt = createTestRuntime(db, redis);
    try {
      // 2,500 rooms with 280-character descriptions of 2- to 4-byte characters: ~2.5 MB of list.
      await db.sql`
        insert into rooms (name, description, owner_id, owner_name)
        select 'Salle ' || i || ' é中🎉', repeat('é中🎉', 93), 'o', 'O' from generate_series(1, 2500) i`;
      await rt.rooms.getAllRooms();
      await rt.rooms.getRoomCount();
      expect((await redis.raw.strlen(rt.keys.roomsAll)) > 2 * 512 * 1024).toBe(true);
      const service = new RoomReconciliationService({ db: rt.db.db, store: driver.store(rt), keys: rt.keys, ttls: rt.ttls });
      expect(await service.run({ force: true })).toMatchObject({ scanned: 0, added: 0, removed: 0, modified: 0, corrupt: 0, listRebuilt: false });
      await db.sql`update rooms set name = name || ' ✓', version = nextval('room_version_seq') where name like 'Salle 12__ %'`;
      await db.sql`update rooms set deleted_at = now(), version = nextval('room_version_seq') where name like 'Salle 7__ %'`;
      expect(await service.run({ force: true })).toMatchObject({ modified: 100, removed: 100, added: 0, corrupt: 0, listRebuilt: true, countFixed: true });
      expect(await service.run({ force: true })).toMatchObject({ modified: 0, removed: 0, listRebuilt: false, countFixed: false });
    } finally {
      await rt.close();
      await redis.close();
      await db.drop();
    }
  });
});
