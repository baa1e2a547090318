import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { UuidSet } from "./uuid-set";

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
