import { and, isNull, sql } from "drizzle-orm";
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
}

/**
 * The live list in the read path's order (newest first), with the version it was read at,
 * from ONE statement and so one snapshot, exactly as `listLiveRoomsWithVersion` reads it,
 * but through a cursor: `onBatch` gets `batchSize` rooms at a time, so a list of any
 * length passes through bounded memory. Each room comes as the JSON the read path would
 * cache for it (no Date objects on the way: this pass handles every room, every run).
 * Returns the list version, or, for an empty list, the table's largest version.
 */
export async function streamLiveRoomJson(
  db: Db,
  batchSize: number,
  onBatch: (rooms: LiveRoomJson[], listVersion: number) => Promise<void>,
): Promise<number> {
  // drizzle exposes no cursor; its postgres.js client (created by lib/db/client.ts) does.
  const client = (db as Db & { $client: postgres.Sql }).$client;
  let listVersion: number | undefined;
  const rows = client<LiveRow[]>`
    select id, name, description, owner_id, owner_name, version, created_at, updated_at,
           floor(extract(epoch from coalesce(last_activity_at, created_at)) * 1000)::bigint as activity_at,
           (select max(version) from rooms) as list_version
    from rooms where deleted_at is null
    order by created_at desc, id desc`.cursor(batchSize);
  const cursor = rows[Symbol.asyncIterator]();
  let next = cursor.next();
  try {
    for (;;) {
      const batch = await next;
      if (batch.done) break;
      // Asking for the next batch before handling this one: Postgres reads it meanwhile.
      next = cursor.next();
      listVersion ??= Number(batch.value[0]?.list_version ?? 0);
      await onBatch(batch.value.map(toRoomJson), listVersion);
    }
  } catch (error) {
    // The batch asked for arrives first; then the portal is closed and the connection is free.
    await Promise.resolve(next).then(
      (batch) => (batch.done ? undefined : cursor.return?.()),
      () => {},
    );
    throw error;
  }
  if (listVersion !== undefined) return listVersion;
  const [head] = await client<{ version: string | null }[]>`select max(version) as version from rooms`;
  return Number(head?.version ?? 0);
}

interface LiveRow {
  id: string;
  name: string;
  description: string;
  owner_id: string;
  owner_name: string;
  version: string | number;
  created_at: string | Date;
  updated_at: string | Date;
  activity_at: string | number;
  list_version: string | number | null;
}

/** The keys in the order of the read path's rooms (lib/db/queries/rooms.ts, roomColumns): JSON text depends on it. */
function toRoomJson(r: LiveRow): LiveRoomJson {
  const version = rooms.version.mapFromDriverValue(r.version as number) as number;
  const createdAt = isoTimestamp(r.created_at);
  const json = JSON.stringify({
    id: r.id,
    name: r.name,
    description: r.description,
    ownerId: r.owner_id,
    ownerName: r.owner_name,
    version,
    createdAt,
    updatedAt: isoTimestamp(r.updated_at),
  });
  return { id: r.id, version, json, createdAt, activityAt: Number(r.activity_at) };
}

const PG_UTC = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?\+00$/;

/**
 * What `JSON.stringify(new Date(text))` gives for a timestamptz as postgres.js hands it
 * over (drizzle turns off its date parsing), without building the Date: for the common
 * UTC form the milliseconds are the first three fraction digits (a Date truncates, it does
 * not round); any other form goes through Date exactly as drizzle's mapper does.
 */
export function isoTimestamp(value: string | Date): string {
  if (typeof value !== "string") return value.toISOString();
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
