import { lua } from "../cache/store";
import { notLiveAmong } from "../db/queries/room-reconciliation";
import { isUuid, type RunContext } from "./context";
import { RAISE } from "./scripts";
import { formatUuid, UuidList } from "./uuid-set";

/*
 * {rooms:all}:activity (room id → last activity, ms) against Postgres's
 * coalesce(last_activity_at, created_at), in one ZSCAN of the order beside the list pass,
 * which reads each live room's activity with its row (live-ids.ts):
 *
 * - a member that is a live room scored below Postgres, and a live room the ZSCAN never
 *   found (missing), are raised to Postgres's score with ZADD GT, the writers' own command
 *   (read and raised in one script), so a send that lands meanwhile (a higher score)
 *   always wins and a score never moves back;
 * - a member that is not a live room (deleted, never existed, not a room id) is removed.
 *   Postgres decides which of those are live (a room created since the list pass is). A
 *   member exists only after its room's creation committed, so "not live now" means
 *   deleted, and ZREM is exactly what the deletion itself does.
 *
 * The comparison is this process's: the scores travel with the ZSCAN that walks every
 * member anyway, where a ZMSCORE of every live room cost Redis ~4.5 s of a 1M-room run. A
 * member the ZSCAN returns before the list pass has found its room is held (16 bytes and its
 * score) until the pass is complete: looked at as not live at once, it would cost a
 * Postgres lookup and a raise (which would find it right), at a million rooms a million.
 *
 * A score above Postgres is left alone (GT semantics: it is what a writer set). A room
 * deleted between the list pass's read and the raise can be added back as a stray member:
 * so the members the raise added (they were missing: the drift, few) are looked at again
 * at the end ({@link removeDeadAddedMembers}). A stray member is never listed anyway (the
 * list comes from rooms:all).
 */

const ZREM = lua(`return redis.call('ZREM', KEYS[1], unpack(ARGV))`);

/** Arguments per script call: unpack() in Lua has a stack limit (~8000), whatever `batchSize` is. */
const ARGS_PER_CALL = 1_000;

/** A ZSCAN page covers this many times `batchSize` members. */
const SCAN_FACTOR = 10;

/** Lagging and missing live rooms (id, Postgres's ms) and dead members, each sent once a batch is full. */
class Repairs {
  private raise: (string | number)[] = [];
  private dead: string[] = [];

  constructor(private readonly ctx: RunContext) {}

  async lagging(id: string, activityMs: number): Promise<void> {
    this.raise.push(id, activityMs);
    if (this.raise.length >= 2 * this.ctx.batchSize) await this.sendRaises();
  }

  async notLive(member: string): Promise<void> {
    this.dead.push(member);
    if (this.dead.length >= this.ctx.batchSize) await this.sendDead();
  }

  /** What is left, at the end. */
  async flush(): Promise<void> {
    await this.sendRaises();
    await this.sendDead();
  }

  private async sendRaises(): Promise<void> {
    const { ctx } = this;
    if (this.raise.length === 0) return;
    const pairs = this.raise.join("\n");
    this.raise = [];
    const [raised, added] = (await ctx.store.eval(RAISE, [ctx.keys.roomsActivity], [pairs, ctx.dryRun ? "1" : "0"])) as [number, string[]];
    ctx.tally.activityRepaired += Number(raised);
    for (const id of added) ctx.tally.activityAdded.push(id);
    ctx.signal?.throwIfAborted();
  }

  private async sendDead(): Promise<void> {
    if (this.dead.length === 0) return;
    const dead = this.dead;
    this.dead = [];
    await removeDead(this.ctx, dead);
    this.ctx.signal?.throwIfAborted();
  }
}

/**
 * The activity order against the live rooms: lagging and missing scores raised, members that
 * are not live rooms removed. Runs beside the list pass (live-ids.ts).
 */
export async function reconcileActivityOrder(ctx: RunContext): Promise<void> {
  const { store, keys, live } = ctx;
  const repairs = new Repairs(ctx);
  const page = (cursor: string) => {
    const reading = store.zscan(keys.roomsActivity, cursor, ctx.batchSize * SCAN_FACTOR);
    reading.catch(() => {}); // awaited below
    return reading;
  };
  // Members the list pass has not found live yet, with their scores: looked at once it is complete.
  const held = new UuidList({ values: true });
  // The next page is asked for while this one is looked at.
  let reading: Promise<[string, string[]]> | null = page("0");
  while (reading) {
    const [next, flat]: [string, string[]] = await reading;
    reading = next === "0" ? null : page(next);
    for (let i = 0; i < flat.length; i += 2) {
      const member = flat[i]!;
      const score = Number(flat[i + 1]);
      const activity = live.activity(member);
      if (activity !== undefined) {
        if (!(score >= activity)) await repairs.lagging(member, activity);
      } else if (live.isComplete || !held.push(member, score)) {
        await repairs.notLive(member);
      }
    }
    ctx.signal?.throwIfAborted();
    await ctx.progress("activity");
  }
  await live.completed();
  for (const { words, at, value: score } of held.drain()) {
    const activity = live.activityAt(words, at);
    if (activity === undefined) await repairs.notLive(formatUuid(words, at));
    else if (!(score >= activity)) await repairs.lagging(formatUuid(words, at), activity);
  }
  // The live rooms the ZSCAN never found: missing from the order.
  for (const [id, activity] of await live.unmarked()) await repairs.lagging(id, activity);
  await repairs.flush();
}

/** The members the raises added, at the end: those whose room is gone since are removed. */
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
