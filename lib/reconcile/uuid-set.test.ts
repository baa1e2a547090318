import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { LiveIds } from "./live-ids";
import { formatUuid, UuidList, UuidSet } from "./uuid-set";

describe("UuidSet", () => {
  it("holds exactly the ids added, through growth, each once", () => {
    const set = new UuidSet(4);
    const ids = Array.from({ length: 50_000 }, () => randomUUID());
    for (const id of ids) expect(set.add(id)).toBe(true);
    for (const id of ids.slice(0, 1000)) set.add(id);
    expect(set.size).toBe(50_000);
    for (const id of ids) expect(set.has(id)).toBe(true);
    for (let i = 0; i < 50_000; i++) expect(set.has(randomUUID())).toBe(false);
  });

  it("tells ids that differ in any one word apart, sequential ones included", () => {
    const set = new UuidSet();
    const base = "00000000-0000-4000-8000-000000000000";
    set.add(base);
    for (const at of [0, 7, 9, 14, 19, 24, 35]) {
      const other = base.slice(0, at) + "1" + base.slice(at + 1);
      expect(set.has(other)).toBe(false);
    }
    for (let i = 0; i < 5000; i++) set.add(`00000000-0000-4000-8000-${i.toString(16).padStart(12, "0")}`);
    expect(set.size).toBe(5000);
    for (let i = 0; i < 5000; i++) expect(set.has(`00000000-0000-4000-8000-${i.toString(16).padStart(12, "0")}`)).toBe(true);
    expect(set.has("00000000-0000-4000-8000-000000001388")).toBe(false); // 5000
  });

  it("holds only canonical UUIDs: other text is never a member", () => {
    const set = new UuidSet();
    const id = randomUUID();
    set.add(id);
    expect(set.has(id.toUpperCase())).toBe(false);
    expect(set.add(id.toUpperCase())).toBe(false);
    for (const text of ["", "not-a-room", id.replaceAll("-", ""), `${id}x`, id.replace(/-/g, "_"), `{${id.slice(1)}`]) {
      expect(set.add(text)).toBe(false);
      expect(set.has(text)).toBe(false);
    }
    expect(set.size).toBe(1);
  });
});

describe("UuidSet with values and marks", () => {
  it("keeps each member's value and mark through growth; unmarked() gives the members never taken", () => {
    const set = new UuidSet(4, { values: true });
    const ids = Array.from({ length: 20_000 }, () => randomUUID());
    ids.forEach((id, i) => set.add(id, 1_700_000_000_000 + i));
    // Marked before the set grows again, and after.
    for (let i = 0; i < 5_000; i++) expect(set.take(ids[i]!)).toBe(1_700_000_000_000 + i);
    for (let i = 0; i < 20_000; i++) set.add(randomUUID(), -1);
    for (let i = 5_000; i < 10_000; i++) expect(set.take(ids[i]!)).toBe(1_700_000_000_000 + i);
    expect(set.take(randomUUID())).toBeUndefined();
    const unmarked = new Map(set.unmarked());
    expect(unmarked.size).toBe(30_000);
    for (let i = 0; i < 20_000; i++) expect(unmarked.get(ids[i]!)).toBe(i < 10_000 ? undefined : 1_700_000_000_000 + i);
  });
});

describe("UuidList", () => {
  it("gives back every id in order, across chunks, with its value, and what another set lacks", () => {
    const list = new UuidList({ values: true });
    // Past one chunk (65,536 ids).
    const ids = Array.from({ length: 70_000 }, () => randomUUID());
    ids.forEach((id, i) => expect(list.push(id, i * 0.5)).toBe(true));
    expect(list.push("not-a-uuid")).toBe(false);
    expect(list.push(ids[0]!.toUpperCase())).toBe(false);
    expect(list.size).toBe(70_000);
    const back: [string, number][] = [];
    for (const { words, at, value } of list.drain()) back.push([formatUuid(words, at), value]);
    expect(back).toEqual(ids.map((id, i) => [id, i * 0.5]));
    expect(list.size).toBe(0);
    expect([...list.drain()]).toEqual([]);

    const some = new UuidSet();
    ids.forEach((id, i) => i % 3 === 0 && some.add(id));
    ids.forEach((id) => list.push(id));
    expect([...list.notIn(some)]).toEqual(ids.filter((_, i) => i % 3 !== 0));
  });

  it("formats the words of any UUID back to its canonical text", () => {
    const list = new UuidList();
    const ids = ["00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff", "0a0b0c0d-0e0f-4a1b-8c2d-3e4f5a6b7c8d"];
    for (const id of ids) list.push(id);
    expect([...list.drain()].length).toBe(3);
    for (const id of ids) list.push(id);
    expect([...list.notIn(new UuidSet())]).toEqual(ids);
  });
});

describe("LiveIds", () => {
  it("holds the ids not found live yet, and once complete gives back those that never were", async () => {
    const live = new LiveIds();
    const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
    const held = new UuidList();
    live.add(a, 1);
    // a is live already; b and c may still be: held. Other text is never live: returned at once.
    expect(live.notLive([a, b, c, "not-a-room", b.toUpperCase()], held)).toEqual(["not-a-room", b.toUpperCase()]);
    live.add(b, 2);
    live.finish();
    expect([...(await live.released(held))]).toEqual([c]);
    // Complete: nothing is held any more.
    expect(live.notLive([a, c], held)).toEqual([c]);
    expect(held.size).toBe(0);
  });

  it("gives the activity of the ids found, and once complete the live ids never asked for", async () => {
    const live = new LiveIds();
    const [a, b] = [randomUUID(), randomUUID()];
    live.add(a, 10);
    live.add(b, 20);
    expect(live.activity(a)).toBe(10);
    expect(live.activity(randomUUID())).toBeUndefined();
    live.finish();
    expect([...(await live.unmarked())]).toEqual([[b, 20]]);
  });

  it("fails the passes waiting on it when the list pass fails", async () => {
    const live = new LiveIds();
    live.fail(new Error("list pass failed"));
    await expect(live.released(new UuidList())).rejects.toThrow("list pass failed");
    await expect(live.completed()).rejects.toThrow("list pass failed");
  });
});
