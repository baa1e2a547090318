import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestRedis, type TestRedis } from "../../tests/support/test-env";
import { READ_RANGE } from "./scripts";

/*
 * READ_RANGE against Redis: the list pass reads rooms:all in chunks at fixed steps, several
 * at once, so each chunk's ends must move to the same character boundary from both sides.
 */

let redis: TestRedis;
beforeAll(() => {
  redis = createTestRedis();
});
afterAll(async () => {
  await redis.close();
});

/** The chunks of `value` read at steps of `size` bytes, as the list pass reads them, each as bytes. */
async function chunks(value: Buffer, size: number): Promise<Buffer[]> {
  const key = `${redis.prefix}read-range:${randomUUID()}`;
  await redis.raw.set(key, value, "EX", 60);
  const out: Buffer[] = [];
  for (let from = 0; from < value.length; from += size) {
    const [text, read] = (await redis.raw.callBuffer("EVAL", READ_RANGE.source, 1, key, from, size)) as [Buffer, number];
    expect(read).toBeGreaterThan(0);
    out.push(text);
  }
  await redis.raw.del(key);
  return out;
}

describe("READ_RANGE", () => {
  // 1- to 4-byte characters in every order, so every step size puts a cut inside each kind.
  const text = '[{"name":"Salle é中🎉 ∑x ok"},{"d":"ß€𝄞a"}]'.repeat(3);
  const value = Buffer.from(text);

  it("tiles a UTF-8 value exactly in whole characters, whatever the step", async () => {
    for (let size = 1; size <= 24; size++) {
      const parts = await chunks(value, size);
      expect(Buffer.concat(parts).equals(value)).toBe(true);
      // Each chunk decodes on its own: no character is cut.
      const decoder = new TextDecoder("utf-8", { fatal: true });
      expect(parts.map((p) => decoder.decode(p)).join("")).toBe(text);
    }
  });

  it("tiles invalid UTF-8 exactly too (cuts move by at most 3 bytes)", async () => {
    // Runs of continuation bytes longer than any character, lone lead bytes, a truncated 4-byte character.
    const invalid = Buffer.concat([Buffer.from("ab"), Buffer.alloc(7, 0x80), Buffer.from([0xe4, 0x41, 0xf0, 0x9f, 0x8e]), Buffer.from("z"), Buffer.alloc(5, 0xbf)]);
    for (let size = 1; size <= 12; size++) expect(Buffer.concat(await chunks(invalid, size)).equals(invalid)).toBe(true);
  });
});
