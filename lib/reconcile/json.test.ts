import { describe, expect, it } from "vitest";
import { EnvelopeElementScanner, EnvelopeReader } from "./json";

/** Elements whose text holds what a scan must not be fooled by: quotes, braces, brackets, escapes, multi-byte text. */
const data = [
  { id: "a", name: 'quote " and brace } and bracket ] inside', n: 1 },
  { id: "b", name: "back\\slash\\", n: 2 },
  { id: "c", name: "multi-byte é中🎉, comma", n: 3 },
  { id: "d", name: '\\"\\\\"\\\\\\"\\', n: 4 },
  { id: "e", name: "\\\\\\\\", n: 5, nested: { list: [1, { x: "]" }] } },
];
const envelope = { v: 7, at: "2026-01-01T00:00:00.000Z", data };
const text = JSON.stringify(envelope);

/** Feeds `text` in pieces of `size` characters; returns the elements and the skeleton. */
function scan(text: string, size: number) {
  const scanner = new EnvelopeElementScanner(1024);
  const elements: unknown[] = [];
  for (let i = 0; i < text.length; i += size) scanner.push(text.slice(i, i + size), (json) => elements.push(JSON.parse(json)));
  return { elements, skeleton: scanner.finish() };
}

describe("EnvelopeElementScanner", () => {

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

/**
 * Reads `text` in pieces of `size` characters through EnvelopeReader, offering each of
 * `expected` (element texts, in order) to take() first, as the merge does; returns the
 * elements, the skeleton, and how many went by take().
 */
function read(text: string, size: number, expected: string[] = []) {
  const reader = new EnvelopeReader(1024);
  const elements: unknown[] = [];
  let at = 0;
  let taken = 0;
  const pushNext = () => {
    reader.push(text.slice(at, at + size), at + size >= text.length);
    at += size;
  };
  pushNext();
  for (;;) {
    const want = expected[elements.length];
    if (want !== undefined && reader.take(want)) {
      elements.push(JSON.parse(want));
      taken++;
      continue;
    }
    const json = reader.peek();
    if (json === undefined) {
      expect(at < text.length).toBe(true);
      pushNext();
      continue;
    }
    if (json === null) break;
    elements.push(JSON.parse(json));
    reader.advance();
  }
  return { elements, skeleton: reader.skeleton(), taken };
}

describe("EnvelopeReader", () => {
  const texts = data.map((d) => JSON.stringify(d));
  const skeleton = { v: 7, at: "2026-01-01T00:00:00.000Z", data: [] };

  it("takes every element of the read path's layout in place, and yields the skeleton, at every chunk size", () => {
    for (const size of [1, 2, 3, 7, 16, 64, text.length]) {
      const { elements, skeleton: s, taken } = read(text, size, texts);
      expect(elements).toEqual(data);
      expect(JSON.parse(s!)).toEqual(skeleton);
      if (size === text.length) expect(taken).toBe(data.length);
    }
  });

  it("cuts out the elements it is not offered, and those that differ", () => {
    const other = texts.map((t, i) => (i === 2 ? t.replace("comma", "COMMA") : t));
    for (const size of [5, text.length]) {
      const { elements, skeleton: s, taken } = read(text, size, other);
      expect(elements).toEqual(data);
      expect(JSON.parse(s!)).toEqual(skeleton);
      if (size === text.length) expect(taken).toBe(data.length - 1);
    }
    expect(read(text, 9).elements).toEqual(data);
  });

  it("reads any other layout as the scanner does, from where it departs", () => {
    const spaced = JSON.stringify(envelope, null, 1);
    const midway = text.replace("},{", "}, {");
    const otherHead = JSON.stringify({ at: envelope.at, v: 7, data });
    for (const variant of [spaced, midway, otherHead]) {
      for (const size of [1, 4, 64, variant.length]) {
        const { elements, skeleton: s } = read(variant, size, texts);
        expect(elements).toEqual(data);
        expect(JSON.parse(s!)).toEqual(JSON.parse(JSON.stringify({ ...JSON.parse(variant), data: [] })));
      }
    }
  });

  it("handles an empty list", () => {
    for (const size of [1, 5, 100]) expect(read('{"v":1,"at":"x","data":[]}', size)).toEqual({ elements: [], skeleton: '{"v":1,"at":"x","data":[]}', taken: 0 });
  });

  it("reports truncated, unbalanced and mis-separated values as malformed, as the scanner does", () => {
    const malformed = [
      text.slice(0, -3),
      text.slice(0, -1),
      "]]]",
      '{"v":1,"data":[{"a":"unterminated}]}',
      '{"v":1,"at":"x","data":[{"id":"a"},]}',
      '{"v":1,"at":"x","data":[{"id":"a"} {"id":"b"}]}',
      '{"v":1,"at":"x","data":[{"id":"a"}{"id":"b"}]}',
      '{"v":1,"at":"x","data":[{"id":"a"},,{"id":"b"}]}',
      '{"v":1,"at":"x","data":[{"id":"a"},{"id":"b"}]',
    ];
    // No skeleton, or none that parses (settle() then rejects the list as it does no skeleton).
    const parses = (skeleton: string | undefined) => {
      try {
        return skeleton !== undefined && JSON.parse(skeleton) !== undefined;
      } catch {
        return false;
      }
    };
    for (const value of malformed) for (const size of [1, 3, value.length]) expect(parses(read(value, size, ['{"id":"a"}']).skeleton)).toBe(false);
    // Whatever follows data is the skeleton's, where JSON.parse and validation judge it.
    expect(() => JSON.parse(read('{"v":1,"at":"x","data":[{"id":"a"}]}{"x":1}', 4, ['{"id":"a"}']).skeleton!)).toThrow();
  });

  it("keeps non-object entries in the skeleton, where validation rejects them", () => {
    expect(JSON.parse(read('{"v":1,"at":"x","data":[1,2]}', 3).skeleton!)).toEqual({ v: 1, at: "x", data: [1, 2] });
    expect(() => JSON.parse(read('{"v":1,"at":"x","data":[{"id":"a"},2]}', 3, ['{"id":"a"}']).skeleton!)).toThrow();
  });

  it("gives up on a skeleton past its bound instead of growing without limit", () => {
    expect(read(`{"v":1,"at":"${"x".repeat(2000)}","data":[]}`, 100).skeleton).toBeUndefined();
    expect(read(`{"v":1,"at":"x","data":[]}${" ".repeat(2000)}`, 100).skeleton).toBeUndefined();
  });
});
