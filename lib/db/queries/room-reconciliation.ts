import { and, isNull, sql } from "drizzle-orm";
import type { Readable } from "node:stream";
import type postgres from "postgres";
import type { Db } from "../client";
import type { PackedRooms } from "./copy-rows";
import { listThread } from "./copy-rows-thread";
import { roomColumns, type Room } from "./rooms";
import { rooms } from "../schema";

/*
 * The reconciler's queries: live rooms by id, and one cursor over the list snapshot.
 */


const prepared = new WeakMap<Db, ReturnType<typeof prepare>>();
function prepare(db: Db) {
  // One array parameter (`= any($1)`) rather than `in ($1..$n)`: one plan for every batch size.
  return db
    .select(roomColumns)
    .from(rooms)
    .where(and(sql`${rooms.id} = any(${sql.placeholder("ids")}::uuid[])`, isNull(rooms.deletedAt)))
    .prepare("rooms_live_by_ids");
}

/** The live rooms among `ids` (ids must be UUIDs); deleted and unknown ids are simply absent. */
export async function liveRoomsByIds(db: Db, ids: string[]): Promise<Room[]> {
  if (ids.length === 0) return [];
  let statement = prepared.get(db);
  if (!statement) prepared.set(db, (statement = prepare(db)));
  return statement.execute({ ids });
}

/**
 * Of `ids` (UUIDs), those that are not live rooms: deleted, or never existed. One indexed
 * lookup per id, and only the answer's rows travel back. The activity pass asks it of the
 * members the list pass did not find live.
 */
export async function notLiveAmong(db: Db, ids: string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const client = (db as Db & { $client: postgres.Sql }).$client;
  const rows = await client<{ id: string }[]>`
    select x::text as id from unnest(${ids}::uuid[]) as x
    where not exists (select 1 from rooms r where r.id = x and r.deleted_at is null)`;
  return rows.map((r) => r.id);
}

/** A live room as the list pass needs it: its id, its version, and its JSON as the read path caches it. */
export interface LiveRoomJson {
  id: string;
  version: number;
  /** JSON.stringify of the room exactly as `listLiveRoomsWithVersion` returns it. */
  json: string;
  /** createdAt in ms: the list's order. */
  createdMs: number;
  /**
   * Last activity in ms, as `{rooms:all}:activity` scores it: last message, else creation.
   * floor, not a cast: a cast to bigint rounds the microseconds, while the app's writers
   * score with a JS Date, which truncates them; rounding would make every other room look
   * one millisecond behind.
   */
  activityAt: number;
  /** The JSON's length in UTF-8 bytes (the list pass stages it at byte offsets). */
  bytes: number;
}

/** A batch of live rooms, with their JSON as UTF-8 in order, a comma between (the list pass stages these bytes). */
type OnBatch = (rooms: LiveRoomJson[], listVersion: number, bytes: Buffer) => Promise<void>;

/** The live list, the read path's statement (`listLiveRoomsWithVersion`) in COPY's text format. */
const LIVE_LIST_COPY = `copy (
  select id, name, description, owner_id, owner_name, version, created_at, updated_at,
         floor(extract(epoch from coalesce(last_activity_at, created_at)) * 1000)::bigint,
         (select max(version) from rooms)
  from rooms where deleted_at is null
  order by created_at desc, id desc
) to stdout`;

/**
 * The live list in the read path's order (newest first), with the version it was read at,
 * from ONE statement and so one snapshot, exactly as `listLiveRoomsWithVersion` reads it,
 * but streamed: `onBatch` gets `batchSize` rooms at a time, so a list of any length passes
 * through bounded memory (the socket is paused while a batch is handled). Each room comes
 * as the JSON the read path would cache for it.
 *
 * The rows travel as COPY's text format, a line per row: Postgres's own output of each
 * column, as the query protocol would send it, with tabs between and a few characters
 * escaped. This pass handles every room, every run, and parsing the protocol's rows (ten
 * columns each) was the reconciler's largest cost: 5-6 s of CPU per million rooms,
 * against ~2 s for the lines. The lines are parsed in the list thread (copy-rows-thread.ts),
 * beside this one. Returns the list version, or, for an empty list, the table's largest
 * version.
 */
export async function streamLiveRoomJson(
  db: Db,
  batchSize: number,
  onBatch: OnBatch,
): Promise<number> {
  // drizzle exposes no COPY; its postgres.js client (created by lib/db/client.ts) does. It
  // runs in a read-only transaction of its own, which holds its connection: postgres.js
  // would otherwise pipeline other queries onto the COPY's connection. Not `reserve()`: a
  // reserved connection that drops is handed back to the pool, dead, on release, and every
  // later query fails on it (found by the torture run's Postgres outage).
  const client = (db as Db & { $client: postgres.Sql }).$client;
  return client.begin("read only", async (tx) => {
    const listVersion = await copyLiveList(tx, batchSize, onBatch);
    if (listVersion !== undefined) return listVersion;
    const [head] = await tx<{ version: string | null }[]>`select max(version) as version from rooms`;
    return Number(head?.version ?? 0);
  });
}

async function copyLiveList(
  connection: postgres.TransactionSql,
  batchSize: number,
  onBatch: OnBatch,
): Promise<number | undefined> {
  const query = connection.unsafe(LIVE_LIST_COPY);
  const stream = await query.readable();
  try {
    return await readLiveList(stream, batchSize, onBatch);
  } finally {
    // postgres.js pauses the socket when a row fills the stream's buffer and does not resume
    // it if the COPY ends in the same read (porsager/postgres#499, #1016): the connection's
    // next query would wait for good. The stream's read hook resumes the socket.
    // (After the connection has dropped there is no socket left to resume.)
    try {
      (stream as unknown as { _read(size: number): void })._read(0);
    } catch {}
  }
}

/** COPY text handed to the list thread at a time. */
const CHUNK_BYTES = 256 * 1024;
/** Chunks with the list thread at once: it parses ahead while this thread handles batches. */
const CHUNKS_AHEAD = 4;

async function readLiveList(stream: Readable, batchSize: number, onBatch: OnBatch): Promise<number | undefined> {
  const copy = listThread.open(batchSize);
  const handOn = async ({ batches }: { batches: PackedRooms[] }) => {
    for (const batch of batches) {
      const bytes = Buffer.from(batch.bytes.buffer, batch.bytes.byteOffset, batch.bytes.length);
      await onBatch(unpack(batch, bytes), batch.listVersion, bytes);
    }
  };
  try {
    let chunks: Buffer[] = [];
    let bytes = 0;
    // Not destroyed when the loop ends early: the rest must still be read (below).
    for await (const chunk of stream.iterator({ destroyOnReturn: false })) {
      chunks.push(chunk as Buffer);
      bytes += (chunk as Buffer).length;
      if (bytes < CHUNK_BYTES) continue;
      copy.send(chunks, bytes);
      [chunks, bytes] = [[], 0];
      // Hands on what the thread has parsed; waits for it only when it holds CHUNKS_AHEAD.
      while (copy.ready || copy.outstanding >= CHUNKS_AHEAD) await handOn(await copy.take());
    }
    if (bytes > 0) copy.send(chunks, bytes);
    copy.end();
    for (;;) {
      const reply = await copy.take();
      await handOn(reply);
      if (reply.done) return reply.done.listVersion;
    }
  } catch (error) {
    // The rest is read and dropped: until the COPY ends the connection can run nothing else.
    // Not cancelled: a cancel request that arrived after the COPY had ended would cancel
    // whatever the connection runs next.
    await (async () => {
      for await (const _ of stream.iterator({ destroyOnReturn: false }));
    })().catch(() => {});
    throw error;
  } finally {
    copy.close();
  }
}

/**
 * A packed batch as rooms (`bytes`: its bytes as a Buffer), each room's JSON decoded from
 * its slice (a small string of its own: young-generation garbage once the batch is done); a
 * room's JSON starts `{"id":"`, and a uuid's text is 36 characters.
 */
function unpack(batch: PackedRooms, bytes: Buffer): LiveRoomJson[] {
  const { starts, versions, createdMs, activity, ascii } = batch;
  const rooms: LiveRoomJson[] = new Array(versions.length);
  for (let i = 0; i < rooms.length; i++) {
    const [from, to] = [starts[i]!, starts[i + 1]! - 1];
    const json = bytes.toString(ascii ? "latin1" : "utf8", from, to);
    rooms[i] = { id: json.slice(7, 43), version: versions[i]!, json, createdMs: createdMs[i]!, activityAt: activity[i]!, bytes: to - from };
  }
  return rooms;
}

/**
 * The conversation version (rooms.message_version) of the live rooms among `ids` (UUIDs);
 * deleted and unknown rooms are absent. The messages pass compares cached
 * `messages:{id}` envelopes with it, and the activity pass uses it to tell live members.
 */
export async function liveMessageVersions(db: Db, ids: string[]): Promise<{ id: string; messageVersion: number }[]> {
  if (ids.length === 0) return [];
  let statement = preparedVersions.get(db);
  if (!statement) preparedVersions.set(db, (statement = prepareVersions(db)));
  const rows = await statement.execute({ ids });
  return rows.map((r) => ({ id: r.id, messageVersion: Number(r.messageVersion) }));
}

// Prepared with one array parameter, like rooms_live_by_ids: a thousand `in` parameters cost
// more to build (in drizzle) and to plan (in Postgres) than the lookup itself.
const preparedVersions = new WeakMap<Db, ReturnType<typeof prepareVersions>>();
function prepareVersions(db: Db) {
  return db
    .select({ id: rooms.id, messageVersion: rooms.messageVersion })
    .from(rooms)
    .where(and(sql`${rooms.id} = any(${sql.placeholder("ids")}::uuid[])`, isNull(rooms.deletedAt)))
    .prepare("rooms_live_message_versions");
}
