import { CACHE_SCRIPTS, decodeEnvelope, encodeEnvelope, invalidateCall, populateCall } from "../cache/protocol";
import type { EvalCall } from "../cache/store";
import type { Room } from "../db/queries/rooms";
import { sameRoom, type RunContext } from "./context";
import { liveRoomsByIds, type LiveRoomJson } from "../db/queries/room-reconciliation";
import { cachedKeysPattern, splitCachedKeys } from "./key-scan";
import { checkMessageKeys } from "./messages";
import { cachedRoomSchema } from "../rooms/validation";
import { UuidList, UuidSet } from "./uuid-set";

const cachedRoom = cachedRoomSchema.nullable();

/** A batch of room:{id} keys with everything read for it, in protocol order: generations, then Postgres. */
interface Batch {
  ids: string[];
  values: (string | null)[];
  generations: (string | null)[];
  live: Map<string, Room>;
}

/** SCAN batches read ahead of the one being checked. */
const READ_AHEAD = 3;
/** A SCAN batch covers this many times `batchSize` slots. */
const SCAN_FACTOR = 10;

/*
 * room:{id} keys are checked in two places, so that each room is read from Postgres once:
 * - during the pass over the live list (list.ts), the keys of live rooms are compared, as
 *   text, with the JSON the read path would cache for them; that pass also records the
 *   live ids (live-ids.ts);
 * - beside it, every cached key is SCANned (one SCAN for the room keys and the
 *   conversations: key-scan.ts), and keys whose id is not in that set once it is complete
 *   (the room is deleted or never existed, or was created since the pass) are looked at.
 * Either way a key is then read again in protocol order (its generation and value first,
 * its row second) before it is classified and repaired, so the set only narrows the
 * search: Postgres decides. Rooms in Postgres that are not cached are not drift: the room
 * cache is partial by design.
 */

/**
 * One SCAN of the cached keys (key-scan.ts) beside the list pass: every room:{id} whose id the
 * list pass does not find live is removed through the writers' INVALIDATE if it is not, and
 * every messages:{roomId} is checked (messages.ts) as it is found.
 */
export async function reconcileCachedKeys(ctx: RunContext): Promise<void> {
  const pattern = cachedKeysPattern(ctx.keys);
  const ahead: { notLive: string[]; messages: string[] }[] = [];
  // The ranges may overlap (and SCAN may repeat a key): each id is looked at once a run.
  const [seenRooms, seenMessages] = [new UuidSet(), new UuidSet()];
  // Room ids the list pass has not found live yet: looked at once it is complete.
  const held = new UuidList();
  // The SCAN's ranges run side by side (scan-ranges.ts), each its own cursor.
  const ranges = ((await ctx.store.scanRanges?.()) ?? [{ start: "0", ends: (next: string) => next === "0" }]).map((range) => ({
    ...range,
    cursor: range.start as string | null,
    scanning: null as Promise<void> | null,
  }));
  // The SCAN pumps run on their own, READ_AHEAD batches ahead, off the path of the checks.
  const pump = () => {
    for (const range of ranges) {
      if (range.scanning || range.cursor === null || ahead.length >= READ_AHEAD * ranges.length) continue;
      // Ids only, so a SCAN batch can be larger than a batch of values: fewer round trips.
      range.scanning = ctx.store.scan(range.cursor, pattern, ctx.batchSize * SCAN_FACTOR).then(([next, found]) => {
        range.cursor = range.ends(next) ? null : next;
        const { rooms, messages } = splitCachedKeys(ctx.keys, found);
        ahead.push({
          notLive: ctx.live.notLive(rooms, held).filter((id) => firstSight(seenRooms, id)),
          messages: messages.filter((id) => firstSight(seenMessages, id)),
        });
        range.scanning = null;
        pump();
      });
      range.scanning.catch(() => {});
    }
  };
  // Ids wait here until a batch is full: a SCAN page (ten thousand keys of millions) holds
  // few that are not live rooms, and a read and repair per page had the walk wait on them.
  const rooms: string[] = [];
  const conversations: string[] = [];
  const check = async (final: boolean) => {
    while (rooms.length >= ctx.batchSize || (final && rooms.length > 0)) {
      const batch = rooms.splice(0, ctx.batchSize);
      await repairBatch(ctx, await readBatch(ctx, batch), true);
    }
    while (conversations.length >= ctx.batchSize || (final && conversations.length > 0)) {
      await checkMessageKeys(ctx, conversations.splice(0, ctx.batchSize));
    }
  };
  try {
    for (;;) {
      pump();
      const next = ahead.shift();
      if (!next) {
        const scanning = ranges.map((r) => r.scanning).filter((s) => s !== null);
        if (scanning.length === 0) break;
        // The first to answer; a failed one throws here.
        await Promise.race(scanning);
        continue;
      }
      pump();
      rooms.push(...next.notLive);
      conversations.push(...next.messages);
      await check(false);
      ctx.signal?.throwIfAborted();
      await ctx.progress("rooms");
    }
    for (const id of await ctx.live.released(held)) {
      if (!firstSight(seenRooms, id)) continue;
      rooms.push(id);
      if (rooms.length < ctx.batchSize) continue;
      await check(false);
      ctx.signal?.throwIfAborted();
    }
    await check(true);
  } finally {
    await Promise.allSettled(ranges.map((r) => r.scanning));
  }
}

/** True the first time `id` is seen; text the set cannot hold (not a canonical UUID) is always looked at. */
function firstSight(seen: UuidSet, id: string): boolean {
  if (seen.has(id)) return false;
  seen.add(id);
  return true;
}

/**
 * The cached room:{id} of a batch of live rooms (read in the list pass). `encoded` holds
 * their JSON as the read path writes it, in order, UTF-8, a comma between, the first at
 * `start`. A value that is exactly what the read path would cache is current, compared as
 * bytes (no value is decoded); the others are checked again in protocol order and repaired.
 */
export async function checkLiveRoomKeys(ctx: RunContext, rooms: LiveRoomJson[], encoded: Buffer, start: number): Promise<void> {
  const values = await ctx.store.mgetBuffers(rooms.map((r) => ctx.keys.room(r.id)));
  const differ: string[] = [];
  let next = start;
  rooms.forEach((room, i) => {
    const from = next;
    next += room.bytes + 1;
    const raw = values[i];
    if (raw === null || raw === undefined) return;
    ctx.tally.scanned++;
    if (!isCanonical(raw, room.version, encoded, from, room.bytes)) differ.push(room.id);
  });
  if (differ.length > 0) await repairBatch(ctx, await readBatch(ctx, differ), false);
}

/**
 * `{"v":<version>,"at":"<24 characters>","data":<json>}`: encodeEnvelope's output for this
 * row, at any time, with the row's JSON at `from` in `encoded` (`length` bytes). Compared
 * in place, without building the expected value: this runs for every cached live room,
 * every run. The 24 bytes of "at" hold no quote and no backslash (so the value is that
 * envelope); an "at" of other characters is left to the full check.
 */
function isCanonical(raw: Buffer, version: number, encoded: Buffer, from: number, length: number): boolean {
  const head = `{"v":${version},"at":"`;
  const data = head.length + 24;
  const jsonAt = data + DATA.length;
  if (raw.length !== jsonAt + length + 1 || raw[raw.length - 1] !== 125 /* } */) return false;
  for (let i = 0; i < head.length; i++) if (raw[i] !== head.charCodeAt(i)) return false;
  for (let i = head.length; i < data; i++) if (raw[i] === 34 || raw[i] === 92) return false;
  return raw.compare(DATA, 0, DATA.length, data, jsonAt) === 0 && raw.compare(encoded, from, from + length, jsonAt, jsonAt + length) === 0;
}

const DATA = Buffer.from('","data":');

/** Values and generations first, then the live rows: the read path's order, so a guarded set cannot undo a write. */
async function readBatch(ctx: RunContext, ids: string[]): Promise<Batch> {
  const { store, keys } = ctx;
  const roomKeys = ids.map((id) => keys.room(id));
  const [values, generations] = await Promise.all([store.mget(roomKeys), store.mget(roomKeys.map(keys.gen))]);
  const present = ids.filter((_, i) => values[i] !== null);
  const live = new Map<string, Room>();
  for (const row of await liveRoomsByIds(ctx.db, present)) live.set(row.id, row);
  return { ids, values, generations, live };
}

/** Classifies and repairs; `countScanned` is false for keys the list pass has already counted. */
async function repairBatch(ctx: RunContext, { ids, values, generations, live }: Batch, countScanned: boolean): Promise<void> {
  const { store, keys, ttls, tally } = ctx;
  const { counted } = tally;
  const sets: EvalCall[] = [];
  const drops: EvalCall[] = [];
  const drop = (id: string) => drops.push(invalidateCall(keys, keys.room(id)));
  // A generation that was missing (evicted, lost) can never be matched: drop the key instead.
  const set = (id: string, generation: string | null, row: Room) =>
    generation === null
      ? drop(id)
      : sets.push(
      populateCall(keys, {
        key: keys.room(id),
        generation,
        value: encodeEnvelope(row.version, row),
        version: row.version,
        ttlSeconds: ttls.room,
        staleTtlSeconds: ttls.stale,
      }),
    );
  // Counted once per room, whether its key, its list entry or both differ.
  const count = (kind: "corrupt" | "removed" | "modified", id: string) => {
    if (counted[kind].has(id)) return;
    counted[kind].add(id);
    tally[kind]++;
  };
  ids.forEach((id, i) => {
    const raw = values[i];
    // Gone since it was found, or seen in an earlier batch (SCAN repeats a key now and then).
    if (raw === null || raw === undefined || tally.handled.has(id)) return;
    if (countScanned) tally.scanned++;
    const row = live.get(id);
    if (row && isCurrent(raw, row)) return;
    tally.handled.add(id);
    const cached = decodeEnvelope(cachedRoom, raw);
    const generation = generations[i] ?? null;
    if (!cached || (row && cached.version > row.version)) {
      // Unparseable, or claiming a version Postgres never gave this row: corrupt either way.
      count("corrupt", id);
      if (row) set(id, generation, row);
      else drop(id);
    } else if (!row) {
      // Deleted, or never existed.
      count("removed", id);
      drop(id);
    } else if (cached.data === null || !sameRoom(cached.data, row)) {
      count("modified", id);
      set(id, generation, row);
    }
  });
  if (ctx.dryRun || (sets.length === 0 && drops.length === 0)) return;
  await ctx.hooks.beforeRepair?.({ phase: "rooms", keys: [...sets, ...drops].map((c) => c.keys[0]!) });
  const [setResults] = await Promise.all([
    store.evalMany(CACHE_SCRIPTS.populate, sets),
    store.evalMany(CACHE_SCRIPTS.invalidate, drops),
  ]);
  // 0: a write landed since the generation read; its invalidation stands, as it should.
  tally.refused += setResults.filter((r) => Number(r) === 0).length;
  // 2: the cached value claims a newer version than Postgres has (corrupt, since no write
  // bumped the generation): the guard will never let a populate replace it, so drop it.
  const claimsNewer = sets.filter((_, j) => Number(setResults[j]) === 2).map((c) => invalidateCall(keys, c.keys[0]!));
  await store.evalMany(CACHE_SCRIPTS.invalidate, claimsNewer);
}

/**
 * The common case, cheaply: the cached value parses, and every field equals the row's.
 * Such a value is exactly what the read path would cache (so it is valid too); anything
 * else goes through the full decode, which tells corrupt from stale.
 */
function isCurrent(raw: string, row: Room): boolean {
  let parsed: { v?: unknown; at?: unknown; data?: Record<string, unknown> | null };
  try {
    parsed = JSON.parse(raw);
  } catch {
    return false;
  }
  const d = parsed?.data;
  return (
    parsed.v === row.version &&
    typeof parsed.at === "string" &&
    typeof d === "object" &&
    d !== null &&
    d.id === row.id &&
    d.name === row.name &&
    d.description === row.description &&
    d.ownerId === row.ownerId &&
    d.ownerName === row.ownerName &&
    d.version === row.version &&
    sameInstant(d.createdAt, row.createdAt) &&
    sameInstant(d.updatedAt, row.updatedAt)
  );
}

/** `value` is the 24-character ISO form (…sss"Z") of `date`; Date.parse is cheaper than formatting the date. */
function sameInstant(value: unknown, date: Date): boolean {
  return typeof value === "string" && value.length === 24 && value.charCodeAt(23) === 90 && Date.parse(value) === date.getTime();
}
