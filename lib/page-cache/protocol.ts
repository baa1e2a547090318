import { lua } from "../cache/store";

/*
 * The page cache's consistency protocol: the data cache's version guard (lib/cache/protocol.ts)
 * one level up, for rendered pages shared by every web instance.
 *
 * One clock, `{pages}:clock`, counts invalidations. Invalidating a tag INCRs the clock and
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
 * Every key shares the `{pages}` hash tag, so on Redis Cluster one slot holds the clock,
 * the marks and the entries, and each script stays on it.
 */

/**
 * KEYS: entry, clock, hard marks, soft marks. ARGV: the entry version the caller already
 * holds in memory ("" if none).
 * Returns {clock} when there is no entry; else {clock, version, state, body?}, where state
 * is fresh | stale | expired and body is left out when expired or when the caller holds
 * that version already (a 50 KB page is not sent again on every hit).
 */
export const PAGE_GET = lua(`
local clock = redis.call('GET', KEYS[2]) or '0'
local meta = redis.call('HMGET', KEYS[1], 'v', 'gen', 'tags')
if not meta[1] then return {clock} end
local gen = tonumber(meta[2]) or 0
local tags = {}
for tag in string.gmatch(meta[3] or '', '[^,]+') do tags[#tags + 1] = tag end
local state = 'fresh'
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
if state == 'expired' or meta[1] == ARGV[1] then return {clock, meta[1], state} end
return {clock, meta[1], state, redis.call('HGET', KEYS[1], 'body')}
`);

/**
 * KEYS: entry. ARGV: version, stamp, tags (comma-separated), body, ttl seconds.
 * 1: stored; 0: refused, the entry holds a render that began later than this one.
 */
export const PAGE_SET = lua(`
local cur = tonumber(redis.call('HGET', KEYS[1], 'gen'))
if cur and cur > tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'gen', ARGV[2], 'tags', ARGV[3], 'body', ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
`);

/** KEYS: clock, the marks hash (hard or soft). ARGV: tags. Returns the new clock. */
export const PAGE_INVALIDATE = lua(`
local c = redis.call('INCR', KEYS[1])
for i = 1, #ARGV do redis.call('HSET', KEYS[2], ARGV[i], c) end
return c
`);

export type EntryState = "fresh" | "stale" | "expired";

export interface LookupResult {
  /** The clock when the lookup ran: the stamp of a render that starts now. */
  clock: number;
  entry?: { version: string; state: EntryState; body?: string };
}

/** Parses PAGE_GET's reply (the drivers return numbers or strings alike). */
export function parseLookup(reply: unknown): LookupResult {
  if (!Array.isArray(reply) || reply.length === 0) throw new Error("page cache: unexpected reply");
  const clock = Number(reply[0]);
  if (reply.length === 1) return { clock };
  const state = String(reply[2]);
  if (state !== "fresh" && state !== "stale" && state !== "expired") throw new Error(`page cache: bad state ${state}`);
  const body = reply[3];
  return { clock, entry: { version: String(reply[1]), state, ...(typeof body === "string" ? { body } : {}) } };
}
