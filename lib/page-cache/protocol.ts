import { EPOCH_COUNTER_LUA, freshEpoch } from "../cache/epoch-counter";
import { lua } from "../cache/store";

/*
 * The page cache's consistency protocol: the data cache's version guard (lib/cache/protocol.ts)
 * one level up, for rendered pages shared by every web instance.
 *
 * One clock counts invalidations. Invalidating a tag counts the clock up and records the
 * new value against the tag, as a hard or a soft mark. A render is stamped with the clock
 * as it was read *before* the render began (the cache lookup that missed), not with the
 * time it finished. So a render that read old data and finished after an invalidation
 * carries a stamp older than the tag's mark and counts as expired on the next lookup: the
 * invalidation is never lost, unlike Next's own cache, which stamps an entry with the
 * time it was written.
 *
 * - hard mark newer than the stamp: expired; the next request renders before it answers.
 * - soft mark newer than the stamp: stale; served once while one render refreshes it.
 *
 * The clock and every mark live in ONE hash, `{pages}:marks` (fields `epoch`, `clock`,
 * `h:<tag>`, `s:<tag>`), so Redis loses them together or not at all (a restart, FLUSHDB,
 * an eviction): marks can never vanish while the clock they were counted on survives,
 * which would make an expired entry fresh again. When the hash is gone, the next script
 * starts a new epoch (a random one its caller proposes) at clock 0; an entry or a render
 * stamped in another epoch is never fresh, so a clock counting 1, 2, 3 again can never be
 * mistaken for the one that stamped them (lib/cache/epoch-counter.ts says why).
 *
 * Every key shares the `{pages}` hash tag, so on Redis Cluster one slot holds the marks
 * and the entries, and each script stays on it.
 */

/** Lua: the marks hash's epoch and clock, starting a new epoch (`fresh`) at 0 when the hash is gone. */
const CLOCK_LUA = `${EPOCH_COUNTER_LUA}
local function clock_read(marks, fresh)
  local head = redis.call('HMGET', marks, 'epoch', 'clock')
  if head[1] and tonumber(head[2]) then return head[1], tonumber(head[2]) end
  redis.call('DEL', marks)
  redis.call('HSET', marks, 'epoch', fresh, 'clock', 0)
  return fresh, 0
end
`;

/**
 * KEYS: entry, marks. ARGV: the entry version the caller already holds in memory ("" if
 * none), a fresh epoch.
 * Returns {clock} when there is no entry; else {clock, version, state, body?}, where clock
 * is `<epoch>.<n>` (the stamp of a render that starts now), state is fresh | stale |
 * expired, and body is left out when expired or when the caller holds that version
 * already (a 50 KB page is not sent again on every hit). An entry stamped in another
 * epoch is expired.
 */
export const PAGE_GET = lua(`${CLOCK_LUA}
local e, c = clock_read(KEYS[2], ARGV[2])
local clock = e .. '.' .. c
local meta = redis.call('HMGET', KEYS[1], 'v', 'gen', 'tags', 'ep')
if not meta[1] then return {clock} end
local gen = tonumber(meta[2]) or 0
local state = 'fresh'
if meta[4] ~= e then
  state = 'expired'
else
  local fields = {}
  for tag in string.gmatch(meta[3] or '', '[^,]+') do
    fields[#fields + 1] = 'h:' .. tag
    fields[#fields + 1] = 's:' .. tag
  end
  if #fields > 0 then
    local hard, soft = 0, 0
    local marks = redis.call('HMGET', KEYS[2], unpack(fields))
    for i = 1, #fields, 2 do
      local h, s = tonumber(marks[i]) or 0, tonumber(marks[i + 1]) or 0
      if h > hard then hard = h end
      if s > soft then soft = s end
    end
    if hard > gen then state = 'expired' elseif soft > gen then state = 'stale' end
  end
end
if state == 'expired' or meta[1] == ARGV[1] then return {clock, meta[1], state} end
return {clock, meta[1], state, redis.call('HGET', KEYS[1], 'body')}
`);

/**
 * KEYS: entry, marks. ARGV: version, stamp (`<epoch>.<n>`), tags (comma-separated), body,
 * ttl seconds, a fresh epoch.
 * 1: stored; 0: refused, the render began in an epoch that is over (Redis lost the marks
 * since), or the entry holds a render that began later than this one.
 */
export const PAGE_SET = lua(`${CLOCK_LUA}
local e = clock_read(KEYS[2], ARGV[6])
local se, sn = stamp_parse(ARGV[2])
if se ~= e then return 0 end
local cur = redis.call('HMGET', KEYS[1], 'gen', 'ep')
if cur[2] == e and tonumber(cur[1]) and tonumber(cur[1]) > sn then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'gen', sn, 'ep', e, 'tags', ARGV[3], 'body', ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
`);

/**
 * KEYS: marks. ARGV: 'h' (hard) or 's' (soft), a fresh epoch, then the tags. Counts the
 * clock up and marks each tag with it; returns the new clock (`<epoch>.<n>`).
 */
export const PAGE_INVALIDATE = lua(`${CLOCK_LUA}
local e, c = clock_read(KEYS[1], ARGV[2])
c = redis.call('HINCRBY', KEYS[1], 'clock', 1)
for i = 3, #ARGV do redis.call('HSET', KEYS[1], ARGV[1] .. ':' .. ARGV[i], c) end
return e .. '.' .. c
`);

/** A PAGE_INVALIDATE of `tags` (keys: lib/page-cache/page-cache.ts's pageCacheKeys). */
export function pageInvalidateCall(keys: { marks: string }, tags: string[], mode: "hard" | "soft"): { keys: string[]; args: string[] } {
  return { keys: [keys.marks], args: [mode === "hard" ? "h" : "s", freshEpoch(), ...tags] };
}

export type EntryState = "fresh" | "stale" | "expired";

export interface LookupResult {
  /** The clock when the lookup ran (`<epoch>.<n>`): the stamp of a render that starts now. */
  clock: string;
  entry?: { version: string; state: EntryState; body?: string };
}

/** Parses PAGE_GET's reply (the drivers return numbers or strings alike). */
export function parseLookup(reply: unknown): LookupResult {
  if (!Array.isArray(reply) || reply.length === 0) throw new Error("page cache: unexpected reply");
  const clock = String(reply[0]);
  if (reply.length === 1) return { clock };
  const state = String(reply[2]);
  if (state !== "fresh" && state !== "stale" && state !== "expired") throw new Error(`page cache: bad state ${state}`);
  const body = reply[3];
  return { clock, entry: { version: String(reply[1]), state, ...(typeof body === "string" ? { body } : {}) } };
}
