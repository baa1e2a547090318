import { describe, expect, it } from "vitest";
import type { Session } from "../session/session";
import { useInstances } from "../../tests/support/instances";
import { PREVIEW_CHARS, readPreviews } from "./room-previews";

const alice: Session = { id: "alice-session-0001", name: "Alice" };
const bob: Session = { id: "bob-session-000001", name: "Bob" };

describe("room cards' previews: each room's last message (real Postgres and Redis)", () => {
  const t = useInstances({ truncate: "rooms, messages" });

  it("one prepared statement for every shown room: the last live message, or none; rooms:all untouched", async () => {
    const rt = t.instance();
    const quiet = await rt.roomWrites.create(alice, { name: "Quiet" });
    const busy = await rt.roomWrites.create(alice, { name: "Busy" });
    const gone = await rt.roomWrites.create(alice, { name: "Gone" });
    await rt.roomWrites.remove(alice, gone.id);
    await rt.rooms.getAllRooms();
    await rt.messageWrites.send(alice, busy.id, { body: "First" });
    const long = `Second 🙂 ${"x".repeat(300)}\nline two`;
    await rt.messageWrites.send(bob, busy.id, { body: long });
    // Messages never invalidate the list.
    expect((await rt.rooms.getAllRooms()).source).toBe("cache");

    t.queries.reset();
    const previews = await readPreviews(rt.db.db, [quiet.id, busy.id, gone.id]);
    expect(t.queries.count).toBe(1);
    expect(previews?.get(quiet.id)?.last).toBeNull();
    const last = previews?.get(busy.id)?.last;
    expect(last).toMatchObject({ authorName: "Bob" });
    // Cut to a line's worth, in code points (the emoji is one), as Postgres counts.
    expect([...(last?.body ?? "")]).toHaveLength(PREVIEW_CHARS);
    expect(long.startsWith(last?.body ?? "-")).toBe(true);
    // A deleted room is left out.
    expect(previews?.has(gone.id)).toBe(false);
    // Reading previews read no room metadata: the list is still the cached one.
    expect((await rt.rooms.getAllRooms()).source).toBe("cache");
  });

  it("a send carries its preview to the room list's stream; an edit or delete of it sends the new one, newer versions last", async () => {
    const rt = t.instance();
    const room = await rt.roomWrites.create(alice, { name: "Chatty" });
    await rt.messageWrites.send(alice, room.id, { body: "Hello" });
    const second = await rt.messageWrites.send(bob, room.id, { body: "<b>not bold</b>" });
    await rt.messageWrites.edit(bob, room.id, second.id, { body: "Edited <i>text</i>" });
    await rt.messageWrites.remove(bob, room.id, second.id);

    const events = (await rt.events.replay("rooms", "0")).map((d) => d.event);
    const previews = events.flatMap((e) =>
      (e.type === "room.activity" || e.type === "room.preview") && e.roomId === room.id && e.preview ? [{ type: e.type, ...e.preview }] : [],
    );
    expect(previews.map((p) => [p.type, p.last?.authorName, p.last?.body])).toEqual([
      ["room.activity", "Alice", "Hello"],
      ["room.activity", "Bob", "<b>not bold</b>"],
      ["room.preview", "Bob", "Edited <i>text</i>"],
      ["room.preview", "Alice", "Hello"],
    ]);
    const versions = previews.map((p) => p.version);
    expect([...versions].sort((a, b) => a - b)).toEqual(versions);
    expect(new Set(versions).size).toBe(versions.length);
    // The page's statement agrees with the last event.
    const read = (await readPreviews(rt.db.db, [room.id]))?.get(room.id);
    expect(read).toMatchObject({ version: versions.at(-1), last: { authorName: "Alice", body: "Hello" } });
  });
});
