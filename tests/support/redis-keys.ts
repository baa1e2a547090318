import type { Redis } from "ioredis";

/**
 * Deletes every key matching `pattern` (SCAN + UNLINK, never KEYS). Used by tests, the
 * e2e setup and the benchmarks to clear their own prefix. Returns how many it removed.
 */
export async function deleteMatching(redis: Redis, pattern: string): Promise<number> {
  let removed = 0;
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 1000);
    if (keys.length) removed += await redis.unlink(...keys);
    cursor = next;
  } while (cursor !== "0");
  return removed;
}
