import type { Cluster, Redis } from "ioredis";

/**
 * Deletes every key matching `pattern` (SCAN + UNLINK, never KEYS). Used by tests, the
 * e2e setup and the benchmarks to clear their own prefix. Returns how many it removed.
 * On a Redis Cluster it walks every master, and unlinks one key per command (a multi-key
 * UNLINK must stay on one slot).
 */
export async function deleteMatching(redis: Redis | Cluster, pattern: string): Promise<number> {
  if (redis.isCluster) {
    const counts = await Promise.all((redis as Cluster).nodes("master").map((node) => deleteOnNode(node, pattern, true)));
    return counts.reduce((a, b) => a + b, 0);
  }
  return deleteOnNode(redis as Redis, pattern, false);
}

async function deleteOnNode(redis: Redis, pattern: string, oneKeyPerCommand: boolean): Promise<number> {
  let removed = 0;
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 1000);
    if (keys.length && !oneKeyPerCommand) removed += await redis.unlink(...keys);
    else if (keys.length) {
      const pipeline = redis.pipeline();
      for (const key of keys) pipeline.unlink(key);
      for (const [error, n] of (await pipeline.exec()) ?? []) if (!error) removed += Number(n);
    }
    cursor = next;
  } while (cursor !== "0");
  return removed;
}
