import { afterAll, beforeAll } from "vitest";
import { ON_CLUSTER, REDIS_URL } from "../../tests/support/services";
import { startUpstashRestServer, type UpstashRestServer } from "../../tests/support/upstash-rest-server";
import type { Keys } from "../cache/keys";
import type { CacheStore } from "../cache/store";
import { createUpstashStore } from "../cache/upstash-store";
import type { Runtime } from "../runtime";
import { SNAPSHOT } from "./scripts";

/**
 * The reconciler's stores for its tests: the same protocol over TCP (ioredis) and over
 * REST (@upstash/redis, through the local REST server this registers for the file). The
 * REST server fronts one node: on a cluster only the TCP driver applies.
 */
export function reconcileStoreDrivers(): { name: string; store: (rt: Runtime) => CacheStore }[] {
  let upstash: UpstashRestServer;
  let upstashStore: CacheStore;
  beforeAll(async () => {
    upstash = await startUpstashRestServer({ redisUrl: REDIS_URL });
    upstashStore = createUpstashStore({ url: upstash.url, token: upstash.token, timeoutMs: 10_000 });
  });
  afterAll(async () => {
    await upstashStore?.close();
    await upstash?.close();
  });
  return [
    { name: "ioredis", store: (rt: Runtime) => rt.store! },
    { name: "upstash", store: () => upstashStore },
  ].filter((d) => !ON_CLUSTER || d.name !== "upstash");
}

/**
 * `inner` with the passes that run beside the list pass (live-ids.ts) forced into one order:
 * "scans first" holds the list pass's first script (its snapshot) until the key SCAN and the
 * activity ZSCAN have returned their last pages, so every id they find is held; "list first"
 * holds every SCAN and ZSCAN until the list pass is done (its snapshot deleted).
 */
export function forcedOrder(inner: CacheStore, keys: Keys, order: "scans first" | "list first"): CacheStore {
  let scansLeft = 0;
  let zscanDone = false;
  let scansDone!: () => void;
  const scansFinished = new Promise<void>((resolve) => (scansDone = resolve));
  let listDone!: () => void;
  const listFinished = new Promise<void>((resolve) => (listDone = resolve));
  const checkScans = () => {
    if (scansLeft === 0 && zscanDone) scansDone();
  };
  const snapshot = keys.snapshot(keys.roomsAll);
  const forced: Partial<CacheStore> = {
    async eval(script, k, args) {
      if (order === "scans first" && script === SNAPSHOT) await scansFinished;
      return inner.eval(script, k, args);
    },
    async del(k) {
      const result = await inner.del(k);
      if (k.includes(snapshot)) listDone();
      return result;
    },
    async zscan(key, cursor, count) {
      if (order === "list first") await listFinished;
      const page = await inner.zscan(key, cursor, count);
      if (page[0] === "0") {
        zscanDone = true;
        checkScans();
      }
      return page;
    },
    async scan(cursor, match, count) {
      if (order === "list first") await listFinished;
      const page = await inner.scan(cursor, match, count);
      // One range from "0" to "0" where the store has no ranges of its own.
      if (!inner.scanRanges && page[0] === "0") {
        scansLeft = 0;
        checkScans();
      }
      return page;
    },
  };
  if (inner.scanRanges) {
    forced.scanRanges = async () => {
      const ranges = await inner.scanRanges!();
      scansLeft = ranges.length;
      return ranges.map((range) => ({
        ...range,
        ends: (next: string) => {
          const ends = range.ends(next);
          if (ends) {
            scansLeft--;
            checkScans();
          }
          return ends;
        },
      }));
    };
  } else {
    scansLeft = 1;
  }
  return new Proxy(inner, {
    get: (target, name) => {
      if (name in forced) return forced[name as keyof CacheStore];
      const value = Reflect.get(target, name, target) as unknown;
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
