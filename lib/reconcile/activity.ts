import { lua } from "../cache/store";
import { notLiveAmong } from "../db/queries/room-reconciliation";
import { isUuid, type RunContext } from "./context";
import { ACTIVITY_PAGE } from "./scripts";

/*
 * {rooms:all}:activity (room id → last activity, ms) against Postgres's
 * coalesce(last_activity_at, created_at), in two bounded passes:
 *
 * 1. live rooms: the list pass (list.ts) reads each live room's activity with its row and,
 *    in the script that stages the batch, raises a member that is missing or scored below
 *    Postgres with ZADD GT, the writers' own command, so a send that lands meanwhile (a
 *    higher score) always wins and a score never moves back;
 * 2. members, ZSCAN pages (here, after the list pass): those that are not live rooms
 *    (deleted, never existed, not a room id) are removed. Only the members the list pass
 *    did not find live are looked at; Postgres decides which of those are live (a room
 *    created since the pass is). A member exists only after its room's creation committed,
 *    so "not live now" means deleted, and ZREM is exactly what the deletion itself does.
 *
 * A score above Postgres is left alone (GT semantics: it is what a writer set). A room
 * deleted between pass 1's read and its ZADD can be added back as a stray member, which
 * pass 2 passes over (the list pass found it live): so the members pass 1 added (they were
 * missing: the drift, few) are looked at again after pass 2 ({@link removeDeadAddedMembers}).
 * A stray member is never listed anyway (the list comes from rooms:all).
 */

const ZREM = lua(`return redis.call('ZREM', KEYS[1], unpack(ARGV))`);

/** Arguments per script call: unpack() in Lua has a stack limit (~8000), whatever `batchSize` is. */
const ARGS_PER_CALL = 1_000;

/** A ZSCAN page covers this many times `batchSize` members. */
const SCAN_FACTOR = 10;

/** Removes the members of the activity order that are not live rooms. Needs the list pass's live ids. */
export async function removeDeadActivityMembers(ctx: RunContext): Promise<void> {
  const { store, keys } = ctx;
  const page = (cursor: string) => {
    const reading = store.eval(ACTIVITY_PAGE, [keys.roomsActivity], [cursor, ctx.batchSize * SCAN_FACTOR]) as Promise<[string, string[]]>;
    reading.catch(() => {}); // awaited below
    return reading;
  };
  // The next page is asked for while this one is looked at.
  let reading: Promise<[string, string[]]> | null = page("0");
  while (reading) {
    const [next, members]: [string, string[]] = await reading;
    const cursor: string = String(next);
    reading = cursor === "0" ? null : page(cursor);
    await removeDead(ctx, members.filter((m) => !ctx.liveIds.has(m)));
    ctx.signal?.throwIfAborted();
    await ctx.progress("activity");
  }
}

/** The members the list pass added, after the member pass: those whose room is gone since are removed. */
export async function removeDeadAddedMembers(ctx: RunContext): Promise<void> {
  const added = [...new Set(ctx.tally.activityAdded)];
  for (let i = 0; i < added.length; i += ctx.batchSize) await removeDead(ctx, added.slice(i, i + ctx.batchSize));
}

/** Of `candidates`, removes (and counts, once a run) those that are not live rooms, as Postgres says now. */
async function removeDead(ctx: RunContext, candidates: string[]): Promise<void> {
  const { store, keys, tally } = ctx;
  // ZSCAN may return a member twice, and an added member is looked at again.
  const members = [...new Set(candidates)].filter((m) => !tally.activityRemovedIds.has(m));
  const notLive = new Set(await notLiveAmong(ctx.db, members.filter(isUuid)));
  const dead = members.filter((m) => !isUuid(m) || notLive.has(m));
  if (dead.length === 0) return;
  tally.activityRemoved += dead.length;
  for (const m of dead) tally.activityRemovedIds.add(m);
  if (ctx.dryRun) return;
  await ctx.hooks.beforeRepair?.({ phase: "activity", keys: [keys.roomsActivity] });
  for (let i = 0; i < dead.length; i += ARGS_PER_CALL) await store.eval(ZREM, [keys.roomsActivity], dead.slice(i, i + ARGS_PER_CALL));
}
