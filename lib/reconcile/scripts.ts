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
 * One batch of the live list, in one step. KEYS: staging, activity order. Writes ARGV[2]
 * (the batch's JSON, joined by this process) into the staged value at byte offset ARGV[1]
 * ('-1': nothing is staged, a dry run): by offset rather than APPEND, so batches in
 * flight together may land in any order. Raises each room's activity score to ARGV[4]'s
 * (packed id/ms pairs) where it is missing or lower, with ZADD GT, the writers' own
 * command, so a send that lands meanwhile always wins and a score never moves back
 * (ARGV[5] = '1': a dry run, count only). ARGV[3]: scratch TTL (ms). Returns how many
 * scores were (or would be) raised, and the ids whose member was missing and was added:
 * a room deleted since its row was read would be one, and the run looks at those again.
 */
export const STAGE = lua(`${SPLIT}
if ARGV[1] ~= '-1' then
  redis.call('SETRANGE', KEYS[1], ARGV[1], ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
local ids, ats = split(ARGV[4])
local raise, added = {}, {}
for i = 1, #ids, CHUNK do
  local last = math.min(i + CHUNK - 1, #ids)
  local scores = redis.call('ZMSCORE', KEYS[2], unpack(ids, i, last))
  for k = i, last do
    local s = scores[k - i + 1]
    if not s or tonumber(s) < tonumber(ats[k]) then
      raise[#raise + 1] = ats[k]
      raise[#raise + 1] = ids[k]
      if not s then added[#added + 1] = ids[k] end
    end
  end
end
if ARGV[5] ~= '1' then
  for j = 1, #raise, 2 * CHUNK do redis.call('ZADD', KEYS[2], 'GT', unpack(raise, j, math.min(j + 2 * CHUNK - 1, #raise))) end
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

/** One ZSCAN page of the activity order (KEYS[1]; ARGV: cursor, count), members only: {next cursor, members}. */
export const ACTIVITY_PAGE = lua(`
local page = redis.call('ZSCAN', KEYS[1], ARGV[1], 'COUNT', ARGV[2])
local flat = page[2]
local members = {}
for i = 1, #flat, 2 do members[#members + 1] = flat[i] end
return {page[1], members}
`);
