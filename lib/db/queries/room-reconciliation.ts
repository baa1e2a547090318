import { and, isNull, sql } from "drizzle-orm";
import type { Readable } from "node:stream";
import type postgres from "postgres";
import type { Db } from "../client";
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
  /** createdAt as the JSON holds it (ISO-8601, milliseconds): the list's order. */
  createdAt: string;
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
 * against ~2 s for the lines. Returns the list version, or, for an empty list, the table's
 * largest version.
 */
export async function streamLiveRoomJson(
  db: Db,
  batchSize: number,
  onBatch: (rooms: LiveRoomJson[], listVersion: number) => Promise<void>,
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
  onBatch: (rooms: LiveRoomJson[], listVersion: number) => Promise<void>,
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

async function readLiveList(
  stream: Readable,
  batchSize: number,
  onBatch: (rooms: LiveRoomJson[], listVersion: number) => Promise<void>,
): Promise<number | undefined> {
  let listVersion: number | undefined;
  let batch: LiveRoomJson[] = [];
  let rest: Buffer | null = null;
  try {
    // Not destroyed when the loop ends early: the rest must still be read (below).
    for await (const chunk of stream.iterator({ destroyOnReturn: false })) {
      const bytes: Buffer = rest ? Buffer.concat([rest, chunk as Buffer]) : (chunk as Buffer);
      let start = 0;
      // A line at a time, each decoded on its own: a newline byte is never inside a UTF-8
      // character, and a room's strings (the id the drift maps keep) then hold on to their
      // own line, not to a whole chunk of the list.
      for (let end = bytes.indexOf(10); end !== -1; end = bytes.indexOf(10, start)) {
        const line = bytes.toString("utf8", start, end);
        const f = copyFields(line);
        start = end + 1;
        listVersion ??= Number(f[9]);
        // A line of as many characters as bytes is ASCII, and so is its JSON (escapes are ASCII).
        batch.push(toRoomJson(f, line.length === end - start));
        if (batch.length === batchSize) {
          const full = batch;
          batch = [];
          await onBatch(full, listVersion);
        }
      }
      rest = start < bytes.length ? bytes.subarray(start) : null;
    }
    if (rest) throw new Error("the live list's COPY ended inside a row");
    if (batch.length > 0) await onBatch(batch, listVersion!);
  } catch (error) {
    // The rest is read and dropped: until the COPY ends the connection can run nothing else.
    // Not cancelled: a cancel request that arrived after the COPY had ended would cancel
    // whatever the connection runs next.
    await (async () => {
      for await (const _ of stream.iterator({ destroyOnReturn: false }));
    })().catch(() => {});
    throw error;
  }
  return listVersion;
}

/**
 * One line of COPY's text format as its fields: tab-separated; inside a field a backslash
 * escapes itself, the tab and newline it stands for, and a few control characters (COPY TO
 * emits no other sequence); `\N` alone is NULL (no column here is nullable).
 */
export function copyFields(line: string): string[] {
  const fields = line.split("\t");
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i]!;
    if (field.includes("\\")) fields[i] = field.replace(/\\(.)/g, (_, c: string) => COPY_ESCAPES[c] ?? c);
  }
  return fields;
}

const COPY_ESCAPES: Record<string, string> = { b: "\b", f: "\f", n: "\n", r: "\r", t: "\t", v: "\v" };

/**
 * JSON.stringify of the read path's row, written out: the keys in the order of its rooms
 * (lib/db/queries/rooms.ts, roomColumns), since JSON text depends on it. Building the object
 * and stringifying it was twice the time, and this runs for every room, every run.
 */
function toRoomJson(f: string[], ascii: boolean): LiveRoomJson {
  const version = rooms.version.mapFromDriverValue(f[5] as unknown as number) as number;
  const createdAt = isoTimestamp(f[6]!);
  // id is a uuid column (hex and hyphens), version a number, the times ISO text: none needs escaping.
  const json = `{"id":"${f[0]}","name":${jsonString(f[1]!)},"description":${jsonString(f[2]!)},"ownerId":${jsonString(f[3]!)},"ownerName":${jsonString(f[4]!)},"version":${version},"createdAt":"${createdAt}","updatedAt":"${isoTimestamp(f[7]!)}"}`;
  return { id: f[0]!, version, json, createdAt, activityAt: Number(f[8]), bytes: ascii ? json.length : Buffer.byteLength(json) };
}

/** What JSON.stringify escapes: quote, backslash, control characters, surrogates (lone ones; pairs are merely passed on to it). */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** JSON.stringify(text), without its call for text that needs no escape (most names). */
const jsonString = (text: string) => (NEEDS_ESCAPE.test(text) ? JSON.stringify(text) : `"${text}"`);

const PG_UTC = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?\+00$/;

/**
 * What `JSON.stringify(new Date(text))` gives for a timestamptz as postgres.js hands it
 * over (drizzle turns off its date parsing), without building the Date: for the common
 * UTC form the milliseconds are the first three fraction digits (a Date truncates, it does
 * not round); any other form goes through Date exactly as drizzle's mapper does.
 */
export function isoTimestamp(value: string | Date): string {
  if (typeof value !== "string") return value.toISOString();
  // The usual case, microseconds in full (`2026-12-07 13:25:32.561234+00`: the one form of 29 characters), by position.
  if (value.length === 29 && PG_UTC.test(value)) {
    return `${value.slice(0, 10)}T${value.slice(11, 23)}Z`;
  }
  const m = PG_UTC.exec(value);
  if (!m) return (rooms.createdAt.mapFromDriverValue(value) as Date).toISOString();
  return `${m[1]}T${m[2]}.${((m[3] ?? "") + "000").slice(0, 3)}Z`;
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
