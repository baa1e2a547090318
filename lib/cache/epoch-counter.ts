import { randomBytes } from "node:crypto";

/*
 * Counters that must never restart below a number held somewhere else (a cached value's
 * stamp, a render's, a process's memory): the page cache's clock, the stats' generation,
 * the search generation. Redis can lose a counter (a restart without persistence,
 * FLUSHDB, an eviction, a failover to a replica that missed writes) and INCR would then
 * count 1, 2, 3... again, past numbers that already meant something: a page rendered
 * before the loss, stamped 396, passed for fresh until the new clock reached 396.
 *
 * So a counter is `<epoch>.<n>`: an epoch (random, made by whoever finds the counter
 * missing or unreadable) and a count within it. Numbers are compared only within one
 * epoch; a stamp from another epoch is trusted for nothing.
 */

/**
 * Lua: `counter_read(key, fresh)` returns the epoch and count in `key`, starting a new
 * epoch `fresh` at 0 when the key is missing or unreadable (its third result is then
 * true); `counter_bump(key, fresh)` adds one and returns the same. Neither sets a TTL.
 * `stamp_parse(s)` splits `<epoch>.<n>` (nil when it is not one).
 */
export const EPOCH_COUNTER_LUA = `
local function stamp_parse(s)
  if not s then return nil end
  local e, n = string.match(s, '^(%x+)%.(%d+)$')
  if not e then return nil end
  return e, tonumber(n)
end
local function counter_read(key, fresh)
  local e, n = stamp_parse(redis.call('GET', key))
  if e then return e, n, false end
  redis.call('SET', key, fresh .. '.0')
  return fresh, 0, true
end
local function counter_bump(key, fresh)
  local e, n, started = counter_read(key, fresh)
  n = n + 1
  redis.call('SET', key, e .. '.' .. n, 'KEEPTTL')
  return e, n, started
end
`;

/** A new epoch for a script to start if it finds its counter missing (hex, as the scripts expect). */
export function freshEpoch(): string {
  return randomBytes(8).toString("hex");
}

/** A counter's value or a stamp, `<epoch>.<n>`. */
export interface Stamp {
  epoch: string;
  n: number;
}

export function parseStamp(value: unknown): Stamp | undefined {
  const match = typeof value === "string" ? /^([0-9a-f]+)\.(\d+)$/.exec(value) : null;
  return match ? { epoch: match[1]!, n: Number(match[2]) } : undefined;
}

export const formatStamp = (s: Stamp): string => `${s.epoch}.${s.n}`;
