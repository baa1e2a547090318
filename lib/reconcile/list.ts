import { randomUUID } from "node:crypto";
import { z } from "zod";
import { GEN_TTL_SECONDS } from "../cache/keys";
import { CACHE_SCRIPTS, invalidateCall, populateStagedCall } from "../cache/protocol";
import { liveRoomsByIds, streamLiveRoomJson, type LiveRoomJson } from "../db/queries/room-reconciliation";
import { cachedRoomSchema } from "../rooms/validation";
import { digest, type RunContext } from "./context";
import { EnvelopeReader } from "./json";
import { checkLiveRoomKeys } from "./rooms";
import { FINISH, READ_RANGE, SNAPSHOT, STAGE } from "./scripts";

/** Scratch keys outlive a crashed run by at most this long. */
const SCRATCH_TTL_MS = 10 * 60_000;
/** Bytes of rooms:all read per round trip. */
const CHUNK_BYTES = 512 * 1024;
/**
 * Chunk reads in flight while this process compares: the SCANs beside the list pass queue
 * on Redis too, and one read at a time left the merge waiting behind them.
 */
const CHUNKS_AHEAD = 4;

const skeletonSchema = z.object({ v: z.number().int().nonnegative(), at: z.string(), data: z.array(z.unknown()).length(0) });

/*
 * rooms:all against Postgres in bounded memory, as a merge of two streams in one order.
 *
 * The read path writes the list from one statement, newest created first (`created_at
 * desc, id desc`), each room as JSON.stringify of its row. The list pass reads the live
 * list from the same statement through a cursor, and the cached list in chunks (through
 * a snapshot copy, so it is one value even if the key is replaced meanwhile); each live
 * room's JSON is set against the cached element at the same place. An unchanged room is
 * the same text at the same place: one string comparison, no parsing, no hashing. Only
 * where they differ is the cached element parsed and validated (as the read path would),
 * and the two streams are realigned by the order: the side that comes first is set aside
 * (id and a digest of its text), and an id set aside on both sides is one room out of
 * place (modified if its text differs). What is still set aside at the end is drift:
 * listed only (removed), live only (added). So memory is a few chunks, one batch and the
 * drift, whatever the number of rooms.
 *
 * The same pass stages the replacement value in Redis, records the live ids and their
 * activity (in this process: live-ids.ts) for the key and activity passes beside it, and
 * checks the batch's room:{id} keys. A list that is missing, corrupt or
 * different is replaced by the staged value through the same generation guard as the read
 * path; otherwise the staging is dropped.
 */
export async function reconcileList(ctx: RunContext): Promise<void> {
  const { store, keys, ttls, tally } = ctx;
  const key = keys.roomsAll;
  const [snapshot, staging] = [keys.snapshot(key), keys.staging(key)];
  const [length, generation] = (await store.eval(SNAPSHOT, [key, snapshot, keys.gen(key), staging], [SCRATCH_TTL_MS, randomUUID(), GEN_TTL_SECONDS])) as [
    number,
    string,
  ];
  let state: "missing" | "corrupt" | "loaded" = length === -1 ? "missing" : length === -2 ? "corrupt" : "loaded";
  const cached = state === "loaded" ? new CachedList(ctx, snapshot, Number(length)) : null;
  try {
    const { merge, version } = await passOverLiveList(ctx, cached, ctx.dryRun ? null : staging);
    await store.del([snapshot]);
    const drift = merge ? await settle(ctx, merge) : undefined;
    if (state === "loaded" && !drift) state = "corrupt";
    if (state === "corrupt") tally.corrupt++;
    if (state === "loaded" && drift) {
      // A room that differs in its room:{id} key too counts once.
      tally.added += drift.added;
      countOnce(drift.modified, tally.counted.modified, () => tally.modified++);
      countOnce(drift.removed, tally.counted.removed, () => tally.removed++);
      if (!drift.differs) return;
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
    await cached?.close();
    await store.del([snapshot, staging]);
  }
}

function countOnce(ids: string[], counted: Set<string>, count: () => void): void {
  for (const id of ids) {
    if (counted.has(id)) continue;
    counted.add(id);
    count();
  }
}

/** The cached list's elements, a chunk at a time, each as its exact JSON text. */
class CachedList {
  private readonly reader = new EnvelopeReader();
  /** Where the next read starts: chunks are CHUNK_BYTES apart (READ_RANGE moves each cut to a character's start). */
  private start = 0;
  /** Reads in flight, in order. */
  private readonly reads: Promise<[string, number]>[] = [];

  constructor(
    private readonly ctx: RunContext,
    private readonly snapshot: string,
    private readonly length: number,
  ) {
    this.readAhead();
  }

  /** Keeps CHUNKS_AHEAD reads in flight. */
  private readAhead(): void {
    while (this.reads.length < CHUNKS_AHEAD && this.start < this.length) {
      const reading = this.ctx.store.eval(READ_RANGE, [this.snapshot], [this.start, CHUNK_BYTES]) as Promise<[string, number]>;
      reading.catch(() => {}); // awaited by fill() or close()
      this.reads.push(reading);
      this.start += CHUNK_BYTES;
    }
  }

  /** Consumes the next element when it is exactly `json` (no await, nothing cut out: an unchanged room). */
  take(json: string): boolean {
    return this.reader.take(json);
  }

  /** The current element, when one is buffered (no await on the common path). */
  current(): string | undefined {
    return this.reader.peek() ?? undefined;
  }

  /** Reads chunks until an element is buffered; undefined at the end or on malformed JSON. */
  async fill(): Promise<string | undefined> {
    for (;;) {
      const element = this.reader.peek();
      if (element !== undefined) return element ?? undefined;
      const reading = this.reads.shift();
      if (!reading) return undefined;
      const [text, bytes] = await reading;
      if (Number(bytes) <= 0) throw new Error("rooms:all snapshot ended early (expired during the run?)");
      // Reads stay in flight while this process compares: Redis works while we do.
      this.readAhead();
      this.reader.push(text, this.reads.length === 0);
    }
  }

  advance(): void {
    this.reader.advance();
  }

  /** The envelope without its elements, once every chunk is read; undefined when malformed. */
  skeleton(): string | undefined {
    return this.reader.skeleton();
  }

  async close(): Promise<void> {
    const reads = this.reads.splice(0);
    await Promise.allSettled(reads);
  }
}

/** Where the two streams disagree, as the merge goes. */
interface Merge {
  /** Anything in the cached list that is not exactly where the rebuilt list has it. */
  differs: boolean;
  /** The cached list is not one the read path wrote (does not parse or validate, out of order, an id twice). */
  invalid: boolean;
  /** Listed, not (yet) found live: id → digest of its text. */
  listedOnly: Map<string, string>;
  /** Live, not (yet) found listed: id → digest of its text. */
  liveOnly: Map<string, string>;
  modified: string[];
  /** createdAt (ms) of the previous cached element, or the live room it matched (read when needed). */
  previous: number | LiveRoomJson;
  skeleton?: string;
}

interface Drift {
  differs: boolean;
  added: number;
  modified: string[];
  removed: string[];
}

/** A cached element that differs from its live counterpart, parsed and validated as the read path would. */
function parseElement(json: string): { id: string; ms: number } | undefined {
  try {
    const room = cachedRoomSchema.safeParse(JSON.parse(json));
    return room.success ? { id: room.data.id, ms: room.data.createdAt.getTime() } : undefined;
  } catch {
    return undefined;
  }
}

const msOf = (previous: number | LiveRoomJson) => (typeof previous === "number" ? previous : previous.createdMs);

/** Sets a cached element aside (or pairs it with a live room set aside earlier). */
function setListedAside(m: Merge, id: string, json: string): void {
  m.differs = true;
  const live = m.liveOnly.get(id);
  if (live !== undefined) {
    m.liveOnly.delete(id);
    if (live !== digest(json)) m.modified.push(id);
  } else if (m.listedOnly.has(id)) {
    m.invalid = true; // listed twice
  } else {
    m.listedOnly.set(id, digest(json));
  }
}

/**
 * The id as a string of its own: a live room's id is a slice of its JSON, and a slice keeps
 * the whole text alive (the drift is kept to the end of the pass).
 */
const own = (id: string) => (" " + id).slice(1);

/** Sets a live room aside (or pairs it with a cached element set aside earlier). */
function setLiveAside(m: Merge, room: LiveRoomJson): void {
  m.differs = true;
  const listed = m.listedOnly.get(room.id);
  if (listed !== undefined) {
    m.listedOnly.delete(room.id);
    if (listed !== digest(room.json)) m.modified.push(own(room.id));
  } else {
    m.liveOnly.set(own(room.id), digest(room.json));
  }
}

/**
 * The next cached element, parsed, in order after the previous one; undefined (and the
 * merge marked invalid) when it does not validate or breaks the newest-first order.
 */
function orderedElement(m: Merge, json: string): { id: string; ms: number } | undefined {
  const element = parseElement(json);
  if (!element || element.ms > msOf(m.previous)) {
    m.invalid = true;
    return undefined;
  }
  m.previous = element.ms;
  return element;
}

/** Sets `room` against the cached list at the merge's position. */
async function mergeRoom(m: Merge, cached: CachedList, room: LiveRoomJson): Promise<void> {
  // The common case: the cached element here is this room's text.
  if (!m.invalid && cached.take(room.json)) {
    m.previous = room;
    return;
  }
  for (;;) {
    if (m.invalid) return;
    const json = cached.current() ?? (await cached.fill());
    if (json === undefined) {
      setLiveAside(m, room);
      return;
    }
    if (json === room.json) {
      cached.advance();
      m.previous = room;
      return;
    }
    const element = orderedElement(m, json);
    if (!element) return;
    if (element.id === room.id) {
      cached.advance();
      m.differs = true;
      m.modified.push(own(room.id));
      return;
    }
    const roomMs = room.createdMs;
    if (element.ms > roomMs || (element.ms === roomMs && element.id > room.id)) {
      // The cached element comes first: listed here, not live here.
      cached.advance();
      setListedAside(m, element.id, json);
      continue;
    }
    setLiveAside(m, room);
    return;
  }
}

/** The cached elements after the last live room: listed, not live. */
async function drainListed(m: Merge, cached: CachedList): Promise<void> {
  for (;;) {
    if (m.invalid) return;
    const json = cached.current() ?? (await cached.fill());
    if (json === undefined) break;
    cached.advance();
    const element = orderedElement(m, json);
    if (!element) return;
    setListedAside(m, element.id, json);
  }
  m.skeleton = cached.skeleton();
}

/**
 * The drift, once both streams are done; undefined when the cached list is not one the read
 * path wrote. A room listed but not found live that Postgres has live was listed twice.
 */
async function settle(ctx: RunContext, m: Merge): Promise<Drift | undefined> {
  if (m.invalid || m.skeleton === undefined) return undefined;
  try {
    if (!skeletonSchema.safeParse(JSON.parse(m.skeleton)).success) return undefined;
  } catch {
    return undefined;
  }
  const removed = [...m.listedOnly.keys()];
  for (let i = 0; i < removed.length; i += ctx.batchSize) {
    if ((await liveRoomsByIds(ctx.db, removed.slice(i, i + ctx.batchSize))).length > 0) return undefined;
  }
  return { differs: m.differs, added: m.liveOnly.size, modified: m.modified, removed };
}

/**
 * Batches whose Redis work (staging, room:{id} checks) may be in flight at once:
 * enough that this process seldom waits for Redis, nor Redis for it (at 1M rooms, 4 left
 * the pass waiting on Redis for 10 of its 24 s); ~0.7 MB each.
 */
const WINDOW = 12;

/**
 * One pass over the live list (one statement, one snapshot, streamed): each batch is merged
 * against the cached list, its ids recorded as live (with their activity), staged, and its
 * room:{id} keys are checked; up to WINDOW batches' Redis work is in
 * flight at once. Returns the merge (undefined without a cached list) and the version the
 * list was read at.
 */
async function passOverLiveList(ctx: RunContext, cached: CachedList | null, staging: string | null) {
  const { store } = ctx;
  const at = new Date().toISOString();
  const merge: Merge | undefined = cached
    ? { differs: false, invalid: false, listedOnly: new Map(), liveOnly: new Map(), modified: [], previous: Infinity }
    : undefined;
  // Bytes staged so far: each batch is written at its own offset.
  let offset = 0;
  const inflight: Promise<void>[] = [];
  const streaming = streamLiveRoomJson(ctx.db, ctx.batchSize, async (rooms, listVersion, bytes) => {
    if (merge && cached) for (const room of rooms) await mergeRoom(merge, cached, room);
    for (const r of rooms) ctx.live.add(r.id, r.activityAt);
    // Byte for byte what encodeEnvelope(listVersion, rooms) writes, a batch at a time: the
    // head (ASCII: a number and an ISO time), then the rooms' JSON with commas between, as
    // the list thread encoded it; a later batch's head is the comma before its first room.
    // The bytes are staged, and the rooms' keys are compared with them.
    const head = offset === 0 ? `{"v":${listVersion},"at":"${at}","data":[` : ",";
    const encoded = Buffer.concat([Buffer.from(head), bytes]);
    const staged = staging ? store.eval(STAGE, [staging], [offset, encoded, SCRATCH_TTL_MS]) : undefined;
    offset += encoded.length;
    // The same rows, against their room:{id} keys (each live room is read from Postgres once per run).
    const work = Promise.all([checkLiveRoomKeys(ctx, rooms, encoded, head.length), staged]).then(() => {});
    work.catch(() => {}); // awaited below or after the last batch
    inflight.push(work);
    if (inflight.length >= WINDOW) await inflight.shift();
    ctx.tally.listChecked += rooms.length;
    ctx.signal?.throwIfAborted();
    await ctx.progress("list");
  });
  let version: number;
  try {
    version = await streaming;
    ctx.live.finish();
  } finally {
    // Nothing of this pass may still be writing once the run moves on (or cleans up after a failure).
    await Promise.allSettled(inflight);
  }
  await Promise.all(inflight);
  if (merge && cached) await drainListed(merge, cached);
  if (staging) {
    const head = offset === 0 ? `{"v":${version},"at":"${at}","data":[` : "";
    await store.eval(FINISH, [staging], [`${head}]}`, offset, SCRATCH_TTL_MS]);
  }
  return { merge, version };
}
