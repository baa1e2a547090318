import { CACHE_SCRIPTS, decodeEnvelope, encodeEnvelope, invalidateCall, populateCall } from "../cache/protocol";
import { countLiveRooms } from "../db/queries/rooms";
import type { RunContext } from "./context";
import { cachedCountSchema } from "../rooms/validation";

/** rooms:count against a fresh count: missing, corrupt or wrong is fixed through the generation guard. */
export async function reconcileCount(ctx: RunContext): Promise<void> {
  const { store, keys, ttls, tally } = ctx;
  const key = keys.roomsCount;
  // Generation before the count, as in the read path's loader.
  const [raw, generation] = await store.mget([key, keys.gen(key)]);
  const { count, version } = await countLiveRooms(ctx.db);
  const cached = raw === null || raw === undefined ? undefined : decodeEnvelope(cachedCountSchema, raw);
  if (raw && !cached) tally.corrupt++;
  if (cached && cached.data === count) return;
  tally.countFixed = true;
  if (ctx.dryRun) return;
  await ctx.hooks.beforeRepair?.({ phase: "count", keys: [key] });
  // A generation that was missing (evicted, lost) can never be matched: drop the count instead.
  if (generation === null || generation === undefined) {
    await store.evalMany(CACHE_SCRIPTS.invalidate, [invalidateCall(keys, key)]);
    return;
  }
  const value = encodeEnvelope(version, count);
  const call = populateCall(keys, { key, generation, value, version, ttlSeconds: ttls.roomsAll, staleTtlSeconds: ttls.stale });
  const [result] = await store.evalMany(CACHE_SCRIPTS.populate, [call]);
  if (Number(result) === 0) tally.refused++;
  // 2: the cached count claims a version newer than Postgres has; no populate will ever replace it.
  if (Number(result) === 2) await store.evalMany(CACHE_SCRIPTS.invalidate, [invalidateCall(keys, key)]);
}
