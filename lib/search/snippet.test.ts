import { describe, expect, it } from "vitest";
import { HIT_START as S, HIT_STOP as E } from "../db/queries/search";
import { excerpt, toSegments } from "./snippet";

describe("snippet segments", () => {
  it("splits only on the markers, keeping markup as text", () => {
    expect(toSegments(`<script>alert(1)</script> ${S}runs${E} & <b>${S}run${E}</b>`)).toEqual([
      { text: "<script>alert(1)</script> ", hit: false },
      { text: "runs", hit: true },
      { text: " & <b>", hit: false },
      { text: "run", hit: true },
      { text: "</b>", hit: false },
    ]);
    expect(toSegments("no hits at all")).toEqual([{ text: "no hits at all", hit: false }]);
    expect(toSegments(`${S}a${E}${S}b${E}`)).toEqual([{ text: "ab", hit: true }]);
  });

  it("cuts around the first hit without splitting an emoji, and leaves short texts alone", () => {
    const short = toSegments(`short ${S}hit${E}`);
    expect(excerpt(short)).toBe(short);
    const long = toSegments(`${"😀 ".repeat(100)}${S}target${E}${" 🎉".repeat(150)}`);
    const cut = excerpt(long, 60);
    const text = cut.map((s) => s.text).join("");
    expect(text.startsWith("… ")).toBe(true);
    expect(text.endsWith(" …")).toBe(true);
    expect([...text].length).toBeLessThanOrEqual(64);
    expect(text).not.toMatch(/[\uD800-\uDFFF](?![\uDC00-\uDFFF])/u);
    expect(cut.filter((s) => s.hit)).toEqual([{ text: "target", hit: true }]);
  });
});
