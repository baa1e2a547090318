import { lua } from "../cache/store";

/*
 * Stale-while-revalidate over the protocol's ideas (lib/cache/protocol.ts): a value K,
 * its generation {K}:gen and its single-flight lock {K}:lock, all on one Cluster slot.
 *
 * The value is `{"v":<generation it was computed at>,"t":<ms computed>,"data":...}`.
 * Writers never delete it: they INCR the generation (MARK_STALE), which marks every value
 * computed before stale, so readers keep getting an answer at once while one of them
 * recomputes. A refresh reads the generation when it takes the lock, before its Postgres
 * read, and stores its value tagged with that generation: if a write landed meanwhile,
 * the tag is older than the counter and the value is still stale. A refresh can never
 * clear a mark, only add a value that the next reader refreshes again.
 */

/**
 * KEYS: value, gen, lock. ARGV: token, lock ms, now ms, freshness ms.
 * Returns {0, value} when fresh; {1, value, gen, locked} when stale (present but older
 * than the generation, past its freshness, or unreadable); {2, '', gen, locked} on a miss.
 * `locked` is 1 when this caller took the lock and so must refresh (and gen is what it read).
 */
export const SWR_READ = lua(`
local v = redis.call('GET', KEYS[1])
local g = redis.call('GET', KEYS[2]) or '0'
if v then
  local vg, vt = string.match(v, '^{"v":(%d+),"t":(%d+)')
  if vg and tonumber(vg) >= tonumber(g) and tonumber(ARGV[3]) - tonumber(vt) <= tonumber(ARGV[4]) then
    return {0, v}
  end
end
local locked = 0
if redis.call('SET', KEYS[3], ARGV[1], 'NX', 'PX', ARGV[2]) then locked = 1 end
if v then return {1, v, g, locked} end
return {2, '', g, locked}
`);

/**
 * KEYS: value, gen, lock. ARGV: token, value, its generation, its time ms, value TTL s,
 * gen TTL s. Sets the value unless the cached one is newer (a higher generation, or the
 * same one computed later); releases the lock if still ours. The generation is raised to
 * at least the value's and outlives it, so a counter that expired and restarted from 0
 * can never make an old value look current. 1 set, 0 refused.
 */
export const SWR_SET = lua(`
local cur = redis.call('GET', KEYS[1])
local result = 1
if cur then
  local cg, ct = string.match(cur, '^{"v":(%d+),"t":(%d+)')
  if cg and (tonumber(cg) > tonumber(ARGV[3]) or (tonumber(cg) == tonumber(ARGV[3]) and tonumber(ct) > tonumber(ARGV[4]))) then
    result = 0
  end
end
if result == 1 then redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[5]) end
if tonumber(redis.call('GET', KEYS[2]) or '0') < tonumber(ARGV[3]) then
  redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[6])
else
  redis.call('EXPIRE', KEYS[2], ARGV[6])
end
if redis.call('GET', KEYS[3]) == ARGV[1] then redis.call('DEL', KEYS[3]) end
return result
`);

/** KEYS: gen. ARGV: gen TTL s. A writer's mark: every value computed before now is stale. */
export const MARK_STALE = lua(`
local g = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[1])
return g
`);

/** `{"v":..,"t":..}` first, so the scripts read them without parsing JSON. */
export function encodeSwr(generation: number, at: number, data: unknown): string {
  return JSON.stringify({ v: generation, t: at, data });
}
