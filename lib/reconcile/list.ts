import { randomUUID } from "node:crypto";
import { z } from "zod";
import { GEN_TTL_SECONDS } from "../cache/keys";
import { CACHE_SCRIPTS, invalidateCall, populateStagedCall } from "../cache/protocol";
import { digest, type RunContext } from "./context";
import { EnvelopeElementScanner } from "./json";
import { checkLiveRoomKeys } from "./rooms";
import { APPEND, HSCAN, HSET_MANY, READ_RANGE, SNAPSHOT, STAGE_AND_MATCH } from "./scripts";
import { streamLiveRoomJson } from "../db/queries/room-reconciliation";
import { cachedRoomSchema } from "../rooms/validation";

/** Scratch keys outlive a crashed run by at most this long. */
const SCRATCH_TTL_MS = 10 * 60_000;
/** Bytes of rooms:all read per round trip. */
const CHUNK_BYTES = 512 * 1024;

const skeletonSchema = z.object({ v: z.number().int().nonnegative(), at: z.string(), data: z.array(z.unknown()).length(0) });

/**
 * rooms:all against Postgres in bounded memory. The cached list is streamed in chunks
 * into a scratch hash in Redis (id to the element's JSON). Then one pass over the live list,
 * from one statement through a cursor, matches each room against the hash (what is left
 * over is listed but not live) and, at the same time, stages the replacement value in
 * Redis. A list that is missing, corrupt or different is replaced by the staged value
 * through the same generation guard as the read path; otherwise the staging is dropped.
 */
export async function reconcileList(ctx: RunContext): Promise<void> {
  const { store, keys, ttls, tally } = ctx;
  const key = keys.roomsAll;
  const [snapshot, diff, staging] = [keys.snapshot(key), keys.diff(key), keys.staging(key)];
  const [length, generation] = (await store.eval(SNAPSHOT, [key, snapshot, keys.gen(key), diff, staging, keys.liveIds(key)], [SCRATCH_TTL_MS, randomUUID(), GEN_TTL_SECONDS])) as [
    number,
    string,
  ];
  let state: "missing" | "corrupt" | "loaded" = length === -1 ? "missing" : length === -2 ? "corrupt" : "loaded";
  try {
    if (state === "loaded" && !(await loadCachedList(ctx, snapshot, diff, Number(length)))) state = "corrupt";
    await store.del([snapshot]);
    const { drift, version } = await passOverLiveList(ctx, state === "loaded" ? diff : null, ctx.dryRun ? null : staging);
    if (state === "corrupt") tally.corrupt++;
    if (state === "loaded" && drift) {
      // A room that differs in its room:{id} key too counts once.
      tally.added += drift.added;
      countOnce(drift.modified, tally.counted.modified, () => tally.modified++);
      countOnce(drift.removed, tally.counted.removed, () => tally.removed++);
      if (drift.added + drift.modified.length + drift.removed.length === 0) return;
    }
    tally.listRebuilt = true;
    if (ctx.dryRun) return;
    await ctx.hooks.beforeRepair?.({ phase: "list", keys: [key] });
    const call = populateStagedCall(keys, { key, generation, version, ttlSeconds: ttls.roomsAll, staleTtlSeconds: ttls.stale });
    const [result] = await store.evalMany(CACHE_SCRIPTS.populateStaged, [call]);
    if (Number(result) === 0) tally.refused++;
    // 2: the cached list claims a version newer than Postgres has; no populate will ever replace it.
    if (Number(result) === 2) await store.evalMany(CACHE_SCRIPTS.invalidate, [invalidateCall(keys, key)]);
  } finally {
    await store.del([snapshot, diff, staging]);
  }
}

function countOnce(ids: string[], counted: Set<string>, count: () => void): void {
  for (const id of ids) {
    if (counted.has(id)) continue;
    counted.add(id);
    count();
  }
}

/** How the cached list differs from the live one (ids kept only for rooms that differ). */
interface Drift {
  added: number;
  modified: string[];
  removed: string[];
}

/** Streams the snapshot into the diff hash. False when the value is not a valid, ordered list. */
async function loadCachedList(ctx: RunContext, snapshot: string, diff: string, length: number): Promise<boolean> {
  const { store, batchSize } = ctx;
  const scanner = new EnvelopeElementScanner();
  let pairs: string[] = [];
  let valid = true;
  let previousCreated = Infinity;
  // One write and one read in flight while this process parses: Redis works while we do.
  let writing: Promise<void> = Promise.resolve();
  const flush = async () => {
    const batch = pairs;
    pairs = [];
    await writing;
    if (batch.length === 0) return;
    writing = store.eval(HSET_MANY, [diff], [SCRATCH_TTL_MS, batch.join("\n")]).then((added) => {
      if (Number(added) !== batch.length / 2) valid = false; // an id listed twice
    });
  };
  const read = (offset: number) => store.eval(READ_RANGE, [snapshot], [offset, offset + CHUNK_BYTES - 1]) as Promise<[string, number]>;
  let next = length > 0 ? read(0) : undefined;
  for (let offset = 0; next && valid && !scanner.malformed; ) {
    const [text, bytes] = await next;
    offset += Number(bytes);
    next = offset < length ? read(offset) : undefined;
    scanner.push(text, (json) => {
      if (!valid) return;
      // Each element validated as the read path would (so what the pass later finds to
      // differ is a valid room that changed), and kept as the digest of its exact text.
      let room;
      try {
        room = cachedRoomSchema.safeParse(JSON.parse(json));
      } catch {
        valid = false;
        return;
      }
      // The read path lists newest first; a list out of that order was not written by it.
      if (!room.success || room.data.createdAt.getTime() > previousCreated) {
        valid = false;
        return;
      }
      previousCreated = room.data.createdAt.getTime();
      pairs.push(room.data.id, digest(json));
    });
    if (pairs.length >= batchSize * 2) await flush();
    ctx.signal?.throwIfAborted();
  }
  await next?.catch(() => {});
  await flush();
  await writing;
  const skeleton = valid ? scanner.finish() : undefined;
  if (skeleton === undefined) return false;
  try {
    return skeletonSchema.safeParse(JSON.parse(skeleton)).success;
  } catch {
    return false;
  }
}

/**
 * One pass over the live list (one statement, one snapshot, a cursor): each batch is
 * staged and matched against the diff hash by one script (which also records the live
 * ids for the stale-key pass), and the batch's room:{id} keys are checked, while the
 * cursor already fetches the next batch. Returns the differences (undefined without a
 * hash) and the version the list was read at.
 */
async function passOverLiveList(ctx: RunContext, diff: string | null, staging: string | null) {
  const { store, keys } = ctx;
  const at = new Date().toISOString();
  const drift: Drift = { added: 0, modified: [], removed: [] };
  let first = true;
  let inflight: Promise<void> = Promise.resolve();
  const stage = (text: string, pairs: string[]) => {
    const mode = staging ? (first ? "first" : "next") : "none";
    first = false;
    const scriptKeys = [staging ?? keys.staging(keys.roomsAll), diff ?? keys.diff(keys.roomsAll), keys.liveIds(keys.roomsAll)];
    return store.eval(STAGE_AND_MATCH, scriptKeys, [mode, text, SCRATCH_TTL_MS, diff ? "1" : "0", pairs.join("\n")]).then((reply) => {
      const differs = reply as string[];
      // Every listed element was validated on the way in: a different digest is a modified room.
      for (let i = 0; i < differs.length; i += 2) {
        if (differs[i + 1] === "") drift.added++;
        else drift.modified.push(differs[i]!);
      }
    });
  };
  const streaming = streamLiveRoomJson(ctx.db, ctx.batchSize, async (rooms, listVersion) => {
    const pairs: string[] = [];
    const jsons: string[] = [];
    for (const r of rooms) {
      pairs.push(r.id, digest(r.json));
      jsons.push(r.json);
    }
    const previous = inflight;
    // The same rows, against their room:{id} keys (each live room is read from Postgres once
    // per run); and, byte for byte, what encodeEnvelope(listVersion, rooms) writes, a batch at a time.
    const keysChecked = checkLiveRoomKeys(ctx, rooms);
    const text = (first ? `{"v":${listVersion},"at":"${at}","data":[` : ",") + jsons.join(",");
    const staged = stage(text, pairs);
    inflight = Promise.all([keysChecked, staged]).then(() => {});
    inflight.catch(() => {}); // awaited with the next batch or after the last
    // At most two batches in flight: this one's checks run while the cursor fetches the next.
    await previous;
    ctx.tally.listChecked += rooms.length;
    ctx.signal?.throwIfAborted();
    await ctx.progress("list");
  });
  let version: number;
  try {
    version = await streaming;
  } finally {
    // Nothing of this pass may still be writing once the run moves on (or cleans up after a failure).
    await inflight.catch(() => {});
  }
  await inflight;
  if (staging) {
    const head = first ? `{"v":${version},"at":"${at}","data":[` : "";
    await store.eval(APPEND, [staging], [`${head}]}`, first ? "1" : "0", SCRATCH_TTL_MS]);
  }
  if (diff) await collectLeftovers(ctx, diff, drift);
  return { drift: diff ? drift : undefined, version };
}

/** What the hash still holds is listed but not live: deleted, or never existed. */
async function collectLeftovers(ctx: RunContext, diff: string, drift: Drift): Promise<void> {
  const seen = new Set<string>();
  let cursor = "0";
  do {
    const [next, flat] = (await ctx.store.eval(HSCAN, [diff], [cursor, ctx.batchSize])) as [string, string[]];
    for (let i = 0; i < flat.length; i += 2) seen.add(flat[i]!); // HSCAN may repeat a field
    cursor = String(next);
  } while (cursor !== "0");
  drift.removed.push(...seen);
}
