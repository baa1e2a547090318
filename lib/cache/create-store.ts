import type { Env } from "../env";
import { createIoredisStore } from "./ioredis-store";
import type { CacheStore } from "./store";
import { createUpstashStore } from "./upstash-store";

/** The one factory: the driver is picked by which variables are set (lib/env.ts). */
export function createCacheStore(redis: Env["redis"]): CacheStore | null {
  switch (redis.driver) {
    case "ioredis":
    case "cluster":
      return createIoredisStore(redis);
    case "upstash":
      return createUpstashStore({ url: redis.url, token: redis.token });
    case "none":
      return null;
  }
}
