import { describe, expect, it } from "vitest";
import { EnvelopeElementScanner } from "./json";

/** Feeds `text` in pieces of `size` characters; returns the elements and the skeleton. */
function scan(text: string, size: number) {
  const scanner = new EnvelopeElementScanner(1024);
  const elements: unknown[] = [];
  for (let i = 0; i < text.length; i += size) scanner.push(text.slice(i, i + size), (json) => elements.push(JSON.parse(json)));
  return { elements, skeleton: scanner.finish() };
}

describe("EnvelopeElementScanner", () => {
  const data = [
    { id: "a", name: 'quote " and brace } and bracket ] inside', n: 1 },
    { id: "b", name: "back\\slash\\", n: 2 },
    { id: "c", name: "multi-byte é中🎉, comma", n: 3 },
    { id: "d", name: '\\"\\\\"\\\\\\"\\', n: 4 },
    { id: "e", name: "\\\\\\\\", n: 5 },
  ];
  const text = JSON.stringify({ v: 7, at: "2026-01-01T00:00:00.000Z", data });

  it("yields every element and the skeleton at every chunk size", () => {
    for (const size of [1, 2, 3, 7, 16, 64, text.length]) {
      const { elements, skeleton } = scan(text, size);
      expect(elements).toEqual(data);
      expect(JSON.parse(skeleton!)).toEqual({ v: 7, at: "2026-01-01T00:00:00.000Z", data: [] });
    }
  });

  it("handles an empty list", () => {
    expect(scan('{"v":1,"at":"x","data":[]}', 5)).toEqual({ elements: [], skeleton: '{"v":1,"at":"x","data":[]}' });
  });

  it("reports truncated and unbalanced values as malformed", () => {
    expect(scan(text.slice(0, -3), 10).skeleton).toBeUndefined();
    expect(scan("]]]", 1).skeleton).toBeUndefined();
    expect(scan('{"v":1,"data":[{"a":"unterminated}]}', 4).skeleton).toBeUndefined();
  });

  it("keeps non-object entries in the skeleton, where validation rejects them", () => {
    expect(JSON.parse(scan('{"v":1,"at":"x","data":[1,2]}', 3).skeleton!)).toEqual({ v: 1, at: "x", data: [1, 2] });
    expect(scan('{"v":1,"at":"x","data":[{"id":"a"},2]}', 3).skeleton).toBeUndefined();
  });

  it("does not let dropped separators hide invalid JSON", () => {
    expect(scan('{"v":1,"at":"x","data":[{"id":"a"},]}', 3).skeleton).toBeUndefined();
    expect(scan('{"v":1,"at":"x","data":[{"id":"a"} {"id":"b"}]}', 3).skeleton).toBeUndefined();
    expect(scan('{"v":1,"at":"x","data":[{"id":"a"},,{"id":"b"}]}', 3).skeleton).toBeUndefined();
    expect(() => JSON.parse(scan('{"v":1,"at":"x","data":[1,{"id":"a"}]}', 3).skeleton!)).toThrow();
  });

  it("gives up on a skeleton past its bound instead of growing without limit", () => {
    expect(scan(`{"v":1,"at":"${"x".repeat(2000)}","data":[]}`, 100).skeleton).toBeUndefined();
  });
});
