import { sql } from "drizzle-orm";
import type { Db } from "../client";
import { rooms } from "../schema";

/** The site-wide numbers of the home page and `GET /api/stats`. */
export interface Stats {
  /** Live rooms. */
  rooms: number;
  /** Live messages in live rooms. */
  messages: number;
  /** Live rooms with activity (last message, else creation) in the last 24 hours. */
  activeRooms24h: number;
  /** Live messages in live rooms sent since midnight UTC. */
  messagesToday: number;
  /** When Postgres computed these (its clock). */
  computedAt: Date;
}

const liveMessages = sql`messages m join rooms r on r.id = m.room_id where m.deleted_at is null and r.deleted_at is null`;
const count = (expression: ReturnType<typeof sql>) => sql<number>`${expression}`.mapWith(Number);

/**
 * One statement, so one snapshot: the four numbers always agree with each other. An
 * aggregate without GROUP BY returns exactly one row, even over an empty table. Prepared
 * once per handle: with the cache off (or cold) it runs on every stats read.
 */
const prepared = new WeakMap<Db, ReturnType<typeof prepare>>();
function prepare(db: Db) {
  return db
    .select({
      rooms: count(sql`count(*) filter (where ${rooms.deletedAt} is null)`),
      activeRooms24h: count(
        sql`count(*) filter (where ${rooms.deletedAt} is null and coalesce(${rooms.lastActivityAt}, ${rooms.createdAt}) > now() - interval '24 hours')`,
      ),
      messages: count(sql`(select count(*) from ${liveMessages})`),
      messagesToday: count(
        sql`(select count(*) from ${liveMessages} and m.created_at >= (date_trunc('day', now() at time zone 'UTC') at time zone 'UTC'))`,
      ),
      computedAt: sql<Date>`now()`.mapWith((v: string | Date) => new Date(v)),
    })
    .from(rooms)
    .prepare("stats_global");
}

/** The global stats, straight from Postgres. */
export async function computeStats(db: Db): Promise<Stats> {
  let statement = prepared.get(db);
  if (!statement) prepared.set(db, (statement = prepare(db)));
  const [row] = await statement.execute();
  if (!row) throw new Error("stats query returned no row");
  return row;
}
