import { lua } from "../cache/store";
import { notLiveAmong } from "../db/queries/room-reconciliation";
import { isUuid, type RunContext } from "./context";
import { ACTIVITY_NOT_LIVE } from "./scripts";

/*
 * {rooms:all}:activity (room id → last activity, ms) against Postgres's
 * coalesce(last_activity_at, created_at), in two bounded passes:
 *
 * 1. live rooms: the list pass (list.ts) reads each live room's activity with its row and,
 *    in the script that stages the batch, raises a member that is missing or scored below
 *    Postgres with ZADD GT, the writers' own command, so a send that lands meanwhile (a
 *    higher score) always wins and a score never moves back;
 * 2. members, ZSCAN pages (here, after the list pass): those that are not live rooms
 *    (deleted, never existed, not a room id) are removed. A script answers only the
 *    members missing from the live ids the list pass recorded; Postgres decides which of
 *    those are live (a room created since the pass is). A member exists only after its
 *    room's creation committed, so "not live now" means deleted, and ZREM is exactly what
 *    the deletion itself does.
 *
 * A score above Postgres is left alone (GT semantics: it is what a writer set). A room
 * deleted between pass 1's read and its ZADD can leave a stray member; pass 2 of the same
 * run removes it, and a stray member is never listed anyway (the list comes from rooms:all).
 */

const ZREM = lua(`return redis.call('ZREM', KEYS[1], unpack(ARGV))`);

/** Arguments per script call: unpack() in Lua has a stack limit (~8000), whatever `batchSize` is. */
const ARGS_PER_CALL = 1_000;

/** A ZSCAN page covers this many times `batchSize` members: only those not found live come back. */
const SCAN_FACTOR = 10;

/** Removes the members of the activity order that are not live rooms. Needs the list pass's live ids. */
export async function removeDeadActivityMembers(ctx: RunContext): Promise<void> {
  const { store, keys, tally } = ctx;
  let cursor = "0";
  // ZSCAN may return a member twice; one removed is not counted again. Grows with the drift only.
  const removed = new Set<string>();
  do {
    const [next, candidates] = (await store.eval(ACTIVITY_NOT_LIVE, [keys.roomsActivity, keys.liveIds(keys.roomsAll)], [
      cursor,
      ctx.batchSize * SCAN_FACTOR,
    ])) as [string, string[]];
    cursor = String(next);
    const members = [...new Set(candidates)].filter((m) => !removed.has(m));
    const ids = members.filter(isUuid);
    const notLive = new Set(await notLiveAmong(ctx.db, ids));
    const dead = members.filter((m) => !isUuid(m) || notLive.has(m));
    if (dead.length > 0) {
      tally.activityRemoved += dead.length;
      for (const m of dead) removed.add(m);
      if (!ctx.dryRun) {
        await ctx.hooks.beforeRepair?.({ phase: "activity", keys: [keys.roomsActivity] });
        for (let i = 0; i < dead.length; i += ARGS_PER_CALL) await store.eval(ZREM, [keys.roomsActivity], dead.slice(i, i + ARGS_PER_CALL));
      }
    }
    ctx.signal?.throwIfAborted();
    await ctx.progress("activity");
  } while (cursor !== "0");
}
