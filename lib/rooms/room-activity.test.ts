import { sql } from "drizzle-orm";
import { describe, expect, it, vi } from "vitest";
import type { Runtime } from "../runtime";
import type { Session } from "../session/session";
import { useInstances } from "../../tests/support/instances";
import { closedPort } from "../../tests/support/net-faults";

const alice: Session = { id: "alice-session-0001", name: "Alice" };
const bob: Session = { id: "bob-session-000001", name: "Bob" };
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The room list as the home page and GET /api/rooms build it. */
async function listed(rt: Runtime): Promise<string[]> {
  return (await rt.activity.activeRooms(rt.rooms)).data.map((r) => r.name);
}

describe("room list by last activity, and unread marks (real Postgres and Redis)", () => {
  const t = useInstances({ truncate: "rooms, messages" });
  const { instance, key } = t;
  /** The order's sorted set: a companion of the list, on its hash slot. */
  const orderKey = () => `{${key("rooms:all")}}:activity`;

  async function threeRooms(rt: Runtime) {
    const a = await rt.roomWrites.create(alice, { name: "Alpha" });
    await pause(5);
    const b = await rt.roomWrites.create(alice, { name: "Bravo" });
    await pause(5);
    const c = await rt.roomWrites.create(alice, { name: "Charlie" });
    await pause(5);
    return { a, b, c };
  }

  it("orders by activity: creation first, then every send moves its room to the top; rooms:all stays cached", async () => {
    const rt = instance();
    const { a, b, c } = await threeRooms(rt);
    expect(await listed(rt)).toEqual(["Charlie", "Bravo", "Alpha"]);
    expect(Number(await t.redis.raw.zscore(orderKey(), c.id))).toBe(c.createdAt.getTime());

    expect((await rt.rooms.getAllRooms()).source).toBe("cache");
    await rt.messageWrites.send(bob, a.id, { body: "Hi" });
    expect((await rt.rooms.getAllRooms()).source).toBe("cache");
    expect(await listed(rt)).toEqual(["Alpha", "Charlie", "Bravo"]);
    await pause(5);
    await rt.messageWrites.send(bob, b.id, { body: "Hey" });
    const ordered = await rt.activity.order((await rt.rooms.getAllRooms()).data);
    expect(ordered.map((r) => r.name)).toEqual(["Bravo", "Alpha", "Charlie"]);
    const [row] = await t.db.sql<{ at: Date }[]>`select last_activity_at as at from rooms where id = ${b.id}`;
    expect(ordered[0]?.lastActivityAt.getTime()).toBe(Math.floor(row!.at.getTime()));
    // The send's record carried the transaction's time, stamped by the database: the room's score is its last_activity_at.
    expect(Number(await t.redis.raw.zscore(orderKey(), b.id))).toBe(Math.floor(row!.at.getTime()));
    // Another instance (its own pools and breaker) sees the same order.
    expect(await listed(instance())).toEqual(["Bravo", "Alpha", "Charlie"]);
  });

  /**
   * Two instances, both warm (rooms:all cached, connections open, postgres.js's one-time type
   * lookup done), then `gone` deleted (default: the order) and the query count reset.
   */
  async function coldOrder(gone = [orderKey()]): Promise<[Runtime, Runtime]> {
    const [one, two] = [instance(), instance()];
    await threeRooms(one);
    expect(await listed(one)).toEqual(await listed(two));
    await Promise.all([one, two].map((rt) => rt.db.db.execute(sql`select 1`)));
    await t.redis.raw.del(...gone);
    t.queries.reset();
    return [one, two];
  }

  it("a cold stampede over two instances rebuilds the sorted set with one Postgres query", async () => {
    const [one, two] = await coldOrder();
    const lists = await Promise.all(Array.from({ length: 50 }, (_, i) => listed(i % 2 ? one : two)));
    expect(t.queries.count).toBe(1);
    for (const l of lists) expect(l).toEqual(["Charlie", "Bravo", "Alpha"]);
    expect(await t.redis.raw.zcard(orderKey())).toBe(3);
  });

  it("an instance that takes the order's lock just after another rebuilt the set and let go of it queries nothing", async () => {
    const [one, two] = await coldOrder();
    // Two finds the set missing; its lock (its first write) waits until one has rebuilt the set and unlocked.
    let oneDone!: () => void;
    const gate = new Promise<void>((resolve) => (oneDone = resolve));
    let reachedLock!: () => void;
    const atLock = new Promise<void>((resolve) => (reachedLock = resolve));
    const write = two.guarded!.write.bind(two.guarded!);
    const spy = vi.spyOn(two.guarded!, "write").mockImplementationOnce(async (op) => {
      reachedLock();
      await gate;
      return write(op);
    });
    const second = listed(two);
    await atLock;
    expect(await listed(one)).toEqual(["Charlie", "Bravo", "Alpha"]);
    expect(t.queries.count).toBe(1);
    oneDone();
    expect(await second).toEqual(["Charlie", "Bravo", "Alpha"]);
    // Two took the free lock, found the set refilled, and did not query again.
    expect(t.queries.count).toBe(1);
    spy.mockRestore();
  });

  it("a cold stampede with the list and the order both gone costs one Postgres statement", async () => {
    const [one, two] = await coldOrder([key("rooms:all"), orderKey()]);
    const lists = await Promise.all(Array.from({ length: 50 }, (_, i) => listed(i % 2 ? one : two)));
    // The list's loader refills the order from the same statement.
    expect(t.queries.count).toBe(1);
    for (const l of lists) expect(l).toEqual(["Charlie", "Bravo", "Alpha"]);
  });

  it.each([
    ["off (CACHE_ENABLED=false)", async () => ({ cacheEnabled: false })],
    ["unreachable", async () => ({ redis: { driver: "ioredis" as const, url: `redis://127.0.0.1:${await closedPort()}` }, guard: { maxBusyWaitMs: 200 } })],
  ])("Redis %s: the list and its order come from one Postgres statement, in activity order", async (_label, config) => {
    const healthy = instance();
    const { a } = await threeRooms(healthy);
    await healthy.messageWrites.send(bob, a.id, { body: "Hi" });
    const rt = instance(await config());
    await rt.db.db.execute(sql`select 1`); // postgres.js's one-time type lookup
    for (let i = 0; i < 5; i++) {
      t.queries.reset();
      expect(await listed(rt)).toEqual(["Alpha", "Charlie", "Bravo"]);
      expect(t.queries.count).toBe(1);
    }
  });

  it("a hot read of the list and its order is one Redis call answering only what changed", async () => {
    const [rt, other] = [instance(), instance()];
    const { a, b } = await threeRooms(other);
    expect(await listed(rt)).toEqual(["Charlie", "Bravo", "Alpha"]);
    expect(await listed(rt)).toEqual(["Charlie", "Bravo", "Alpha"]);
    const store = rt.store!;
    const calls = [vi.spyOn(store, "get"), vi.spyOn(store, "eval"), vi.spyOn(store, "mget")];
    const replies = async () => {
      const made = calls.flatMap((c) => c.mock.results.map((r) => r.value as Promise<unknown>));
      for (const c of calls) c.mockClear();
      return Promise.all(made);
    };
    t.queries.reset();
    // Nothing changed: one call, and neither the list nor the order crosses the wire.
    expect(await listed(rt)).toEqual(["Charlie", "Bravo", "Alpha"]);
    const [unchanged, ...more] = await replies();
    expect(more).toEqual([]);
    expect(unchanged).toEqual([1, "", expect.stringMatching(/^[0-9a-f]{40}$/)]);
    // Another instance's send moves a room: the next read gets the order, not the list.
    await other.messageWrites.send(bob, a.id, { body: "Hi" });
    expect(await listed(rt)).toEqual(["Alpha", "Charlie", "Bravo"]);
    const [moved, ...none] = (await replies()) as [unknown[], ...unknown[]];
    expect(none).toEqual([]);
    expect(moved.slice(0, 2)).toEqual([1, ""]);
    expect(moved[3]).toHaveLength(6);
    // A rename on the other instance: the list is read again and shown at once.
    await other.roomWrites.update(alice, b.id, { name: "Bravissimo" });
    t.queries.reset();
    expect(await listed(rt)).toEqual(["Alpha", "Charlie", "Bravissimo"]);
    expect(t.queries.count).toBe(1);
    await replies();
    // The new list is sent once, then this process holds it again.
    for (let i = 0; i < 2; i++) expect(await listed(rt)).toEqual(["Alpha", "Charlie", "Bravissimo"]);
    const [first, second] = (await replies()) as [unknown[], unknown[]];
    expect(first[1]).toMatch(/Bravissimo/);
    expect(second).toEqual([1, "", moved[2]]);
    expect(t.queries.count).toBe(1);
    // A signature compared with a copy since replaced: the members are read again, not Postgres.
    t.queries.reset();
    const { data } = await rt.rooms.getAllRooms();
    const ordered = await rt.activity.order([...data], { ok: true, set: { signature: "0".repeat(40) } });
    expect(ordered.map((r) => r.name)).toEqual(["Alpha", "Charlie", "Bravissimo"]);
    expect(t.queries.count).toBe(0);
  });

  it("a burst that misses the list reads the order about twice, not once per request", async () => {
    const writer = instance();
    await threeRooms(writer);
    await listed(writer);
    const rt = instance();
    await t.redis.raw.del(key("rooms:all"));
    const evals = vi.spyOn(rt.store!, "eval");
    const lists = await Promise.all(Array.from({ length: 50 }, () => listed(rt)));
    for (const l of lists) expect(l).toEqual(["Charlie", "Bravo", "Alpha"]);
    // Reads of the set alone (the list's hit read names both keys; the refill writes).
    const orderReads = evals.mock.calls.filter(([script, keys]) => keys.length === 1 && script.source.includes("zrange"));
    expect(orderReads.length).toBeGreaterThan(0);
    expect(orderReads.length).toBeLessThanOrEqual(2);
  });

  it("rebuilds the sorted set from Postgres when it is missing, idempotently, and never moves a score back", async () => {
    const rt = instance();
    const { a, b } = await threeRooms(rt);
    await rt.messageWrites.send(bob, a.id, { body: "Hi" });
    await t.redis.raw.del(orderKey());
    expect(await listed(rt)).toEqual(["Alpha", "Charlie", "Bravo"]);
    expect(await t.redis.raw.zcard(orderKey())).toBe(3);
    const before = await t.redis.raw.zrange(orderKey(), "0", "-1", "WITHSCORES");
    // A member missing (e.g. a touch lost while Redis was away) also triggers a rebuild.
    await t.redis.raw.zrem(orderKey(), b.id);
    expect(await listed(instance())).toEqual(["Alpha", "Charlie", "Bravo"]);
    expect(await t.redis.raw.zrange(orderKey(), "0", "-1", "WITHSCORES")).toEqual(before);
    // A stale write (older score) is ignored: ZADD GT.
    await rt.activity.apply({ room: a.id, ms: 0 });
    expect(await t.redis.raw.zrange(orderKey(), "0", "-1", "WITHSCORES")).toEqual(before);
  });

  it("removes a deleted room's member", async () => {
    const rt = instance();
    const { b } = await threeRooms(rt);
    await rt.roomWrites.remove(alice, b.id);
    expect(await t.redis.raw.zscore(orderKey(), b.id)).toBeNull();
    expect(await listed(rt)).toEqual(["Charlie", "Alpha"]);
  });

  it("orders from Postgres when Redis is down or the cache is off", async () => {
    const rt = instance();
    const { a, b } = await threeRooms(rt);
    await rt.messageWrites.send(bob, b.id, { body: "Hi" });
    await pause(5);
    await rt.messageWrites.send(bob, a.id, { body: "Hi" });
    // Redis holds a wrong order: the instances below must not see it.
    await t.redis.raw.zadd(orderKey(), Date.now() + 1_000_000, (await rt.rooms.getAllRooms()).data.find((r) => r.name === "Charlie")!.id);
    const down = instance({ redis: { driver: "ioredis", url: "redis://127.0.0.1:1" }, guard: {} });
    expect(await listed(down)).toEqual(["Alpha", "Bravo", "Charlie"]);
    const off = instance({ cacheEnabled: false });
    expect(await listed(off)).toEqual(["Alpha", "Bravo", "Charlie"]);
    // Sends with Redis down still work (the touch is best effort).
    await down.messageWrites.send(bob, b.id, { body: "Again" });
    expect(await listed(down)).toEqual(["Bravo", "Alpha", "Charlie"]);
    expect(await down.activity.unread(alice.id, [])).toBeNull();
  });

  it("keeps unread marks per session", async () => {
    const rt = instance();
    const { a, b, c } = await threeRooms(rt);
    const rooms = async () => (await rt.rooms.getAllRooms()).data;
    // First look: nothing unread for either visitor.
    expect(await rt.activity.unread(alice.id, await rooms())).toEqual([]);
    expect(await rt.activity.unread(bob.id, await rooms())).toEqual([]);
    await pause(5);
    await rt.messageWrites.send(bob, a.id, { body: "Hi" });
    await rt.messageWrites.send(bob, b.id, { body: "Hi" });
    expect((await rt.activity.unread(alice.id, await rooms()))?.sort()).toEqual([a.id, b.id].sort());
    expect(await rt.activity.markRead(alice.id, a.id)).toBe(true);
    expect(await rt.activity.unread(alice.id, await rooms())).toEqual([b.id]);
    // Bob's marks are his own.
    expect((await rt.activity.unread(bob.id, await rooms()))?.sort()).toEqual([a.id, b.id].sort());
    expect(await t.redis.raw.hget(key(`read:${alice.id}`), a.id)).toMatch(/^\d+$/);
    expect(await t.redis.raw.ttl(key(`read:${alice.id}`))).toBeGreaterThan(0);
    // New activity after the mark makes it unread again.
    await pause(5);
    await rt.messageWrites.send(bob, a.id, { body: "More" });
    expect(await rt.activity.unread(alice.id, await rooms())).toEqual([a.id, b.id]);
    // A deleted room is never reported.
    await rt.roomWrites.remove(alice, b.id);
    expect(await rt.activity.unread(alice.id, await rooms())).toEqual([a.id]);
    expect(c.id).toBeTruthy();
  });
});
