import type postgres from "postgres";
import { dbQueries, type AppServer } from "./server";

/**
 * The stats and search scenarios (`--scenario stats,search`): `GET /api/stats` and
 * `GET /api/search` on a cached instance against `CACHE_ENABLED=false`, A/B like the others,
 * over a corpus big enough that the aggregate and the full-text query cost something.
 */
export const INSIGHT_SCENARIOS = ["stats", "search"] as const;

/** Messages spread over the rooms (not the room page's or the fan-out's) before these scenarios. */
export const INSIGHT_MESSAGES = 20_000;

/** Two words that match a few hundred messages (and a stemmed form of one), so ranking and snippets have work. */
export const SEARCH_PATH = `/api/search?q=${encodeURIComponent("running harvest")}&limit=20`;

const WORDS = [
  "harvest", "orchard", "ladder", "basket", "market", "release", "planning", "coffee", "weather", "garden",
  "deploy", "meeting", "lunch", "bicycle", "library", "concert", "recipe", "holiday", "project", "review",
];

/**
 * Inserts `count` messages of 12 pseudo-random words each (a deterministic mix, so every
 * run searches the same corpus), with times over the last three days so "today" and
 * "active in 24 h" are partial. One room in 20 gets "running" mixed in.
 */
export async function seedInsight(sql: postgres.Sql, skipRoomIds: string[], count = INSIGHT_MESSAGES): Promise<void> {
  const rooms = (await sql<{ id: string }[]>`select id from rooms where not (id = any(${skipRoomIds}::uuid[])) order by name`).map((r) => r.id);
  const words = sql.array(WORDS);
  await sql`
    insert into messages (room_id, author_id, author_name, body, created_at)
    select (${sql.array(rooms)}::uuid[])[1 + i % ${rooms.length}], 'bench-author-' || (i % 7), 'Bencher ' || (i % 7),
      (select string_agg((${words}::text[])[1 + ((i * 7919 + j * 104729) % ${WORDS.length})], ' ') from generate_series(1, 12) j)
        || case when i % 20 = 0 then ' running late' else '' end,
      now() - (i % 4320) * interval '1 minute'
    from generate_series(1, ${count}) i`;
  await sql`update rooms set message_version = nextval('message_version_seq'),
    last_activity_at = (select max(created_at) from messages m where m.room_id = rooms.id)
    where id = any(${sql.array(rooms)}::uuid[])`;
  await sql`analyze messages`;
}

/** Postgres statements per 1,000 cached reads of `path`, from the server's own counter. */
export async function queriesPerThousand(server: AppServer, path: string): Promise<string> {
  await fetch(server.url + path); // populate
  const before = await dbQueries(server);
  for (let i = 0; i < 1000; i += 50) {
    await Promise.all(Array.from({ length: 50 }, () => fetch(server.url + path).then((r) => r.arrayBuffer())));
  }
  return `Postgres queries per 1,000 cached reads of ${path}: ${(await dbQueries(server)) - before}`;
}
