import { Redis, type RedisOptions } from "ioredis";
import { isNoScript, type CacheStore } from "./store";

/**
 * Options for the web's cache connection (house style rule 8): no offline queue, so a
 * command on a down connection fails at once instead of waiting; a short command timeout
 * for a Redis that accepts connections but never answers.
 */
export function webRedisOptions(overrides: Partial<RedisOptions> = {}): RedisOptions {
  return {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 1_000,
    commandTimeout: 250,
    // Reconnect quickly but never give up: the circuit breaker decides when to try again.
    retryStrategy: (times) => Math.min(50 * 2 ** times, 2_000),
    lazyConnect: false,
    ...overrides,
  };
}

/**
 * Options for BullMQ connections (worker and queue): BullMQ needs blocking commands
 * that wait indefinitely, and must keep retrying rather than drop jobs.
 */
export function workerRedisOptions(overrides: Partial<RedisOptions> = {}): RedisOptions {
  return {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    retryStrategy: (times) => Math.min(100 * 2 ** times, 5_000),
    ...overrides,
  };
}

export function createIoredisStore(url: string, options: Partial<RedisOptions> = {}): CacheStore {
  const client = new Redis(url, webRedisOptions(options));
  // Without a listener ioredis prints every failed reconnect; the breaker reports instead.
  client.on("error", () => {});
  const loaded = new Set<string>();
  return {
    driver: "ioredis",
    get: (key) => client.get(key),
    mget: (keys) => (keys.length ? client.mget(keys) : Promise.resolve([])),
    async set(key, value, ttlSeconds) {
      if (ttlSeconds) await client.set(key, value, "EX", ttlSeconds);
      else await client.set(key, value);
    },
    del: (keys) => (keys.length ? client.del(...keys) : Promise.resolve(0)),
    async eval(script, keys, args) {
      if (loaded.has(script.sha1)) {
        try {
          return await client.evalsha(script.sha1, keys.length, ...keys, ...args);
        } catch (error) {
          if (!isNoScript(error)) throw error;
        }
      }
      const result = await client.eval(script.source, keys.length, ...keys, ...args);
      loaded.add(script.sha1);
      return result;
    },
    async scan(cursor, match, count) {
      const [next, keys] = await client.scan(cursor, "MATCH", match, "COUNT", count);
      return [next, keys];
    },
    ttl: (key) => client.ttl(key),
    publish: (channel, message) => client.publish(channel, message),
    async ping() {
      await client.ping();
    },
    async close() {
      client.disconnect();
    },
  };
}
