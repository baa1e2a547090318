import { lua } from "../cache/store";
import { liveActivityPage, liveMessageVersions } from "../db/queries/room-reconciliation";
import { isUuid, type RunContext } from "./context";

/*
 * {rooms:all}:activity (room id → last activity, ms) against Postgres's
 * coalesce(last_activity_at, created_at), in two bounded passes:
 *
 * 1. live rooms, keyset pages by id: a member missing or scored below Postgres is raised
 *    with ZADD GT, the writers' own command, so a send that lands meanwhile (a higher
 *    score) always wins and a score never moves back;
 * 2. members, ZSCAN pages: those that are not live rooms (deleted, never existed, not a
 *    room id) are removed. A member exists only after its room's creation committed, so
 *    "not live now" means deleted, and ZREM is exactly what the deletion itself does.
 *
 * A score above Postgres is left alone (GT semantics: it is what a writer set). A room
 * deleted between pass 1's read and its ZADD can leave a stray member; pass 2 of the same
 * run removes it, and a stray member is never listed anyway (the list comes from rooms:all).
 */

const ZMSCORE = lua(`return redis.call('ZMSCORE', KEYS[1], unpack(ARGV))`);
const ZADD_GT = lua(`return redis.call('ZADD', KEYS[1], 'GT', unpack(ARGV))`);
const ZREM = lua(`return redis.call('ZREM', KEYS[1], unpack(ARGV))`);
const ZSCAN = lua(`return redis.call('ZSCAN', KEYS[1], ARGV[1], 'COUNT', ARGV[2])`);

/** Arguments per script call: unpack() in Lua has a stack limit (~8000), whatever `batchSize` is. */
const ARGS_PER_CALL = 1_000;

/** Runs `script` over `args` in slices of whole `stride`-sized groups; replies concatenated. */
async function sliced(ctx: RunContext, script: typeof ZMSCORE, args: (string | number)[], stride = 1): Promise<unknown[]> {
  const out: unknown[] = [];
  const size = Math.floor(ARGS_PER_CALL / stride) * stride;
  for (let i = 0; i < args.length; i += size) {
    const reply = await ctx.store.eval(script, [ctx.keys.roomsActivity], args.slice(i, i + size));
    if (Array.isArray(reply)) out.push(...reply);
  }
  return out;
}

export async function reconcileActivity(ctx: RunContext): Promise<void> {
  await raiseFromPostgres(ctx);
  await removeDeadMembers(ctx);
}

async function raiseFromPostgres(ctx: RunContext): Promise<void> {
  const { keys, tally } = ctx;
  let afterId: string | null = null;
  for (;;) {
    const rows = await liveActivityPage(ctx.db, { afterId, limit: ctx.batchSize });
    const last = rows.at(-1);
    if (!last) return;
    afterId = last.id;
    const scores = (await sliced(ctx, ZMSCORE, rows.map((r) => r.id))) as (string | number | null)[];
    const raise: (string | number)[] = [];
    rows.forEach((row, i) => {
      const score = scores[i];
      if (score === null || score === undefined || Number(score) < row.at) raise.push(row.at, row.id);
    });
    if (raise.length > 0) {
      tally.activityRepaired += raise.length / 2;
      if (!ctx.dryRun) {
        await ctx.hooks.beforeRepair?.({ phase: "activity", keys: [keys.roomsActivity] });
        await sliced(ctx, ZADD_GT, raise, 2);
      }
    }
    ctx.signal?.throwIfAborted();
    await ctx.progress("activity");
    if (rows.length < ctx.batchSize) return;
  }
}

async function removeDeadMembers(ctx: RunContext): Promise<void> {
  const { store, keys, tally } = ctx;
  let cursor = "0";
  // ZSCAN may return a member twice; one removed is not counted again. Grows with the drift only.
  const removed = new Set<string>();
  do {
    const [next, flat] = (await store.eval(ZSCAN, [keys.roomsActivity], [cursor, ctx.batchSize])) as [string, string[]];
    cursor = String(next);
    const members = [...new Set(flat.filter((_, i) => i % 2 === 0))].filter((m) => !removed.has(m));
    const ids = members.filter(isUuid);
    const live = new Set((await liveMessageVersions(ctx.db, ids)).map((r) => r.id));
    const dead = members.filter((m) => !live.has(m));
    if (dead.length > 0) {
      tally.activityRemoved += dead.length;
      for (const m of dead) removed.add(m);
      if (!ctx.dryRun) {
        await ctx.hooks.beforeRepair?.({ phase: "activity", keys: [keys.roomsActivity] });
        await sliced(ctx, ZREM, dead);
      }
    }
    ctx.signal?.throwIfAborted();
    await ctx.progress("activity");
  } while (cursor !== "0");
}
