import { GEN_OF_LUA } from "../cache/protocol";
import { lua } from "../cache/store";

/*
 * The Lua scripts of the rooms:all reconciliation (list.ts).
 * Every key a script touches is a companion of rooms:all (`{rooms:all}:...`), so on Redis
 * Cluster each script stays on one slot.
 */

/**
 * Copies the list to a scratch key (so the chunked read sees one value even if the list
 * is replaced meanwhile) and returns its length with the generation, read in the same
 * step and so before any Postgres read (created from ARGV[2] when missing, as the read
 * path's lock does); clears a crashed run's scratch keys. -1: no list; -2: not a string.
 */
export const SNAPSHOT = lua(`${GEN_OF_LUA}
local g = gen_of(KEYS[3], ARGV[2], ARGV[3])
redis.call('DEL', KEYS[4], KEYS[5], KEYS[6])
local t = redis.call('TYPE', KEYS[1]).ok
if t == 'none' then return {-1, g} end
if t ~= 'string' then return {-2, g} end
redis.call('COPY', KEYS[1], KEYS[2], 'REPLACE')
redis.call('PEXPIRE', KEYS[2], ARGV[1])
return {redis.call('STRLEN', KEYS[2]), g}
`);

/** A byte range, cut back to a whole UTF-8 character; returns the text and the bytes it covers. */
export const READ_RANGE = lua(`
local s = redis.call('GETRANGE', KEYS[1], ARGV[1], ARGV[2])
local n = #s
local i = n
while i > 0 and i > n - 4 do
  local b = string.byte(s, i)
  if b < 128 then break end
  if b >= 192 then
    local need = 2
    if b >= 240 then need = 4 elseif b >= 224 then need = 3 end
    if n - i + 1 < need then n = i - 1 end
    break
  end
  i = i - 1
end
if n == 0 then n = #s end
return {string.sub(s, 1, n), n}
`);

/*
 * Batches travel as ONE argument, "id\nvalue\nid\nvalue...": a thousand small arguments
 * cost more to encode than their bytes. Ids are UUIDs and values base64 digests, so
 * neither holds a newline.
 */

/*
 * Commands inside the scripts take many fields at once (HSET, HMGET, HDEL, SADD,
 * SMISMEMBER over a chunk), since each redis.call has a cost of its own; CHUNK keeps
 * unpack() well under Lua's stack limit.
 */
const SPLIT = `
local CHUNK = 500
local function split(s)
  local ids, values, pos = {}, {}, 1
  while pos <= #s do
    local a = string.find(s, '\\n', pos, true)
    local b = string.find(s, '\\n', a + 1, true) or (#s + 1)
    ids[#ids + 1] = string.sub(s, pos, a - 1)
    values[#values + 1] = string.sub(s, a + 1, b - 1)
    pos = b + 1
  end
  return ids, values
end
`;

/** Adds the packed id/digest pairs to the diff hash; returns how many ids were new (fewer: duplicates). */
export const HSET_MANY = lua(`${SPLIT}
local ids, digests = split(ARGV[2])
local added = 0
for i = 1, #ids, CHUNK do
  local args = {}
  for k = i, math.min(i + CHUNK - 1, #ids) do
    args[#args + 1] = ids[k]
    args[#args + 1] = digests[k]
  end
  added = added + redis.call('HSET', KEYS[1], unpack(args))
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return added
`);

/**
 * One batch of the live list, in one step: appends ARGV[2] (the batch's JSON, joined by
 * this process) to the staged value (ARGV[1]: 'first', 'next', or 'none' in a dry run);
 * adds every id to the live-ids set (KEYS[3]); and, when ARGV[4] is '1', matches each
 * room's digest against the diff hash, taking matched ids out of it. ARGV[5]: the packed
 * id/digest pairs. Returns id, listed-digest pairs for the rooms that differ ('' when not
 * listed at all), so only differences come back.
 */
export const STAGE_AND_MATCH = lua(`${SPLIT}
local ids, digests = split(ARGV[5])
for i = 1, #ids, CHUNK do redis.call('SADD', KEYS[3], unpack(ids, i, math.min(i + CHUNK - 1, #ids))) end
redis.call('PEXPIRE', KEYS[3], ARGV[3])
if ARGV[1] == 'first' then redis.call('SET', KEYS[1], ARGV[2]) elseif ARGV[1] == 'next' then redis.call('APPEND', KEYS[1], ARGV[2]) end
if ARGV[1] ~= 'none' then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
local out = {}
if ARGV[4] == '1' then
  for i = 1, #ids, CHUNK do
    local last = math.min(i + CHUNK - 1, #ids)
    local listed = redis.call('HMGET', KEYS[2], unpack(ids, i, last))
    redis.call('HDEL', KEYS[2], unpack(ids, i, last))
    for k = i, last do
      local l = listed[k - i + 1]
      if l ~= digests[k] then
        out[#out + 1] = ids[k]
        out[#out + 1] = l or ''
      end
    end
  end
end
return out
`);

export const HSCAN = lua(`return redis.call('HSCAN', KEYS[1], ARGV[1], 'COUNT', ARGV[2])`);

/** Starts (ARGV[2] = 1) or extends the staged value. */
export const APPEND = lua(`
if ARGV[2] == '1' then redis.call('SET', KEYS[1], ARGV[1]) else redis.call('APPEND', KEYS[1], ARGV[1]) end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
`);

/** Of the packed ids in ARGV[1] (one per line), those not in the live-ids set (KEYS[1]). */
export const NOT_LIVE = lua(`
local ids = {}
for id in string.gmatch(ARGV[1], '[^\\n]+') do ids[#ids + 1] = id end
local out = {}
for i = 1, #ids, 500 do
  local last = math.min(i + 499, #ids)
  local member = redis.call('SMISMEMBER', KEYS[1], unpack(ids, i, last))
  for k = i, last do
    if member[k - i + 1] == 0 then out[#out + 1] = ids[k] end
  end
end
return out
`);
