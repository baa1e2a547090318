import { EPOCH_COUNTER_LUA, freshEpoch } from "../cache/epoch-counter";
import { lua } from "../cache/store";

/*
 * The page cache's consistency protocol: the data cache's version guard (lib/cache/protocol.ts)
 * one level up, for rendered pages shared by every web instance.
 *
 * One clock, `{pages}:clock`, counts invalidations. Invalidating a tag counts the clock up and
 * records the new value against the tag (`{pages}:tags:hard` or `:soft`). A render is
 * stamped with the clock as it was read *before* the render began (the cache lookup that
 * missed), not with the time it finished. So a render that read old data and finished
 * after an invalidation carries a stamp older than the tag's mark and counts as expired
 * on the next lookup: the invalidation is never lost, unlike Next's own cache, which
 * stamps an entry with the time it was written.
 *
 * - hard mark newer than the stamp: expired; the next request renders before it answers.
 * - soft mark newer than the stamp: stale; served once while one render refreshes it.
 *
 * The clock is an epoch counter (lib/cache/epoch-counter.ts): a Redis that loses it starts
 * a new epoch instead of counting from 1 again below the stamps of entries and renders in
 * flight, and an entry or render stamped in another epoch is never fresh.
 *
 * Every key shares the `{pages}` hash tag, so on Redis Cluster one slot holds the clock,
 * the marks and the entries, and each script stays on it.
 */

/**
 * Lua: the page clock, an epoch counter (lib/cache/epoch-counter.ts). When Redis has lost
 * it, a new epoch starts and the marks of the old one go with it: an entry stamped in
 * another epoch is expired whatever the marks say, so they are never consulted again.
 */
const CLOCK_LUA = `${EPOCH_COUNTER_LUA}
local function clock_read(clock, hard, soft, fresh)
  local e, n, started = counter_read(clock, fresh)
  if started then redis.call('DEL', hard, soft) end
  return e, n
end
`;

/**
 * KEYS: entry, clock, hard marks, soft marks. ARGV: the entry version the caller already
 * holds in memory ("" if none), a fresh epoch.
 * Returns {clock} when there is no entry; else {clock, version, state, body?}, where clock
 * is `<epoch>.<n>` (the stamp of a render that starts now), state is fresh | stale |
 * expired, and body is left out when expired or when the caller holds that version
 * already (a 50 KB page is not sent again on every hit). An entry stamped in another
 * epoch is expired.
 */
export const PAGE_GET = lua(`${CLOCK_LUA}
local e, c = clock_read(KEYS[2], KEYS[3], KEYS[4], ARGV[2])
local clock = e .. '.' .. c
local meta = redis.call('HMGET', KEYS[1], 'v', 'gen', 'tags', 'ep')
if not meta[1] then return {clock} end
local gen = tonumber(meta[2]) or 0
local state = 'fresh'
if meta[4] ~= e then
  state = 'expired'
else
  local tags = {}
  for tag in string.gmatch(meta[3] or '', '[^,]+') do tags[#tags + 1] = tag end
  if #tags > 0 then
    local hard, soft = 0, 0
    for _, h in ipairs(redis.call('HMGET', KEYS[3], unpack(tags))) do
      local n = tonumber(h) or 0
      if n > hard then hard = n end
    end
    for _, s in ipairs(redis.call('HMGET', KEYS[4], unpack(tags))) do
      local n = tonumber(s) or 0
      if n > soft then soft = n end
    end
    if hard > gen then state = 'expired' elseif soft > gen then state = 'stale' end
  end
end
if state == 'expired' or meta[1] == ARGV[1] then return {clock, meta[1], state} end
return {clock, meta[1], state, redis.call('HGET', KEYS[1], 'body')}
`);

/**
 * KEYS: entry, clock, hard marks, soft marks. ARGV: version, stamp (`<epoch>.<n>`), tags
 * (comma-separated), body, ttl seconds, a fresh epoch.
 * 1: stored; 0: refused, the render began in an epoch that is over (Redis lost the clock
 * since), or the entry holds a render that began later than this one.
 */
export const PAGE_SET = lua(`${CLOCK_LUA}
local e = clock_read(KEYS[2], KEYS[3], KEYS[4], ARGV[6])
local se, sn = stamp_parse(ARGV[2])
if se ~= e then return 0 end
local cur = redis.call('HMGET', KEYS[1], 'gen', 'ep')
if cur[2] == e and tonumber(cur[1]) and tonumber(cur[1]) > sn then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'gen', sn, 'ep', e, 'tags', ARGV[3], 'body', ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
`);

/**
 * KEYS: clock, the marks hash to write (hard or soft), the other one. ARGV: a fresh epoch,
 * then the tags. Returns the new clock (`<epoch>.<n>`).
 */
export const PAGE_INVALIDATE = lua(`${CLOCK_LUA}
clock_read(KEYS[1], KEYS[2], KEYS[3], ARGV[1])
local e, c = counter_bump(KEYS[1], ARGV[1])
for i = 2, #ARGV do redis.call('HSET', KEYS[2], ARGV[i], c) end
return e .. '.' .. c
`);

/** A PAGE_INVALIDATE of `tags` (keys: lib/page-cache/page-cache.ts's pageCacheKeys). */
export function pageInvalidateCall(
  keys: { clock: string; hard: string; soft: string },
  tags: string[],
  mode: "hard" | "soft",
): { keys: string[]; args: string[] } {
  return {
    keys: mode === "hard" ? [keys.clock, keys.hard, keys.soft] : [keys.clock, keys.soft, keys.hard],
    args: [freshEpoch(), ...tags],
  };
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
