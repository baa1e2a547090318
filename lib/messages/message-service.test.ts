import { describe, expect, it } from "vitest";
import { AppError } from "../errors";
import type { Session } from "../session/session";
import { gate } from "../../tests/support/net-faults";
import { useInstances } from "../../tests/support/instances";

const alice: Session = { id: "alice-session-0001", name: "Alice" };
const bob: Session = { id: "bob-session-000001", name: "Bob" };

/** The AppError a promise rejects with (fails the test when it resolves). */
async function appError(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
}

describe("MessageService and MessageCacheService (real Postgres and Redis)", () => {
  const t = useInstances({ truncate: "rooms, messages" });
  const { instance, key, queries } = t;
  const count = async (roomId: string) =>
    (await t.db.sql<{ n: number }[]>`select count(*)::int as n from messages where room_id = ${roomId}`)[0]?.n ?? 0;

  it("sends and deletes through the service, and the cached newest page follows every write", async () => {
    const rt = instance();
    const room = await rt.roomWrites.create(alice, { name: "General" });
    const first = await rt.messageWrites.send(alice, room.id, { body: "  Hello\r\nworld  " });
    expect(first).toMatchObject({ body: "Hello\nworld", authorId: alice.id, authorName: "Alice", roomId: room.id });

    expect((await rt.messages.getNewest(room.id)).source).toBe("db");
    expect(await t.redis.raw.ttl(key(`messages:${room.id}`))).toBeGreaterThan(rt.ttls.messages - 3);
    const second = await rt.messageWrites.send(bob, room.id, { body: "Hi Alice" });
    const afterSend = await rt.messages.getNewest(room.id);
    expect(afterSend.data?.messages.map((m) => m.body)).toEqual(["Hello\nworld", "Hi Alice"]);

    await rt.messageWrites.remove(alice, room.id, first.id);
    const afterDelete = await rt.messages.getNewest(room.id);
    expect(afterDelete.data?.messages.map((m) => m.id)).toEqual([second.id]);
    // A message never touches the room list's keys.
    await rt.rooms.getAllRooms();
    await rt.messageWrites.send(alice, room.id, { body: "Still cached?" });
    expect(await t.redis.raw.exists(key("rooms:all"))).toBe(1);
  });

  it("serves the newest page from Redis with zero Postgres queries, dates intact", async () => {
    const rt = instance();
    const room = await rt.roomWrites.create(alice, { name: "Quiet" });
    await rt.messageWrites.send(alice, room.id, { body: "One" });
    const loaded = await rt.messages.getNewest(room.id);
    queries.reset();
    const hit = await rt.messages.getNewest(room.id);
    expect(hit.source).toBe("cache");
    expect(queries.count).toBe(0);
    expect(hit.data).toEqual(loaded.data);
    expect(hit.data?.messages[0]?.createdAt).toBeInstanceOf(Date);
  });

  it("never caches an unknown room, and answers 404 to a send into one", async () => {
    const rt = instance();
    const unknown = "00000000-0000-4000-8000-000000000000";
    expect((await rt.messages.getNewest(unknown)).data).toBeNull();
    expect(await t.redis.raw.exists(key(`messages:${unknown}`))).toBe(0);
    expect((await appError(rt.messageWrites.send(alice, unknown, { body: "Anyone?" }))).status).toBe(404);
  });

  it("answers 404 to a send into a deleted room, and stores nothing", async () => {
    const rt = instance();
    const room = await rt.roomWrites.create(alice, { name: "Gone" });
    await rt.roomWrites.remove(alice, room.id);
    expect((await appError(rt.messageWrites.send(alice, room.id, { body: "Anyone?" }))).status).toBe(404);
    expect(await count(room.id)).toBe(0);
    // Nor its invalidation record (the room's own delete's record is applied and gone by then).
    await rt.invalidationLog!.stop();
    expect((await t.db.sql<{ n: number }[]>`select count(*)::int as n from cache_invalidations`)[0]!.n).toBe(0);
  });

  it("a send is one statement on the primary (the room's lock is never held across a round trip), and returns the message as stored", async () => {
    const rt = instance();
    const room = await rt.roomWrites.create(alice, { name: "One trip" });
    queries.reset();
    const sent = await rt.messageWrites.send(alice, room.id, { body: "Hello" });
    // The send's statement, then its record's delete in the transaction around the apply (begin, delete, commit).
    expect(queries.count).toBe(4);
    const [row] = await t.db.sql<{ seq: string; created_at: Date; last_activity_at: Date; message_version: string }[]>`
      select m.seq, m.created_at, r.last_activity_at, r.message_version from messages m join rooms r on r.id = m.room_id where m.id = ${sent.id}`;
    expect(sent).toMatchObject({ roomId: room.id, authorId: alice.id, authorName: "Alice", body: "Hello", editedAt: null, seq: Number(row!.seq) });
    expect(sent.createdAt.getTime()).toBe(row!.created_at.getTime());
    // One now(): the message's time is the room's activity.
    expect(row!.last_activity_at.getTime()).toBe(row!.created_at.getTime());
    expect((await rt.messages.getNewest(room.id)).data?.messages.map((m) => m.id)).toEqual([sent.id]);
  });

  it("concurrent sends into one room from two instances: the seqs are in the order of the room's versions (its lock's order)", async () => {
    const [a, b] = [instance(), instance()];
    const room = await a.roomWrites.create(alice, { name: "Busy" });
    const sent = await Promise.all(
      Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).messageWrites.send(i % 2 ? alice : bob, room.id, { body: `m${i}` })),
    );
    // Each send's version is in its room.activity event (the room list's preview).
    const versionOf = new Map<string, number>();
    for (const [, fields] of await t.redis.raw.xrange(key("events:stream:rooms"), "-", "+")) {
      const event = JSON.parse(fields[1]!) as { type: string; preview?: { version: number; last: { id: string } | null } };
      if (event.type === "room.activity" && event.preview?.last) versionOf.set(event.preview.last.id, event.preview.version);
    }
    const bySeq = [...sent].sort((x, y) => x.seq - y.seq).map((m) => versionOf.get(m.id));
    expect(bySeq.every((v) => typeof v === "number")).toBe(true);
    expect(new Set(bySeq).size).toBe(40);
    expect(bySeq).toEqual([...bySeq].sort((x, y) => x! - y!));
  });

  it("does not lose a message sent while a reader is loading the newest page", async () => {
    const writer = instance();
    const room = await writer.roomWrites.create(alice, { name: "Race" });
    await writer.messageWrites.send(alice, room.id, { body: "Before" });
    const pause = gate();
    const reader = instance({ hooks: { afterLoad: () => pause.pass() } });

    const reading = reader.messages.getNewest(room.id);
    await pause.arrived; // the reader has the old page in hand, not yet cached
    await writer.messageWrites.send(bob, room.id, { body: "During" });
    pause.open();
    expect((await reading).data?.messages.map((m) => m.body)).toEqual(["Before"]);

    // The stale page was refused: every later read, on any instance, has the new message.
    expect((await reader.messages.getNewest(room.id)).data?.messages.map((m) => m.body)).toEqual(["Before", "During"]);
    expect((await writer.messages.getNewest(room.id)).data?.messages.map((m) => m.body)).toEqual(["Before", "During"]);
  });

  it("does not resurrect a message deleted while a reader is loading", async () => {
    const writer = instance();
    const room = await writer.roomWrites.create(alice, { name: "Undo" });
    const oops = await writer.messageWrites.send(alice, room.id, { body: "Oops" });
    const pause = gate();
    const reader = instance({ hooks: { afterLoad: () => pause.pass() } });
    const reading = reader.messages.getNewest(room.id);
    await pause.arrived;
    await writer.messageWrites.remove(alice, room.id, oops.id);
    pause.open();
    await reading;
    expect((await reader.messages.getNewest(room.id)).data?.messages).toEqual([]);
  });

  it("pages backwards over 130 messages, each exactly once, oldest to newest within a page", async () => {
    const rt = instance();
    const room = await rt.roomWrites.create(alice, { name: "Busy" });
    await t.db.sql`insert into messages (room_id, author_id, author_name, body)
      select ${room.id}, ${alice.id}, 'Alice', 'm' || i from generate_series(1, 130) as i order by i`;
    await t.db.sql`update rooms set message_version = nextval('message_version_seq') where id = ${room.id}`;

    const seen: string[] = [];
    let page = (await rt.messages.getPage(room.id, {})).data;
    const sizes: number[] = [];
    for (;;) {
      expect(page).not.toBeNull();
      const seqs = page!.messages.map((m) => m.seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      sizes.push(seqs.length);
      seen.unshift(...page!.messages.map((m) => m.body));
      if (!page!.nextCursor) break;
      page = (await rt.messages.getPage(room.id, { before: Number(page!.nextCursor), limit: 50 })).data;
    }
    expect(sizes).toEqual([50, 50, 30]);
    expect(seen).toEqual(Array.from({ length: 130 }, (_, i) => `m${i + 1}`));
    expect(new Set(seen).size).toBe(130);

    const small = (await rt.messages.getPage(room.id, { limit: 7 })).data;
    expect(small?.messages.map((m) => m.body)).toEqual(["m124", "m125", "m126", "m127", "m128", "m129", "m130"]);
    const next = (await rt.messages.getPage(room.id, { before: Number(small!.nextCursor), limit: 7 })).data;
    expect(next?.messages.at(-1)?.body).toBe("m123");
  });

  it("rejects bad input with field errors and stores nothing", async () => {
    const rt = instance();
    const room = await rt.roomWrites.create(alice, { name: "Strict" });
    for (const body of [{ body: "   " }, { body: "x".repeat(2001) }, { body: "bell\u0007" }, { text: "hi" }, { body: 42 }, null]) {
      const error = await appError(rt.messageWrites.send(alice, room.id, body));
      expect(error.status).toBe(400);
      expect(error.fields).toBeDefined();
    }
    expect(await count(room.id)).toBe(0);
    // The database refuses what the schema refuses, should anything bypass the service.
    await expect(
      t.db.sql`insert into messages (room_id, author_id, author_name, body) values (${room.id}, 'x', 'X', ${"tab\there"})`,
    ).rejects.toThrow(/messages_body_valid/);
    await rt.messageWrites.send(alice, room.id, { body: "x".repeat(2000) });
    expect(await count(room.id)).toBe(1);
  });

  it("lets only the author delete (403 for anyone else, 404 for an unknown message)", async () => {
    const rt = instance();
    const room = await rt.roomWrites.create(alice, { name: "Mine" });
    const msg = await rt.messageWrites.send(alice, room.id, { body: "Hands off" });
    expect((await appError(rt.messageWrites.remove(bob, room.id, msg.id))).status).toBe(403);
    expect((await rt.messages.getNewest(room.id)).data?.messages).toHaveLength(1);
    const unknown = "00000000-0000-4000-8000-000000000000";
    expect((await appError(rt.messageWrites.remove(alice, room.id, unknown))).status).toBe(404);
    await rt.messageWrites.remove(alice, room.id, msg.id);
    expect((await appError(rt.messageWrites.remove(alice, room.id, msg.id))).status).toBe(404);
  });

  it("rate-limits messages per session and per IP with a 429 and Retry-After seconds", async () => {
    const rt = instance({ rateLimits: true });
    const room = await rt.roomWrites.create(alice, { name: "Flood" });
    const results = await Promise.allSettled(
      Array.from({ length: 14 }, (_, i) => rt.messageWrites.send(alice, room.id, { body: `spam ${i}` })),
    );
    const refused = results.filter((r) => r.status === "rejected").map((r) => (r as PromiseRejectedResult).reason as AppError);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(10);
    expect(refused).toHaveLength(4);
    for (const e of refused) expect(e).toMatchObject({ status: 429, code: "rate_limited", retryAfterSeconds: 1 });
    expect(await count(room.id)).toBe(10);
    // Many sessions behind one IP share that IP's budget (burst 40), not each other's.
    const ip = "203.0.113.9";
    const crowd = await Promise.allSettled(
      Array.from({ length: 60 }, (_, i) =>
        rt.messageWrites.send({ id: `visitor-${String(i).padStart(10, "0")}`, name: "V" }, room.id, { body: "hi" }, ip),
      ),
    );
    const crowdRefused = crowd.filter((r) => r.status === "rejected").map((r) => (r as PromiseRejectedResult).reason as AppError);
    expect(crowd.filter((r) => r.status === "fulfilled").length).toBeGreaterThanOrEqual(40);
    expect(crowdRefused.length).toBeGreaterThanOrEqual(10);
    for (const e of crowdRefused) expect(e.status).toBe(429);
  });

  it("rate-limits room creation, and fails open when Redis is unreachable", async () => {
    // A short lease for both: every write of the unreachable one waits one out (the invalidation log).
    const shortLease = { invalidationLog: { leaseMs: 100, pollMs: 30 } };
    const rt = instance({ rateLimits: true, ...shortLease });
    for (let i = 0; i < 10; i++) await rt.roomWrites.create(alice, { name: `Room ${i}` });
    const error = await appError(rt.roomWrites.create(alice, { name: "One too many" }));
    expect(error.status).toBe(429);
    expect(error.retryAfterSeconds).toBeGreaterThan(1);
    expect(error.retryAfterSeconds).toBeLessThanOrEqual(60);

    const down = instance({ rateLimits: true, redis: { driver: "ioredis", url: "redis://127.0.0.1:1" }, guard: {}, ...shortLease });
    for (let i = 0; i < 12; i++) await down.roomWrites.create(bob, { name: `Offline ${i}` });
    expect((await t.db.sql<{ n: number }[]>`select count(*)::int as n from rooms`)[0]?.n).toBe(22);
  });
});
