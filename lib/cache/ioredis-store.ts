import type { Redis, RedisOptions } from "ioredis";
import { groupBySlot } from "./key-slot";
import { clusterScanHalves, scanHalves } from "./scan-ranges";
import type { TcpRedis } from "./redis-target";
import { isNoScript, type CacheStore, type LuaScript, type RedisNodeState, type ScriptArg } from "./store";
import { connectTcp, isCluster, type TcpClient } from "./tcp-client";

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

/**
 * The ioredis driver, on one node (a URL) or on a Redis Cluster. On a cluster every command
 * goes to its key's master; what spans keys is split so that each command stays on one
 * slot: MGET and DEL by slot, a batch of scripts as one call per script, SCAN over every
 * master in turn. Scripts name all their keys, and every key of one script shares a slot
 * (companion keys carry their key as a hash tag: lib/cache/keys.ts).
 */
export function createIoredisStore(target: TcpRedis | string, options: Partial<RedisOptions> = {}): CacheStore & Required<Pick<CacheStore, "nodes">> {
  const tcp: TcpRedis = typeof target === "string" ? { driver: "ioredis", url: target } : target;
  const redis = connectTcp(tcp, webRedisOptions(options));
  const cluster = isCluster(redis) ? redis : null;
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
  const evalOne = async (client: TcpClient, script: LuaScript, keys: string[], args: ScriptArg[]) => {
    if (loaded.has(script.sha1)) {
      try {
        return await client.evalsha(script.sha1, keys.length, ...keys, ...args);
      } catch (error) {
        // A node that never saw the script (another master, a promoted replica, SCRIPT FLUSH).
        if (!isNoScript(error)) throw error;
      }
    }
    const result = await client.eval(script.source, keys.length, ...keys, ...args);
    loaded.add(script.sha1);
    return result;
  };
  /** Runs `run` once per slot of `keys` (one node: once), and puts the replies back in key order. */
  const bySlot = async <T>(keys: string[], run: (client: TcpClient, group: string[]) => Promise<T[]>): Promise<T[]> => {
    const client = await ready();
    if (!cluster) return run(client, keys);
    const out: T[] = new Array(keys.length);
    await Promise.all(
      groupBySlot(keys).map(async (group) => {
        const replies = await run(client, group.keys);
        group.at.forEach((i, j) => (out[i] = replies[j]!));
      }),
    );
    return out;
  };
  // A cluster's first connection is several round trips (seed node, slot map, each master).
  let connectingCluster: Promise<void> | null = cluster ? firstReady : null;
  void firstReady.then(() => (connectingCluster = null));
  /** The cluster's masters, in a stable order (SCAN walks them one after the other). */
  const masters = () => (cluster ? cluster.nodes("master") : []).sort((a, b) => nodeAddress(a).localeCompare(nodeAddress(b)));
  return {
    driver: "ioredis",
    get: async (key) => (await ready()).get(key),
    mget: async (keys) => (keys.length ? bySlot(keys, (client, group) => client.mget(group)) : []),
    mgetBuffers: async (keys) => (keys.length ? bySlot(keys, (client, group) => client.mgetBuffer(group)) : []),
    async set(key, value, ttlSeconds) {
      const client = await ready();
      if (ttlSeconds) await client.set(key, value, "EX", ttlSeconds);
      else await client.set(key, value);
    },
    async del(keys) {
      if (!keys.length) return 0;
      const counts = await bySlot(keys, async (client, group) => {
        const n = await client.del(...group);
        return group.map((_, i) => (i === 0 ? n : 0));
      });
      return counts.reduce((a, b) => a + b, 0);
    },
    eval: async (script, keys, args) => evalOne(await ready(), script, keys, args),
    async evalMany(script, calls) {
      if (calls.length === 0) return [];
      const client = await ready();
      // A pipeline on a cluster must stay on one node; one call each keeps every call on its
      // own slot's master (all sent at once, without waiting for earlier replies).
      if (cluster) return Promise.all(calls.map((call) => evalOne(client, script, call.keys, call.args)));
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
      const client = await ready();
      if (!cluster) {
        const [next, keys] = await client.scan(cursor, "MATCH", match, "COUNT", count);
        return [next, keys];
      }
      /*
       * Every master in turn: the cursor is `<master>:<that master's cursor>`, and "0" only
       * once the last one is done. A failover during a scan may skip or repeat keys, as SCAN
       * itself may: its callers (the reconciler) tolerate both.
       */
      const nodes = masters();
      const [, at = "0", inner = "0"] = /^(\d+):(\d+)$/.exec(cursor) ?? [];
      const index = cursor === "0" ? 0 : Number(at);
      const node = nodes[index];
      if (!node) return ["0", []];
      const [next, keys] = await node.scan(cursor === "0" ? "0" : inner, "MATCH", match, "COUNT", count);
      if (next !== "0") return [`${index}:${next}`, keys];
      return [index + 1 < nodes.length ? `${index + 1}:0` : "0", keys];
    },
    async zscan(key, cursor, count) {
      const [next, flat] = await (await ready()).zscan(key, cursor, "COUNT", count);
      return [next, flat];
    },
    async scanRanges() {
      await ready();
      return cluster ? clusterScanHalves(masters().length) : scanHalves();
    },
    connecting: () => connectingCluster,
    ...(cluster
      ? {
          async durable(timeoutMs: number) {
            await ready();
            /*
             * WAIT counts the writes of the connection it is sent on, and the cluster client
             * has one connection per master: all of this process's writes there. A master
             * the cluster knows no replica of has nobody to fail over to (its slots go down
             * with it). One whose replica is only cut off has: the replica may come back and
             * be promoted without the write, so "no replica connected" is not enough.
             */
            await Promise.all(
              masters().map(async (node) => {
                if (Number(await node.wait(1, timeoutMs)) >= 1) return;
                const id = String(await node.call("CLUSTER", "MYID"));
                const replicas = String(await node.call("CLUSTER", "REPLICAS", id)).trim();
                if (replicas === "") return;
                throw new Error(`${nodeAddress(node)}: no replica confirmed this process's writes within ${timeoutMs} ms`);
              }),
            );
          },
        }
      : {}),
    ttl: async (key) => (await ready()).ttl(key),
    publish: async (channel, message) => (await ready()).publish(channel, message),
    async ping() {
      await (await ready()).ping();
    },
    async nodes() {
      const probe = async (node: Redis, role: RedisNodeState["role"]): Promise<RedisNodeState> => {
        const started = performance.now();
        try {
          await withTimeout(node.ping(), 500);
          return { address: nodeAddress(node), role, up: true, latencyMs: Math.round((performance.now() - started) * 100) / 100 };
        } catch (error) {
          return { address: nodeAddress(node), role, up: false, error: error instanceof Error ? error.message : String(error) };
        }
      };
      if (!cluster) return [await probe(redis as Redis, "master")];
      // Before the first slot map, the client lists its start-up nodes, all as masters.
      await withTimeout(ready(), 1_000);
      return Promise.all([
        ...masters().map((n) => probe(n, "master")),
        ...cluster.nodes("slave").map((n) => probe(n, "replica")),
      ]);
    },
    async close() {
      redis.disconnect();
    },
  };
}

function nodeAddress(node: Redis): string {
  return `${node.options.host}:${node.options.port}`;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms))),
  ]).finally(() => clearTimeout(timer));
}
