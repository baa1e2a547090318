import { and, asc, desc, eq, gt, isNull, max, sql } from "drizzle-orm";
import type { Db } from "../client";
import { rooms } from "../schema";

/** A live room as the app sees it (no soft-delete marker). */
export interface Room {
  id: string;
  name: string;
  description: string;
  ownerId: string;
  ownerName: string;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

/** The columns of a live room, for select lists and `returning` (never `select *`). */
export const roomColumns = {
  id: rooms.id,
  name: rooms.name,
  description: rooms.description,
  ownerId: rooms.ownerId,
  ownerName: rooms.ownerName,
  version: rooms.version,
  createdAt: rooms.createdAt,
  updatedAt: rooms.updatedAt,
};

const live = isNull(rooms.deletedAt);
/** A room's last activity in ms: its last message, else its creation (rounded down, as `{rooms:all}:activity` scores). */
const activityMs = sql<string>`floor(extract(epoch from coalesce(${rooms.lastActivityAt}, ${rooms.createdAt})) * 1000)::bigint`;
const nextVersion = sql<number>`nextval('room_version_seq')`;

/**
 * The hot reads are prepared once per database handle: on this stack a prepared
 * statement halves the round trip (measured ~0.47 ms unprepared vs ~0.22 ms prepared).
 */
const prepared = new WeakMap<Db, ReturnType<typeof prepare>>();
function prepare(db: Db) {
  return {
    listLive: db
      .select(roomColumns)
      .from(rooms)
      .where(live)
      .orderBy(desc(rooms.createdAt), desc(rooms.id))
      .prepare("rooms_list_live"),
    byId: db
      .select(roomColumns)
      .from(rooms)
      .where(and(eq(rooms.id, sql.placeholder("id")), live))
      .prepare("rooms_by_id"),
    // One statement is one snapshot: the version describes exactly the rows returned.
    listLiveWithVersion: db
      .select({ ...roomColumns, listVersion: sql<string>`(select max(version) from rooms)`, activityAt: activityMs })
      .from(rooms)
      .where(live)
      .orderBy(desc(rooms.createdAt), desc(rooms.id))
      .prepare("rooms_list_live_with_version"),
    maxVersion: db.select({ version: max(rooms.version) }).from(rooms).prepare("rooms_max_version"),
  };
}
function statements(db: Db) {
  let s = prepared.get(db);
  if (!s) prepared.set(db, (s = prepare(db)));
  return s;
}

/** All live rooms, newest first. */
export async function listLiveRooms(db: Db): Promise<Room[]> {
  return statements(db).listLive.execute();
}

/**
 * The list together with the version it was read at (the largest room version, deleted
 * rooms included), from one statement and so one snapshot.
 */
/**
 * Every live room, newest created first, the version the list was read at, and each room's
 * last activity (ms) from the same snapshot: the list's loader refills `{rooms:all}:activity` with
 * it, so a cold cache costs one statement, not one for the list and one for the order.
 */
export async function listLiveRoomsWithVersion(db: Db): Promise<{ rooms: Room[]; version: number; activity: { id: string; at: number }[] }> {
  const s = statements(db);
  const rows = await s.listLiveWithVersion.execute();
  if (rows.length === 0) {
    const [head] = await s.maxVersion.execute();
    return { rooms: [], version: Number(head?.version ?? 0), activity: [] };
  }
  const version = Number(rows[0]?.listVersion ?? 0);
  return {
    rooms: rows.map(({ listVersion: _, activityAt: __, ...room }) => room),
    version,
    activity: rows.map((r) => ({ id: r.id, at: Number(r.activityAt) })),
  };
}

export async function getLiveRoom(db: Db, id: string): Promise<Room | undefined> {
  const [row] = await statements(db).byId.execute({ id });
  return row;
}

/** Number of live rooms and the version it was counted at, in one statement. */
export async function countLiveRooms(db: Db): Promise<{ count: number; version: number }> {
  const [row] = await db
    .select({ count: sql<number>`count(*) filter (where ${live})`.mapWith(Number), version: max(rooms.version) })
    .from(rooms);
  return { count: row?.count ?? 0, version: Number(row?.version ?? 0) };
}

export async function insertRoom(
  db: Db,
  input: { name: string; description: string; ownerId: string; ownerName: string },
): Promise<Room> {
  const [row] = await db.insert(rooms).values(input).returning(roomColumns);
  if (!row) throw new Error("insert returned no row");
  return row;
}

/** Row of a live room locked for the rest of the transaction, or undefined. */
export async function lockLiveRoom(db: Db, id: string): Promise<{ id: string; ownerId: string } | undefined> {
  const [row] = await db
    .select({ id: rooms.id, ownerId: rooms.ownerId })
    .from(rooms)
    .where(and(eq(rooms.id, id), live))
    .for("update");
  return row;
}

export async function updateRoom(
  db: Db,
  id: string,
  patch: { name?: string; description?: string },
): Promise<Room | undefined> {
  const [row] = await db
    .update(rooms)
    .set({ ...patch, version: nextVersion, updatedAt: sql`now()` })
    .where(and(eq(rooms.id, id), live))
    .returning(roomColumns);
  return row;
}

export async function softDeleteRoom(db: Db, id: string): Promise<Room | undefined> {
  const [row] = await db
    .update(rooms)
    .set({ deletedAt: sql`now()`, version: nextVersion, updatedAt: sql`now()` })
    .where(and(eq(rooms.id, id), live))
    .returning(roomColumns);
  return row;
}

/** One keyset page of live rooms ordered by id, for streaming over every room. */
export async function pageLiveRoomsById(db: Db, after: string | null, limit: number): Promise<Room[]> {
  return db
    .select(roomColumns)
    .from(rooms)
    .where(after ? and(live, gt(rooms.id, after)) : live)
    .orderBy(asc(rooms.id))
    .limit(limit);
}

/** A Postgres error of this SQLSTATE, as the driver throws it or as Drizzle wraps it. */
function hasSqlState(error: unknown, code: string): boolean {
  const e = error as { code?: string; cause?: { code?: string } } | null;
  return e?.code === code || e?.cause?.code === code;
}

export const isUniqueViolation = (error: unknown): boolean => hasSqlState(error, "23505");
export const isCheckViolation = (error: unknown): boolean => hasSqlState(error, "23514");
export const isForeignKeyViolation = (error: unknown): boolean => hasSqlState(error, "23503");

/** Last activity (ms) of every live room: its last message, else its creation. One statement. */
export async function liveRoomActivity(db: Db): Promise<{ id: string; at: number }[]> {
  const rows = await db
    .select({ id: rooms.id, at: activityMs })
    .from(rooms)
    .where(live);
  return rows.map((r) => ({ id: r.id, at: Number(r.at) }));
}
