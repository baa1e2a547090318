import type { ReadResult, SortedSetRead } from "../cache/cache-aside";
import { FreshReads } from "../cache/fresh-reads";
import { CacheUnavailableError, type GuardedStore } from "../cache/guarded-store";
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { LOCK_TTL_MS, READ_MARKS_TTL_SECONDS, type Keys } from "../cache/keys";
import { SET_SIGNATURE_LUA } from "../cache/protocol";
import { lua } from "../cache/store";
import type { Db } from "../db/client";
import { liveRoomActivity, type Room } from "../db/queries/rooms";
import { assertCanonicalId } from "../validation";
import type { RoomCacheService } from "./room-cache-service";

import { byActivity, type ActiveRoom } from "./activity-order";

export { byActivity, type ActiveRoom };

// ZADD GT: a score only ever moves forward, so late or repeated writes (a rebuild racing a
// send, a retried touch) can never move a room back in the order. Idempotent.
const ZADD_GT = lua(`
for i = 1, #ARGV, 2 do
  redis.call('zadd', KEYS[1], 'GT', ARGV[i], ARGV[i + 1])
end
return 1
`);
const LOCK = lua(`return redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) and 1 or 0`);
const UNLOCK = lua(`
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
`);
/** How long a caller waits for another instance's rebuild before querying itself (the load deadline). */
const REBUILD_WAIT_MS = 3_000;
const ZREM = lua(`return redis.call('zrem', KEYS[1], ARGV[1])`);
/** The set's signature (as GET_WITH_SET makes it), and its members unless the signature is ARGV[1]. */
const ZALL = lua(`
local members = redis.call('zrange', KEYS[1], 0, -1, 'WITHSCORES')
local signature = ${SET_SIGNATURE_LUA}
if signature == ARGV[1] then return {signature} end
return {signature, members}
`);
const MARK = lua(`
redis.call('hset', KEYS[1], ARGV[1], ARGV[2])
redis.call('hsetnx', KEYS[1], '_since', ARGV[2])
redis.call('expire', KEYS[1], ARGV[3])
return 1
`);
const MARKS = lua(`
redis.call('hsetnx', KEYS[1], '_since', ARGV[1])
redis.call('expire', KEYS[1], ARGV[2])
return redis.call('hgetall', KEYS[1])
`);

function pairs(reply: unknown): [string, string][] {
  const flat = Array.isArray(reply) ? reply.map(String) : [];
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
  return out;
}

/** A read of the sorted set: begun by {@link RoomActivity.prefetch}, or made with the list (GET_WITH_SET). */
export type ScoresRead = { ok: true; set: SortedSetRead } | { ok: false; error: unknown };

function setRead(reply: unknown): SortedSetRead {
  const [signature, flat] = reply as [string, string[] | undefined];
  return flat ? { signature: String(signature), flat } : { signature: String(signature) };
}

export interface RoomActivityDeps {
  db: Db;
  guarded: GuardedStore | null;
  keys: Keys;
  onError?: (error: unknown, context: Record<string, unknown>) => void;
}

/**
 * The room list's order: `{rooms:all}:activity` (room id → last activity ms), kept by message
 * sends and room creations (ZADD GT) and deletions (ZREM), rebuilt from Postgres when it is
 * missing or lacks a listed room. The list itself stays `rooms:all` (a message never
 * invalidates it); only the order and `lastActivityAt` come from here. Redis down or the
 * cache off: the order comes from Postgres's `last_activity_at`. Also the per-session
 * read marks (`read:{sessionId}`) behind the unread dots.
 */
export class RoomActivity {
  /** The last ordering made from Redis's scores (see order). */
  private lastOrder?: { rooms: Room[]; signature: string; scores: Map<string, number>; result: ActiveRoom[] };
  private rebuilding?: Promise<Map<string, number>>;
  /** Reads of the set shared by concurrent callers (after a miss of the list, every one of them). */
  private readonly reads = new FreshReads();
  /** Activity read by the list's loader, per list it loaded (see listLoaded). */
  private readonly loaded = new WeakMap<Room[], Map<string, number>>();

  constructor(private readonly deps: RoomActivityDeps) {}

  /**
   * A write's change to the order: a room's activity raised to `ms` (ZADD GT: never
   * backwards, so applying it twice is harmless), or a deleted room dropped. Rejects when
   * Redis cannot take it: writes go through the invalidation log (lib/cache/invalidation),
   * which keeps it until it is applied.
   */
  async apply(change: { room: string; ms: number } | { room: string; forget: true }): Promise<void> {
    const { guarded, keys } = this.deps;
    if (!guarded) return;
    if ("forget" in change) await guarded.write((s) => s.eval(ZREM, [keys.roomsActivity], [change.room]));
    else await guarded.write((s) => s.eval(ZADD_GT, [keys.roomsActivity], [change.ms, change.room]));
  }

  /**
   * The room list's loader read `rooms` and their activity in one statement: keeps that
   * activity for ordering this very list when Redis cannot answer (an outage, or the cache
   * turned off), so the order costs no second query; and refills the sorted set.
   */
  listLoaded(rooms: Room[], rows: { id: string; at: number }[]): Promise<void> {
    this.loaded.set(rooms, new Map(rows.map((r) => [r.id, r.at])));
    return this.refill(rows);
  }

  /**
   * Raises scores to what Postgres says (ZADD GT: idempotent, never backwards); the room
   * list's loader calls it with the activity it read in the same statement. Best effort.
   */
  async refill(rows: { id: string; at: number }[]): Promise<void> {
    const { guarded, keys } = this.deps;
    if (!guarded || rows.length === 0) return;
    const args = rows.flatMap((r) => [r.at, r.id]);
    await guarded
      .write((s) => s.eval(ZADD_GT, [keys.roomsActivity], args))
      .catch((error: unknown) => {
        // Redis unavailable is logged once, when the circuit opens; this runs on every list load.
        if (!(error instanceof CacheUnavailableError)) this.deps.onError?.(error, { op: "activity.refill" });
      });
  }

  /** Activity (ms) per room id: Redis, rebuilt when it misses a listed room; Postgres when Redis is unavailable. */
  async scores(listed: Room[]): Promise<Map<string, number>> {
    return (await this.signedScores(listed)).scores;
  }

  /**
   * The signature of the set behind the last order made from Redis: a read that passes it
   * (see {@link prefetch}, and the room list's read) is sent the members only if they changed.
   */
  get knownSignature(): string | undefined {
    return this.lastOrder?.signature;
  }

  /**
   * Starts reading the sorted set now, so the read can overlap another; hand the result to
   * {@link order}. Members come back only when they differ from the last order's.
   * Concurrent callers share reads that began after they arrived: a burst that missed the
   * list (a cold start: every request of it) then reads the set about twice, not once each.
   */
  prefetch(): Promise<ScoresRead> {
    const { guarded, keys } = this.deps;
    if (!guarded) return Promise.resolve({ ok: false, error: new CacheUnavailableError("cache off") });
    const known = this.knownSignature ?? "";
    return this.reads.read(known, () => guarded.readTrusted((s) => s.eval(ZALL, [keys.roomsActivity], [known]))).then(
      (reply) => ({ ok: true, set: setRead(reply) }),
      (error: unknown) => ({ ok: false, error }),
    );
  }

  /** The scores, with `signature` (the sorted set's, from Redis) when they came from Redis as they were. */
  private async signedScores(listed: Room[], prefetched?: ScoresRead | Promise<ScoresRead>): Promise<{ scores: Map<string, number>; signature?: string }> {
    const { guarded, db } = this.deps;
    if (guarded) {
      try {
        const read = await (prefetched ?? this.prefetch());
        if (!read.ok) throw read.error;
        const { signature, flat } = read.set;
        const last = this.lastOrder;
        // The same set as last time (the common case): no need to rebuild its map.
        const same = last?.signature === signature ? last : undefined;
        if (same?.rooms === listed) return { scores: same.scores, signature };
        // No members and no copy (the copy they were compared with was replaced meanwhile):
        // an empty set, so the rebuild below reads the set whole before it queries anything.
        const cached = same?.scores ?? new Map(pairs(flat).map(([id, s]) => [id, Number(s)]));
        if (listed.every((r) => cached.has(r.id))) return { scores: cached, signature };
        const rebuilt = await this.rebuildOnce(listed);
        // What Redis held wins where it is newer (a send the statement did not see yet).
        const merged = new Map(cached);
        for (const [id, at] of rebuilt) if (!(merged.get(id)! >= at)) merged.set(id, at);
        return { scores: merged };
      } catch (error) {
        if (!(error instanceof CacheUnavailableError)) throw error;
      }
    }
    // Redis unavailable or off: the activity read with this list, else Postgres.
    const known = this.loaded.get(listed);
    if (known) return { scores: known };
    return { scores: new Map((await liveRoomActivity(db)).map((r) => [r.id, r.at])) };
  }

  /** One rebuild per process at a time: concurrent callers share it. */
  private rebuildOnce(listed: Room[]): Promise<Map<string, number>> {
    this.rebuilding ??= this.rebuildAcrossInstances(listed).finally(() => {
      this.rebuilding = undefined;
    });
    return this.rebuilding;
  }

  /**
   * Refills `{rooms:all}:activity` from Postgres, once across instances: the caller that takes
   * the order's lock queries and writes (ZADD GT); the others poll the set until it
   * covers the list (a cold stampede then makes one query, not one per instance), and
   * query themselves only if it does not within the load deadline.
   */
  private async rebuildAcrossInstances(listed: Room[]): Promise<Map<string, number>> {
    const { guarded, keys, db } = this.deps;
    const fromRows = (rows: { id: string; at: number }[]) => new Map(rows.map((r) => [r.id, r.at]));
    const current = async () => {
      const reply = await guarded?.readTrusted((s) => s.eval(ZALL, [keys.roomsActivity], [""])).catch(() => null);
      if (reply === null || reply === undefined) return null;
      const scores = new Map(pairs(setRead(reply).flat).map(([id, sc]) => [id, Number(sc)]));
      return listed.every((r) => scores.has(r.id)) ? scores : undefined;
    };
    // A rebuild that finished after this caller's read (its read predates the refill) is enough.
    const refilled = await current();
    if (refilled) return refilled;
    const lockKey = keys.lock(keys.roomsActivity);
    const token = randomUUID();
    const locked = guarded ? await guarded.write((s) => s.eval(LOCK, [lockKey], [token, LOCK_TTL_MS])).catch(() => null) : null;
    if (!guarded || Number(locked) === 1) {
      try {
        // Checked again under the lock: another instance may have refilled the set and let
        // the lock go between this caller's read above and its lock.
        const meanwhile = guarded ? await current() : undefined;
        if (meanwhile) return meanwhile;
        const rows = await liveRoomActivity(db);
        await this.refill(rows);
        return fromRows(rows);
      } finally {
        await guarded?.write((s) => s.eval(UNLOCK, [lockKey], [token])).catch(() => {});
      }
    }
    const deadline = performance.now() + REBUILD_WAIT_MS;
    for (let delay = 10; performance.now() + delay < deadline; delay = Math.min(delay * 2, 80)) {
      await sleep(delay);
      const scores = await current();
      if (scores === null) break;
      if (scores) return scores;
    }
    return fromRows(await liveRoomActivity(db));
  }

  /**
   * The live rooms, most recently active first: on a hit the list and its order come in one
   * round trip, and only what changed since this process's last read of them.
   */
  async activeRooms(list: RoomCacheService): Promise<ReadResult<ActiveRoom[]>> {
    const all = await list.getAllRooms({ knownSignature: this.knownSignature });
    const ordered = await this.order(all.data, all.alongside && { ok: true, set: all.alongside });
    return { data: ordered, source: all.source, version: all.version };
  }

  /** `rooms` in activity order, each with `lastActivityAt`; creation order if neither store answers. */
  async order(rooms: Room[], prefetched?: ScoresRead | Promise<ScoresRead>): Promise<ActiveRoom[]> {
    const { scores, signature } = await this.signedScores(rooms, prefetched).catch((error: unknown) => {
      this.deps.onError?.(error, { op: "activity.order" });
      return { scores: new Map<string, number>(), signature: undefined };
    });
    // The same list (the cache hands out one object per value) in the same order as last
    // time: the same array, so callers may memoise what they derive from it.
    const last = this.lastOrder;
    if (signature !== undefined && last?.rooms === rooms && last.signature === signature) return last.result;
    const result = rooms
      .map((r) => ({ ...r, lastActivityAt: new Date(Math.max(scores.get(r.id) ?? 0, r.createdAt.getTime())) }))
      .sort(byActivity);
    if (signature !== undefined) this.lastOrder = { rooms, signature, scores, result };
    return result;
  }

  /** Marks `roomId` read by the session now. False when Redis is unavailable. */
  async markRead(sessionId: string, roomId: string, at = Date.now()): Promise<boolean> {
    assertCanonicalId("roomId", roomId);
    const { guarded, keys } = this.deps;
    if (!guarded) return false;
    try {
      await guarded.write((s) => s.eval(MARK, [keys.readMarks(sessionId)], [roomId, at, READ_MARKS_TTL_SECONDS]));
      return true;
    } catch (error) {
      if (error instanceof CacheUnavailableError) return false;
      throw error;
    }
  }

  /**
   * Live rooms with activity newer than the session's mark. A room never opened counts
   * from the session's first look (`_since`), so a new visitor starts with nothing unread.
   * Null when Redis is unavailable (no marks to compare with).
   */
  async unread(sessionId: string, rooms: Room[], now = Date.now()): Promise<string[] | null> {
    const { guarded, keys } = this.deps;
    if (!guarded) return null;
    let marks: Map<string, number>;
    try {
      marks = new Map(
        pairs(await guarded.write((s) => s.eval(MARKS, [keys.readMarks(sessionId)], [now, READ_MARKS_TTL_SECONDS]))).map(
          ([k, v]) => [k, Number(v)],
        ),
      );
    } catch (error) {
      if (error instanceof CacheUnavailableError) return null;
      throw error;
    }
    const since = marks.get("_since") ?? now;
    const ordered = await this.order(rooms);
    return ordered.filter((r) => r.lastActivityAt.getTime() > (marks.get(r.id) ?? since)).map((r) => r.id);
  }
}
