import { GEN_OF_LUA } from "../cache/protocol";
import { lua } from "../cache/store";

/*
 * The Lua scripts of the rooms:all reconciliation (list.ts) and of the activity order
 * (activity.ts). Every key a script touches is rooms:all or a companion of it
 * (`{rooms:all}:...`), so on Redis Cluster each script stays on one slot.
 */

/**
 * Copies the list to a scratch key (so the chunked read sees one value even if the list
 * is replaced meanwhile) and returns its length with the generation, read in the same
 * step and so before any Postgres read (created from ARGV[2] when missing, as the read
 * path's lock does); clears a crashed run's staging (KEYS[4]).
 * -1: no list; -2: not a string.
 */
export const SNAPSHOT = lua(`${GEN_OF_LUA}
local g = gen_of(KEYS[3], ARGV[2], ARGV[3])
redis.call('DEL', KEYS[4])
local t = redis.call('TYPE', KEYS[1]).ok
if t == 'none' then return {-1, g} end
if t ~= 'string' then return {-2, g} end
redis.call('COPY', KEYS[1], KEYS[2], 'REPLACE')
redis.call('PEXPIRE', KEYS[2], ARGV[1])
return {redis.call('STRLEN', KEYS[2]), g}
`);

/**
 * The chunk of ARGV[2] bytes at byte ARGV[1], each end moved forward to the start of a
 * UTF-8 character (by at most 3 bytes, so invalid text cuts the same way): chunks read at
 * fixed steps tile the value exactly, each one whole characters, so several can be read at
 * once. Returns the text and the bytes read (0: the value is gone or shorter than asked).
 */
export const READ_RANGE = lua(`
local from, size = tonumber(ARGV[1]), tonumber(ARGV[2])
local s = redis.call('GETRANGE', KEYS[1], from, from + size + 2)
local function boundary(i)
  for j = i, math.min(i + 2, #s) do
    local b = string.byte(s, j)
    if b < 128 or b >= 192 then return j end
  end
  return math.min(i + 3, #s + 1)
end
local first = 1
if from > 0 then first = boundary(1) end
local last = #s + 1
if size + 1 <= #s then last = boundary(size + 1) end
return {string.sub(s, first, last - 1), #s}
`);

/*
 * Batches travel as ONE argument, "id\nvalue\nid\nvalue...": a thousand small arguments
 * cost more to encode than their bytes. Ids are UUIDs and values numbers, so neither
 * holds a newline.
 */

/*
 * Commands inside the scripts take many members at once (ZMSCORE, ZADD over a chunk),
 * since each redis.call has a cost of its own; CHUNK keeps unpack() well under Lua's
 * stack limit.
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

/**
 * One batch of the live list: ARGV[2] (the batch's JSON, joined by this process) written into
 * the staged value (KEYS[1]) at byte offset ARGV[1], by offset rather than APPEND so batches
 * in flight together may land in any order. ARGV[3]: scratch TTL (ms).
 */
export const STAGE = lua(`
redis.call('SETRANGE', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
`);

/**
 * Raises activity scores (KEYS[1]: the order) to ARGV[1]'s (packed id/ms pairs) where the
 * member is missing or lower, with ZADD GT, the writers' own command, so a send that lands
 * meanwhile always wins and a score never moves back (ARGV[2] = '1': a dry run, count only).
 * Read and raise in one step. Returns how many scores were (or would be) raised, and the ids
 * whose member was missing and was added: a room deleted since its row was read would be
 * one, and the run looks at those again.
 */
export const RAISE = lua(`${SPLIT}
local ids, ats = split(ARGV[1])
local raise, added = {}, {}
for i = 1, #ids, CHUNK do
  local last = math.min(i + CHUNK - 1, #ids)
  local scores = redis.call('ZMSCORE', KEYS[1], unpack(ids, i, last))
  for k = i, last do
    local s = scores[k - i + 1]
    if not s or tonumber(s) < tonumber(ats[k]) then
      raise[#raise + 1] = ats[k]
      raise[#raise + 1] = ids[k]
      if not s then added[#added + 1] = ids[k] end
    end
  end
end
if ARGV[2] ~= '1' then
  for j = 1, #raise, 2 * CHUNK do redis.call('ZADD', KEYS[1], 'GT', unpack(raise, j, math.min(j + 2 * CHUNK - 1, #raise))) end
else
  added = {}
end
return {#raise / 2, added}
`);

/** Ends the staged value: ARGV[1] written at byte offset ARGV[2] (0: the whole value, an empty list). */
export const FINISH = lua(`
if ARGV[2] == '0' then redis.call('SET', KEYS[1], ARGV[1]) else redis.call('SETRANGE', KEYS[1], ARGV[2], ARGV[1]) end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
`);
