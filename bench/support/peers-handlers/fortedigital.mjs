/*
 * @fortedigital/nextjs-cache-handler 3.x as its README's "Production Setup Example" sets it
 * up: one node-redis client per process kept on globalThis, `pingInterval` 10 s, the
 * redis-strings handler, behind the composite handler that sends entries tagged
 * `memory-cache` to a local LRU and everything else to Redis (nothing here carries that
 * tag, so every page goes to Redis). Changed for the benchmark: the key prefix (its own),
 * the Redis database (from the URL), no development branch, and the client comes from
 * `@redis/client` 5 (what `redis` 5 re-exports): the package requires node-redis >= 5.8.3
 * and the `redis` package at the top of this tree is 4.7.0, the version the other peer
 * pins. `registerInitialCache` (optional in the README) is not used: Lobby's build renders
 * an empty placeholder of the home page, which must never be served.
 */
import { createClient } from "@redis/client";
import { PHASE_PRODUCTION_BUILD } from "next/constants.js";
import { CacheHandler } from "@fortedigital/nextjs-cache-handler";
import createLruHandler from "@fortedigital/nextjs-cache-handler/local-lru";
import createRedisHandler from "@fortedigital/nextjs-cache-handler/redis-strings";
import createCompositeHandler from "@fortedigital/nextjs-cache-handler/composite";
import peerEnvModule from "./peer-env.cjs";

const { url, database, keyPrefix } = peerEnvModule.peerEnv();

CacheHandler.onCreation(() => {
  if (global.cacheHandlerConfig) return global.cacheHandlerConfig;
  if (global.cacheHandlerConfigPromise) return global.cacheHandlerConfigPromise;

  global.cacheHandlerConfigPromise = (async () => {
    let redisClient = null;
    if (PHASE_PRODUCTION_BUILD !== process.env.NEXT_PHASE) {
      try {
        redisClient = createClient({ url, database, pingInterval: 10000 });
        redisClient.on("error", (e) => {
          console.warn("Redis error", e);
          global.cacheHandlerConfig = null;
          global.cacheHandlerConfigPromise = null;
        });
      } catch (error) {
        console.warn("Failed to create Redis client:", error);
      }
    }
    if (redisClient) {
      try {
        await redisClient.connect();
      } catch (error) {
        console.warn("Failed to connect Redis client:", error);
        await redisClient.disconnect().catch(() => console.warn("Failed to quit the Redis client after failing to connect."));
      }
    }
    const lruCache = createLruHandler();
    if (!redisClient?.isReady) {
      console.error("Failed to initialize caching layer.");
      global.cacheHandlerConfigPromise = null;
      global.cacheHandlerConfig = { handlers: [lruCache] };
      return global.cacheHandlerConfig;
    }
    const redisCacheHandler = createRedisHandler({ client: redisClient, keyPrefix });
    global.cacheHandlerConfigPromise = null;
    global.cacheHandlerConfig = {
      handlers: [
        createCompositeHandler({
          handlers: [lruCache, redisCacheHandler],
          setStrategy: (ctx) => (ctx?.tags.includes("memory-cache") ? 0 : 1),
        }),
      ],
    };
    return global.cacheHandlerConfig;
  })();
  return global.cacheHandlerConfigPromise;
});

export default CacheHandler;
