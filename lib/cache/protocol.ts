import { randomUUID } from "node:crypto";
import { z } from "zod";
import { GEN_TTL_SECONDS, type Keys } from "./keys";
import { lua, type EvalCall } from "./store";

/*
 * The consistency protocol (DESIGN.md, "The race that must not happen").
 *
 * Every cached key K has a generation {K}:gen in Redis: a random token, replaced by every
 * invalidation. A writer, after its transaction commits, runs INVALIDATE: a new token in
 * {K}:gen, DEL K. A loader reads the generation *before* it reads Postgres (in the same
 * script that takes the single-flight lock), and POPULATE sets K only if the generation is
 * unchanged. So if a write commits after the loader's snapshot, its invalidation lands
 * after the loader's generation read, and either the populate sees the new generation and
 * refuses, or the populate came first and the invalidation deletes it. Either way no
 * reader is served the old row after the writer has returned. POPULATE also refuses to
 * replace a value whose version (the Postgres-side sequence number inside the JSON) is
 * newer than its own.
 *
 * Tokens, not a counter, and a missing generation never matches: when Redis loses its
 * data (a restart without persistence, FLUSHDB, an eviction), a counter would start again
 * from 0 and could come back to the very number a loader read before the loss, after an
 * invalidation the loss erased; the loader's populate would then pass. A token is never
 * handed out twice, and a loader that finds no generation creates one (its lock token).
 */

/**
 * Lua: `gen_of(key, fresh, ttl)`, the generation in `key`, or `fresh` stored there (with
 * `ttl` seconds) when there is none. Every read of a generation that a populate will
 * compare goes through it: a missing generation never matches, so it must exist first.
 */
export const GEN_OF_LUA = `
local function gen_of(key, fresh, ttl)
  local g = redis.call('GET', key)
  if not g then
    g = fresh
    redis.call('SET', key, g, 'EX', ttl)
  end
  return g
end
`;

/**
 * KEYS: key, lock, gen. ARGV: token, lock ms, gen TTL s.
 * Returns {1, value} on a hit; {2, generation} when this caller took the lock (a missing
 * generation is created from the token); {0, ""} otherwise.
 */
export const GET_OR_LOCK = lua(`${GEN_OF_LUA}
local v = redis.call('GET', KEYS[1])
if v then return {1, v} end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {2, gen_of(KEYS[3], ARGV[1], ARGV[3])}
end
return {0, ''}
`);


/**
 * Lua: the signature of a sorted set's reply in `members` (ZRANGE WITHSCORES), the SHA-1 of
 * its members and scores in order. Every script that reads a set with a signature uses this
 * one, so a signature from one of them can be passed to another.
 */
export const SET_SIGNATURE_LUA = "redis.sha1hex(table.concat(members, ';'))";

/**
 * A hit read of KEYS[1] together with the sorted set KEYS[2] on its hash slot (the room
 * list and its activity order), answering only what the caller does not hold already:
 * {state, value, signature, members?}. state 0: KEYS[1] missing; 1: its value starts with
 * ARGV[1] (the caller's copy: see envelopeTag), value ''; 2: value sent. The signature is
 * the SHA-1 of the set (members and scores, in order); members are left out when it equals
 * ARGV[2], the signature of the caller's copy.
 */
export const GET_WITH_SET = lua(`
local v = redis.call('GET', KEYS[1])
local state, value = 0, ''
if v then
  if ARGV[1] ~= '' and string.sub(v, 1, #ARGV[1]) == ARGV[1] then state = 1 else state, value = 2, v end
end
local members = redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')
local signature = ${SET_SIGNATURE_LUA}
if signature == ARGV[2] then return {state, value, signature} end
return {state, value, signature, members}
`);

/**
 * A cached value's identity: its envelope's head (`{"v":<version>,"at":ISO`), which names
 * the Postgres version it was read at and when it was encoded. Two values with one head
 * hold the same data, so a reader holding one need not be sent the other.
 */
export function envelopeTag(raw: string): string {
  const end = raw.indexOf(',"data":');
  return end > 0 ? raw.slice(0, end) : "";
}

/**
 * KEYS: key, gen, lock, stale copy. ARGV: lock token, generation read, value, TTL s,
 * stale TTL s, version, guard ('0' turns it off).
 * 1: set; 0: refused, a write landed during the load (or the generation is gone: Redis
 * lost it); 2: refused, a newer value is cached.
 */
export const POPULATE = lua(`
local result = 0
local gen = redis.call('GET', KEYS[2])
if ARGV[7] == '0' or (gen and gen == ARGV[2]) then
  local cur = redis.call('GET', KEYS[1])
  local curv = cur and tonumber(string.match(cur, '^{"v":(%d+)'))
  if curv and curv > tonumber(ARGV[6]) then
    result = 2
  else
    redis.call('SET', KEYS[1], ARGV[3], 'EX', ARGV[4])
    redis.call('SET', KEYS[4], ARGV[3], 'EX', ARGV[5])
    result = 1
  end
end
if redis.call('GET', KEYS[3]) == ARGV[1] then redis.call('DEL', KEYS[3]) end
return result
`);

/** KEYS: key, gen. ARGV: gen TTL s, a fresh token (the new generation). */
export const INVALIDATE = lua(`
redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[1])
redis.call('DEL', KEYS[1])
return 1
`);

/**
 * POPULATE for a value too large to pass as one argument, assembled beforehand in a
 * staging key on the same slot (KEYS[5]); same guard, same answers (1 set, 0 a write
 * landed, 2 a newer value is cached). The staging key is consumed either way.
 */
const POPULATE_STAGED = lua(`
local result = 0
local gen = redis.call('GET', KEYS[2])
if redis.call('EXISTS', KEYS[5]) == 0 then return -1 end
if gen and gen == ARGV[2] then
  local curv = nil
  if redis.call('TYPE', KEYS[1]).ok == 'string' then
    curv = tonumber(string.match(redis.call('GETRANGE', KEYS[1], 0, 40), '^{"v":(%d+)'))
  end
  if curv and curv > tonumber(ARGV[5]) then
    result = 2
  else
    redis.call('COPY', KEYS[5], KEYS[4], 'REPLACE')
    redis.call('EXPIRE', KEYS[4], ARGV[4])
    redis.call('RENAME', KEYS[5], KEYS[1])
    redis.call('EXPIRE', KEYS[1], ARGV[3])
    result = 1
  end
end
redis.call('DEL', KEYS[5])
if redis.call('GET', KEYS[3]) == ARGV[1] then redis.call('DEL', KEYS[3]) end
return result
`);

export const RELEASE = lua(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`);

/**
 * The protocol's scripts, for callers that run them in batches (the reconciler, through
 * `CacheStore.evalMany`): a repair is the same guarded populate, a removal the same
 * INVALIDATE, as the read and write paths use. Build calls with {@link populateCall} and
 * {@link invalidateCall}.
 */
export const CACHE_SCRIPTS = { populate: POPULATE, populateStaged: POPULATE_STAGED, invalidate: INVALIDATE } as const;

/** A cached value: `{"v":<version>,"at":ISO,"data":...}`, "v" first so POPULATE reads it without parsing JSON. */
export function encodeEnvelope(version: number, data: unknown, at: Date = new Date()): string {
  const envelope: Envelope = { v: version, at: at.toISOString(), data };
  return JSON.stringify(envelope);
}

/**
 * Envelope schemas, built once per data schema: zod compiles an object schema on its first
 * parse, and a schema built per call pays that compile every time (it dominated a
 * 30k-value reconciliation profile).
 */
const envelopeSchemas = new WeakMap<z.ZodType, z.ZodType<{ v: number; at: string; data: unknown }>>();

/** Parses and validates a cached value; undefined when it fails either (the read path treats that as corrupt). */
export function decodeEnvelope<T>(schema: z.ZodType<T>, raw: string): { data: T; version: number } | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return undefined;
  }
  let envelopeSchema = envelopeSchemas.get(schema);
  if (!envelopeSchema) {
    envelopeSchema = z.object({ v: z.number().int().nonnegative(), at: z.string(), data: schema });
    envelopeSchemas.set(schema, envelopeSchema);
  }
  const envelope = envelopeSchema.safeParse(parsed);
  return envelope.success ? { data: envelope.data.data as T, version: envelope.data.v } : undefined;
}

/**
 * A POPULATE of `key` with `value` (an encoded envelope) read at `version`, allowed only
 * while `{key}:gen` still equals `generation` (read before the Postgres read). A key whose
 * generation was missing when read cannot be populated: invalidate it instead. The script answers 1 when it set, 0 when a write landed since, 2 when
 * a newer value is cached. It also refreshes the last-known-good copy, like the read path.
 */
export function populateCall(
  keys: Keys,
  p: { key: string; generation: string; value: string; version: number; ttlSeconds: number; staleTtlSeconds: number },
): EvalCall {
  return {
    keys: [p.key, keys.gen(p.key), keys.lock(p.key), keys.stale(p.key)],
    // The empty token never matches a single-flight lock, so a reader's lock is left alone.
    args: ["", p.generation, p.value, p.ttlSeconds, p.staleTtlSeconds, p.version, "1"],
  };
}

/**
 * Like {@link populateCall}, for a value already assembled in `keys.staging(key)` (a list
 * too large to hold in one process's memory). Answers -1 when the staging key is gone.
 */
export function populateStagedCall(
  keys: Keys,
  p: { key: string; generation: string; version: number; ttlSeconds: number; staleTtlSeconds: number },
): EvalCall {
  return {
    keys: [p.key, keys.gen(p.key), keys.lock(p.key), keys.stale(p.key), keys.staging(p.key)],
    args: ["", p.generation, p.ttlSeconds, p.staleTtlSeconds, p.version],
  };
}

/** An INVALIDATE of `key` (a new generation, DEL it), exactly as a writer does after a commit. */
export function invalidateCall(keys: Keys, key: string): EvalCall {
  return { keys: [key, keys.gen(key)], args: [GEN_TTL_SECONDS, randomUUID()] };
}



interface Envelope {
  v: number;
  at: string;
  data: unknown;
}
