import { EPOCH_COUNTER_LUA } from "../cache/epoch-counter";
import { lua } from "../cache/store";

/*
 * Stale-while-revalidate over the protocol's ideas (lib/cache/protocol.ts): a value K,
 * its generation {K}:gen and its single-flight lock {K}:lock, all on one Cluster slot.
 *
 * The value is `{"v":"<generation it was computed at>","t":<ms computed>,"data":...}`.
 * Writers never delete it: they count the generation up (MARK_STALE), which marks every value
 * computed before stale, so readers keep getting an answer at once while one of them
 * recomputes. A refresh reads the generation when it takes the lock, before its Postgres
 * read, and stores its value tagged with that generation: if a write landed meanwhile,
 * the tag is older than the counter and the value is still stale. A refresh can never
 * clear a mark, only add a value that the next reader refreshes again. The generation is an
 * epoch counter (lib/cache/epoch-counter.ts): if Redis loses it, counting starts again in a
 * new epoch, and nothing computed in the old one passes for fresh.
 */

/**
 * KEYS: value, gen, lock. ARGV: token, lock ms, now ms, freshness ms, a fresh epoch, gen TTL s.
 * Returns {0, value} when fresh; {1, value, gen, locked} when stale (present but computed
 * before the generation, in another epoch, past its freshness, or unreadable); {2, '', gen,
 * locked} on a miss. `gen` is the generation as `<epoch>.<n>` (lib/cache/epoch-counter.ts);
 * `locked` is 1 when this caller took the lock and so must refresh.
 */
export const SWR_READ = lua(`${EPOCH_COUNTER_LUA}
local e, g, started = counter_read(KEYS[2], ARGV[5])
if started then redis.call('EXPIRE', KEYS[2], ARGV[6]) end
local v = redis.call('GET', KEYS[1])
if v then
  local ve, vn, vt = string.match(v, '^{"v":"(%x+)%.(%d+)","t":(%d+)')
  if ve == e and tonumber(vn) >= g and tonumber(ARGV[3]) - tonumber(vt) <= tonumber(ARGV[4]) then
    return {0, v}
  end
end
local locked = 0
if redis.call('SET', KEYS[3], ARGV[1], 'NX', 'PX', ARGV[2]) then locked = 1 end
local stamp = e .. '.' .. g
if v then return {1, v, stamp, locked} end
return {2, '', stamp, locked}
`);

/**
 * KEYS: value, gen, lock. ARGV: token, value, its generation (`<epoch>.<n>`), its time ms,
 * value TTL s, gen TTL s, a fresh epoch. Sets the value unless it was computed in an epoch
 * that is no longer the generation's (Redis lost the counter meanwhile) or the cached one
 * is newer (a higher generation, or the same one computed later); releases the lock if
 * still ours. 1 set, 0 refused.
 */
export const SWR_SET = lua(`${EPOCH_COUNTER_LUA}
local e = counter_read(KEYS[2], ARGV[7])
redis.call('EXPIRE', KEYS[2], ARGV[6])
local se, sn = stamp_parse(ARGV[3])
local result = 1
if se ~= e then result = 0 end
local cur = redis.call('GET', KEYS[1])
if result == 1 and cur then
  local ce, cn, ct = string.match(cur, '^{"v":"(%x+)%.(%d+)","t":(%d+)')
  if ce == e and (tonumber(cn) > sn or (tonumber(cn) == sn and tonumber(ct) > tonumber(ARGV[4]))) then
    result = 0
  end
end
if result == 1 then redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[5]) end
if redis.call('GET', KEYS[3]) == ARGV[1] then redis.call('DEL', KEYS[3]) end
return result
`);

/** KEYS: gen. ARGV: gen TTL s, a fresh epoch. A writer's mark: every value computed before now is stale. */
export const MARK_STALE = lua(`${EPOCH_COUNTER_LUA}
counter_bump(KEYS[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1
`);

/** `{"v":"<epoch>.<n>","t":..}` first, so the scripts read them without parsing JSON. */
export function encodeSwr(generation: string, at: number, data: unknown): string {
  return JSON.stringify({ v: generation, t: at, data });
}
