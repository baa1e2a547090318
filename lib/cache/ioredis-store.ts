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
    /*
     * Only a backstop that frees commands stuck on a socket that never answers: the
     * request path's deadline is GuardedStore's (50 ms while the event loop is free to
     * hear the reply). ioredis' own timer does not: under load (the event loop busy for a
     * few hundred ms) a 250 ms commandTimeout rejected replies that had already arrived.
     */
    commandTimeout: 10_000,
    // Reconnect quickly but never give up: the circuit breaker decides when to try again.
    retryStrategy: (times) => Math.min(50 * 2 ** times, 2_000),
    lazyConnect: false,
    /*
     * Off, measured: with auto-pipelining on, the benchmark's cached server (50
     * connections, both cores busy) saw hundreds of reads miss their 50 ms deadline, the
     * breaker open, and 616 Postgres queries per 1,000 "cached" reads; with it off, 0.
     */
    enableAutoPipelining: false,
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
  const redis = new Redis(url, webRedisOptions(options));
  // Without a listener ioredis prints every failed reconnect; the breaker reports instead.
  redis.on("error", () => {});
  /*
   * With no offline queue, a command sent before the first connection is ready fails at
   * once, so a fresh instance would count its first requests as Redis failures and open
   * its own breaker. Commands wait for the first `ready` only (the caller's deadline still
   * applies); after that, a lost connection fails fast.
   */
  let everReady = false;
  const firstReady = new Promise<void>((resolve) => redis.once("ready", () => resolve()));
  void firstReady.then(() => (everReady = true));
  const ready = async () => {
    if (!everReady && redis.status !== "ready") await firstReady;
    return redis;
  };
  const loaded = new Set<string>();
  return {
    driver: "ioredis",
    get: async (key) => (await ready()).get(key),
    mget: async (keys) => (keys.length ? (await ready()).mget(keys) : []),
    async set(key, value, ttlSeconds) {
      const client = await ready();
      if (ttlSeconds) await client.set(key, value, "EX", ttlSeconds);
      else await client.set(key, value);
    },
    del: async (keys) => (keys.length ? (await ready()).del(...keys) : 0),
    async eval(script, keys, args) {
      const client = await ready();
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
    async evalMany(script, calls) {
      if (calls.length === 0) return [];
      const client = await ready();
      const exec = async (batch: number[]) => {
        const pipeline = client.pipeline();
        for (const i of batch) {
          const call = calls[i]!;
          pipeline.evalsha(script.sha1, call.keys.length, ...call.keys, ...call.args);
        }
        return (await pipeline.exec()) ?? [];
      };
      if (!loaded.has(script.sha1)) {
        await client.script("LOAD", script.source);
        loaded.add(script.sha1);
      }
      const results: unknown[] = new Array(calls.length);
      let pending = calls.map((_, i) => i);
      // A SCRIPT FLUSH (or a failover) between LOAD and the pipeline: load again, rerun only those calls.
      for (let attempt = 0; pending.length > 0; attempt++) {
        const replies = await exec(pending);
        const retry: number[] = [];
        replies.forEach(([error, value], j) => {
          const i = pending[j]!;
          if (error && isNoScript(error) && attempt === 0) retry.push(i);
          else if (error) throw error;
          else results[i] = value;
        });
        if (retry.length) await client.script("LOAD", script.source);
        pending = retry;
      }
      return results;
    },
    async scan(cursor, match, count) {
      const [next, keys] = await (await ready()).scan(cursor, "MATCH", match, "COUNT", count);
      return [next, keys];
    },
    ttl: async (key) => (await ready()).ttl(key),
    publish: async (channel, message) => (await ready()).publish(channel, message),
    async ping() {
      await (await ready()).ping();
    },
    async close() {
      redis.disconnect();
    },
  };
}
