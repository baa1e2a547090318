import { lua } from "../cache/store";
import { notLiveAmong } from "../db/queries/room-reconciliation";
import { isUuid, type RunContext } from "./context";
import { ACTIVITY_PAGE } from "./scripts";

/*
 * {rooms:all}:activity (room id → last activity, ms) against Postgres's
 * coalesce(last_activity_at, created_at), in two bounded passes that run side by side:
 *
 * 1. live rooms: the list pass (list.ts) reads each live room's activity with its row and,
 *    in the script that stages the batch, raises a member that is missing or scored below
 *    Postgres with ZADD GT, the writers' own command, so a send that lands meanwhile (a
 *    higher score) always wins and a score never moves back;
 * 2. members, ZSCAN pages (here): those that are not live rooms (deleted, never existed,
 *    not a room id) are removed; Postgres decides, one indexed lookup per member. A member
 *    exists only after its room's creation committed, so "not live now" means deleted, and
 *    ZREM is exactly what the deletion itself does.
 *
 * A score above Postgres is left alone (GT semantics: it is what a writer set). A room
 * deleted between pass 1's read and its ZADD can be added back as a stray member, after
 * pass 2 went by; so once both are done, the members pass 1 raised are asked of Postgres
 * again and the stray ones removed ({@link removeStrayRaisedMembers}). (A stray member is
 * never listed anyway: the list comes from rooms:all.)
 */

const ZREM = lua(`return redis.call('ZREM', KEYS[1], unpack(ARGV))`);

/** Arguments per script call: unpack() in Lua has a stack limit (~8000), whatever `batchSize` is. */
const ARGS_PER_CALL = 1_000;

/** A ZSCAN page covers this many times `batchSize` members. */
const SCAN_FACTOR = 10;

/** Removes the members of the activity order that are not live rooms. */
export async function removeDeadActivityMembers(ctx: RunContext, removed: Set<string>): Promise<void> {
  const { store, keys } = ctx;
  let cursor = "0";
  do {
    const [next, page] = (await store.eval(ACTIVITY_PAGE, [keys.roomsActivity], [cursor, ctx.batchSize * SCAN_FACTOR])) as [string, string[]];
    cursor = String(next);
    await removeNotLive(ctx, page, removed);
    ctx.signal?.throwIfAborted();
    await ctx.progress("activity");
  } while (cursor !== "0");
}

/** Once the list pass and the member pass are both done: the members the list pass raised that are not live rooms now. */
export async function removeStrayRaisedMembers(ctx: RunContext, removed: Set<string>): Promise<void> {
  if (ctx.dryRun) return; // nothing was raised
  const raised = [...ctx.tally.activityRaised];
  for (let i = 0; i < raised.length; i += ctx.batchSize) await removeNotLive(ctx, raised.slice(i, i + ctx.batchSize), removed);
}

/**
 * ZREM of the members among `candidates` that are not live rooms. `removed` lives as long as
 * the run: ZSCAN may return a member twice, and one removed is not counted again. It grows
 * with the drift only.
 */
async function removeNotLive(ctx: RunContext, candidates: string[], removed: Set<string>): Promise<void> {
  const { store, keys, tally } = ctx;
  const members = [...new Set(candidates)].filter((m) => !removed.has(m));
  const notLive = new Set(await notLiveAmong(ctx.db, members.filter(isUuid)));
  const dead = members.filter((m) => !isUuid(m) || notLive.has(m));
  if (dead.length === 0) return;
  tally.activityRemoved += dead.length;
  for (const m of dead) removed.add(m);
  if (ctx.dryRun) return;
  await ctx.hooks.beforeRepair?.({ phase: "activity", keys: [keys.roomsActivity] });
  for (let i = 0; i < dead.length; i += ARGS_PER_CALL) await store.eval(ZREM, [keys.roomsActivity], dead.slice(i, i + ARGS_PER_CALL));
}
