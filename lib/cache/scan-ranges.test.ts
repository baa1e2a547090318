import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ON_CLUSTER, REDIS_URL, TEST_REDIS } from "../../tests/support/services";
import { deleteMatching } from "../../tests/support/redis-keys";
import { createIoredisStore } from "./ioredis-store";
import { clusterScanHalves, scanHalves } from "./scan-ranges";
import type { CacheStore } from "./store";
import { connectTcp, type TcpClient } from "./tcp-client";

describe("scan ranges", () => {
  it("split one node's walk at the cursor's lowest bit", () => {
    const [first, second] = scanHalves();
    expect([first!.start, second!.start]).toEqual(["0", "1"]);
    expect(["0", "13", "4611686018427387905"].map(first!.ends)).toEqual([true, true, true]);
    expect(["2", "4096", "4611686018427387904"].map(first!.ends)).toEqual([false, false, false]);
    expect(["0", "3", "2"].map(second!.ends)).toEqual([true, false, false]);
  });

  it("keep each cluster range on its own master", () => {
    const ranges = clusterScanHalves(2);
    expect(ranges.map((r) => r.start)).toEqual(["0:0", "0:1", "1:0", "1:1"]);
    expect(["0:8", "0:9", "1:0", "0"].map(ranges[0]!.ends)).toEqual([false, true, true, true]);
    expect(["0:8", "0:9", "1:0", "0"].map(ranges[1]!.ends)).toEqual([false, false, true, true]);
    expect(["1:8", "1:9", "0"].map(ranges[2]!.ends)).toEqual([false, true, true]);
  });
});

/*
 * The ranges against Redis itself, while the key table grows under them (the case the
 * split relies on the walk order for). One node: a logical database no other test uses,
 * so the table's size is this test's; a cluster has only database 0.
 */
describe("scan ranges on Redis", () => {
  const target = ON_CLUSTER ? TEST_REDIS : { driver: "ioredis" as const, url: `${REDIS_URL.replace(/\/\d*$/, "")}/14` };
  const prefix = `scan-ranges:${randomBytes(4).toString("hex")}:`;
  let store: CacheStore;
  let raw: TcpClient;

  beforeAll(() => {
    store = createIoredisStore(target);
    raw = connectTcp(target, { maxRetriesPerRequest: 1 });
  });
  afterAll(async () => {
    await deleteMatching(raw, `${prefix}*`);
    raw.disconnect();
    await store.close();
  });

  const put = async (names: string[]) => {
    for (let i = 0; i < names.length; i += 500) await Promise.all(names.slice(i, i + 500).map((k) => raw.set(k, "1")));
  };

  it("return every key present throughout, split between the ranges, as the table grows", async () => {
    const kept = Array.from({ length: 3_000 }, (_, i) => `${prefix}kept:${i}`);
    await put(kept);
    const ranges = await store.scanRanges!();
    expect(ranges.length).toBeGreaterThanOrEqual(2);
    let added = 0;
    const found = await Promise.all(
      ranges.map(async (range) => {
        const seen = new Set<string>();
        let cursor = range.start;
        for (;;) {
          const [next, keys] = await store.scan(cursor, `${prefix}*`, 100);
          for (const k of keys) seen.add(k);
          // Growth between calls: 40,000 keys in all, so the table doubles several times mid-walk.
          if (added < 40_000) {
            const batch = Array.from({ length: 400 }, (_, i) => `${prefix}new:${added + i}`);
            added += batch.length;
            await put(batch);
          }
          if (range.ends(next)) return seen;
          cursor = next;
        }
      }),
    );
    const union = new Set(found.flatMap((s) => [...s]));
    expect(kept.filter((k) => !union.has(k))).toEqual([]);
    // Each range walked a part, not the whole.
    for (const seen of found) expect(kept.filter((k) => seen.has(k)).length).toBeLessThan(kept.length * 0.8);
  }, 120_000);
});
