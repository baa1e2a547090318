import type { GuardedStore } from "../guarded-store";
import type { Keys } from "../keys";
import { INVALIDATE, invalidateCall } from "../protocol";

/**
 * Deletes keys and gives them new generations, so no load that began before now can
 * populate them. Throws CacheUnavailableError when Redis cannot be reached. A write does
 * not call this itself: its invalidation goes through the invalidation log
 * (../invalidation/log.ts), which calls it and never loses it.
 */
export async function invalidateKeys(guarded: GuardedStore | null, keys: Keys, keysToDrop: string[]): Promise<void> {
  if (!guarded || keysToDrop.length === 0) return;
  await Promise.all(
    keysToDrop.map((key) => {
      const call = invalidateCall(keys, key);
      return guarded.write((s) => s.eval(INVALIDATE, call.keys, call.args));
    }),
  );
}
