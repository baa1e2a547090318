import { describe, expect, it } from "vitest";
import { chartWindow } from "./charts";

const options = { minSlots: 10, enough: 3 };
/** 60 minutes, oldest first; `counts[i]` > 0 where minute i has data. */
const hour = (withData: number[]) => Array.from({ length: 60 }, (_, i) => ({ i, n: withData.includes(i) ? 1 : 0 }));
const has = (m: { n: number }) => m.n > 0;

describe("chartWindow", () => {
  it("a fresh app (one minute of counts) collects data over the newest minutes, not the whole hour", () => {
    const w = chartWindow(hour([59]), has, options);
    expect(w.collecting).toBe(true);
    expect(w.counted).toBe(1);
    expect(w.shown).toHaveLength(10);
    expect(w.shown[0]?.i).toBe(50);
  });

  it("draws from the first minute with counts once there are enough", () => {
    const w = chartWindow(hour([30, 31, 45]), has, options);
    expect(w.collecting).toBe(false);
    expect(w.shown[0]?.i).toBe(30);
    expect(w.shown.at(-1)?.i).toBe(59);
  });

  it("a full hour spans the hour", () => {
    const w = chartWindow(hour([0, 20, 40, 59]), has, options);
    expect(w.shown).toHaveLength(60);
    expect(w.collecting).toBe(false);
  });

  it("nothing at all: collecting, over the newest minutes", () => {
    const w = chartWindow(hour([]), has, options);
    expect(w).toMatchObject({ collecting: true, counted: 0 });
    expect(w.shown).toHaveLength(10);
  });
});
