import { afterAll, beforeAll } from "vitest";
import { ON_CLUSTER, REDIS_URL } from "../../tests/support/services";
import { startUpstashRestServer, type UpstashRestServer } from "../../tests/support/upstash-rest-server";
import type { CacheStore } from "../cache/store";
import { createUpstashStore } from "../cache/upstash-store";
import type { Runtime } from "../runtime";

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
