import { describe, expect, it } from "vitest";
import { metrics } from "../observability/metrics";
import type { Runtime } from "../runtime";
import type { Session } from "../session/session";
import { blackhole, gate } from "../../tests/support/net-faults";
import { useInstances } from "../../tests/support/instances";
import type { SearchPage } from "./search-service";
import { searchParamsSchema } from "./validation";

const alice: Session = { id: "alice-session-0001", name: "Alice" };
const bob: Session = { id: "bob-session-000001", name: "Bob" };

const search = (rt: Runtime, q: string, extra: Record<string, string> = {}) =>
  rt.search.search(searchParamsSchema.parse({ q, ...extra }));
const text = (segments: { text: string }[] | null) => (segments ?? []).map((s) => s.text).join("");
const hits = (page: SearchPage) => page.hits.flatMap((h) => (h.snippet ?? []).concat(h.title ?? []).filter((s) => s.hit).map((s) => s.text));

const requests = async (outcome: string) =>
  (await metrics().cacheRequests.get()).values.find((v) => v.labels.cache === "search" && v.labels.outcome === outcome)?.value ?? 0;

describe("SearchService (Postgres full-text search, cached per generation)", () => {
  const t = useInstances({ truncate: "rooms, messages" });
  const { instance, queries } = t;

  it("finds a message by a word in it and by another form of it (stemming), rooms ranked first", async () => {
    const rt = instance();
    const room = await rt.roomWrites.create(alice, { name: "Running club", description: "Where we plan the runs" });
    const other = await rt.roomWrites.create(alice, { name: "Cooking" });
    await rt.messageWrites.send(alice, room.id, { body: "She runs every morning" });
    await rt.messageWrites.send(bob, other.id, { body: "I run to the shop when we are out of salt" });
    await rt.messageWrites.send(bob, other.id, { body: "Nothing to see here" });

    const byWord = (await search(rt, "morning")).data;
    expect(byWord.hits).toHaveLength(1);
    expect(byWord.hits[0]).toMatchObject({ kind: "message", roomId: room.id, roomName: "Running club", authorName: "Alice" });
    expect(byWord.hits[0]?.createdAt).toBeInstanceOf(Date);

    const stemmed = (await search(rt, "running")).data;
    expect(stemmed.hits.map((h) => h.kind)).toEqual(["room", "message", "message"]);
    expect(text(stemmed.hits[0]!.title)).toBe("Running club");
    expect(stemmed.hits.slice(1).map((h) => text(h.snippet)).sort()).toEqual(["I run to the shop when we are out of salt", "She runs every morning"]);
    expect(hits(stemmed).sort()).toEqual(["Running", "run", "runs", "runs"]);
  });

  it("returns a <script> message as plain text segments, the match marked", async () => {
    const rt = instance();
    const room = await rt.roomWrites.create(alice, { name: "Security" });
    await rt.messageWrites.send(alice, room.id, { body: "<script>alert(1)</script> payload \uFDD0forged\uFDD1 marker" });
    const [hit] = (await search(rt, "payload")).data.hits;
    expect(hit?.snippet).toEqual([
      { text: "<script>alert(1)</script> ", hit: false },
      { text: "payload", hit: true },
      { text: " forged marker", hit: false },
    ]);
  });

  it("cuts a long message around its first hit, at word boundaries", async () => {
    const rt = instance();
    const room = await rt.roomWrites.create(alice, { name: "Long" });
    const body = `${"filler words ".repeat(60)}needle ${"more text ".repeat(60)}`.trim();
    await rt.messageWrites.send(alice, room.id, { body });
    const [hit] = (await search(rt, "needle")).data.hits;
    const snippet = text(hit!.snippet);
    expect(snippet.length).toBeLessThan(240);
    expect(snippet.startsWith("… filler words")).toBe(true);
    expect(snippet).toMatch(/ (more|text) …$/);
    expect(hit!.snippet.filter((s) => s.hit)).toEqual([{ text: "needle", hit: true }]);
  });

  it("leaves out deleted rooms and deleted messages", async () => {
    const rt = instance();
    const kept = await rt.roomWrites.create(alice, { name: "Kept garden" });
    const gone = await rt.roomWrites.create(alice, { name: "Gone garden" });
    await rt.messageWrites.send(alice, gone.id, { body: "garden in a deleted room" });
    const removed = await rt.messageWrites.send(alice, kept.id, { body: "deleted garden message" });
    await rt.messageWrites.send(alice, kept.id, { body: "live garden message" });
    await rt.messageWrites.remove(alice, kept.id, removed.id);
    await rt.roomWrites.remove(alice, gone.id);
    const page = (await search(rt, "garden")).data;
    expect(page.hits.map((h) => text(h.title) || text(h.snippet)).sort()).toEqual(["Kept garden", "live garden message"]);
  });

  it("pages with a cursor, and says when there is no next page", async () => {
    const rt = instance();
    const room = await rt.roomWrites.create(alice, { name: "Pages" });
    for (let i = 0; i < 5; i++) await rt.messageWrites.send(alice, room.id, { body: `apple number ${i}` });
    const first = (await search(rt, "apple", { limit: "2" })).data;
    const second = (await search(rt, "apple", { limit: "2", cursor: first.nextCursor! })).data;
    const third = (await search(rt, "apple", { limit: "2", cursor: second.nextCursor! })).data;
    expect([first, second, third].map((p) => p.hits.length)).toEqual([2, 2, 1]);
    expect([first.nextCursor, second.nextCursor, third.nextCursor]).toEqual(["2", "4", null]);
    const ids = [first, second, third].flatMap((p) => p.hits.map((h) => h.messageId));
    expect(new Set(ids).size).toBe(5);
  });

  it("serves a repeated search (any case or spacing) from Redis with zero Postgres queries", async () => {
    const rt = instance();
    const room = await rt.roomWrites.create(alice, { name: "Cache me" });
    await rt.messageWrites.send(alice, room.id, { body: "Cached results are quick" });
    const first = await search(rt, "cached results");
    expect(first.source).toBe("db");
    queries.reset();
    const hitsBefore = await requests("hit");
    const again = await search(rt, "  CACHED   Results ");
    expect(again.source).toBe("cache");
    expect(queries.count).toBe(0);
    expect((await requests("hit")) - hitsBefore).toBe(1);
    expect(again.data).toEqual(first.data);
    // Another limit is another page, another key.
    expect((await search(rt, "cached results", { limit: "1" })).source).toBe("db");
  });

  it("is fresh after every kind of write, with no KEYS and without waiting for the TTL", async () => {
    const rt = instance();
    const reader = instance(); // another web instance
    const room = await rt.roomWrites.create(alice, { name: "Alpha base" });
    const names = async (q: string) => (await search(reader, q)).data.hits.map((h) => text(h.title) || text(h.snippet));

    expect(await names("alpha")).toEqual(["Alpha base"]);
    await rt.roomWrites.update(alice, room.id, { name: "Bravo base" });
    expect(await names("alpha")).toEqual([]);
    expect(await names("bravo")).toEqual(["Bravo base"]);

    expect(await names("charlie")).toEqual([]);
    const message = await rt.messageWrites.send(alice, room.id, { body: "charlie here" });
    expect(await names("charlie")).toEqual(["charlie here"]);
    await rt.messageWrites.remove(alice, room.id, message.id);
    expect(await names("charlie")).toEqual([]);

    const edited = await rt.messageWrites.send(alice, room.id, { body: "delta one" });
    expect(await names("delta")).toEqual(["delta one"]);
    await rt.messageWrites.edit(alice, room.id, edited.id, { body: "echo one" });
    expect(await names("delta")).toEqual([]);
    expect(await names("echo")).toEqual(["echo one"]);

    await rt.roomWrites.create(alice, { name: "Bravo annex" });
    expect((await names("bravo")).sort()).toEqual(["Bravo annex", "Bravo base"]);
    await rt.roomWrites.remove(alice, room.id);
    expect(await names("bravo")).toEqual(["Bravo annex"]);
  });

  it("searches Postgres without waiting when Redis does not answer (breaker open)", async () => {
    const hole = await blackhole();
    try {
      // A test process sharing its core is "busy" by withDeadline's measure: cap the grace (see guarded-store).
      const rt = instance({ redis: { driver: "ioredis", url: `redis://127.0.0.1:${hole.port}` }, guard: { maxBusyWaitMs: 200 } });
      const room = await rt.roomWrites.create(alice, { name: "Outage" });
      await rt.messageWrites.send(alice, room.id, { body: "found anyway" });
      // No clock: that an open circuit fails calls at once is lib/cache's guarded-store.test.ts.
      for (let i = 0; i < 5; i++) {
        const result = await search(rt, "found");
        expect(result.source).toBe("db");
        expect(result.data.hits).toHaveLength(1);
      }
      // Open, or half-open while its background probe is out (on a loaded machine that takes a
      // while): either way calls fail at once and go to Postgres.
      expect(["open", "half-open"]).toContain(rt.guarded?.state);
    } finally {
      await hole.close();
    }
  });

  it("searches Postgres directly with the cache off", async () => {
    const rt = instance({ cacheEnabled: false });
    const room = await rt.roomWrites.create(alice, { name: "Offline" });
    await rt.messageWrites.send(alice, room.id, { body: "still searchable" });
    expect((await search(rt, "searchable")).source).toBe("db");
    expect((await search(rt, "searchable")).source).toBe("db");
    expect(await t.redis.raw.exists(t.key("search:gen"))).toBe(0);
  });
  it("Redis loses its data while a search runs → its page is never served under a generation counted again", async () => {
    const pause = { gate: null as ReturnType<typeof gate> | null };
    const reader = instance({ searchHooks: { afterLoad: () => pause.gate?.pass() } });
    const writer = instance();
    const room = await writer.roomWrites.create(alice, { name: "Orchard", description: "apples" });
    await writer.roomWrites.update(alice, room.id, { description: "apples, mostly" });
    await writer.roomWrites.update(alice, room.id, { description: "apples again" }); // three bumps
    pause.gate = gate();
    const searching = search(reader, "apples"); // reads the generation, finds the room
    await pause.gate.arrived;
    await t.redis.clear(); // Redis restarts empty (or FLUSHDB)
    // Three writes after the loss: a counter that restarted would be back at the number the search read.
    await writer.roomWrites.update(alice, room.id, { description: "pears" });
    await writer.roomWrites.update(alice, room.id, { description: "pears, mostly" });
    await writer.roomWrites.update(alice, room.id, { description: "pears again" });
    pause.gate.open();
    expect((await searching).data.hits).toHaveLength(1); // it began before the writes: allowed
    pause.gate = null;
    expect((await search(reader, "apples")).data.hits).toHaveLength(0);
  });
});
