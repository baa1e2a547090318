import type postgres from "postgres";
import { cacheOutcomes, dbQueries, type AppServer } from "./server";

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

/** What `queriesPerThousand` counted. */
export interface QueryCount {
  /** Statements made during the 1,000 reads (the target: at most 1). */
  reads: number;
  /** Statements made by the first read and the background work it started (a refresh of an entry past its age). */
  populate: number;
  /** The server's cache read outcomes during the 1,000 reads (hit, miss, error, ...): where a statement came from. */
  outcomes: Record<string, number>;
}

/**
 * Postgres statements per 1,000 cached reads of `path`, from the server's own counter. The
 * first read populates, and may find an entry past its age (the home page's `revalidate`,
 * stats' freshness) and start a background refresh: that refresh is the entry's periodic
 * cost, not a cost of the reads, so the count starts once the counter has been still for
 * a second (at most 15 s), and the populate's statements are reported beside it.
 */
export async function queriesPerThousand(server: AppServer, path: string): Promise<QueryCount> {
  const start = await dbQueries(server);
  await fetch(server.url + path).then((r) => r.arrayBuffer());
  let before = await dbQueries(server);
  for (const deadline = Date.now() + 15_000; Date.now() < deadline; ) {
    await new Promise((r) => setTimeout(r, 1_000));
    const now = await dbQueries(server);
    if (now === before) break;
    before = now;
  }
  const outcomesBefore = await cacheOutcomes(server);
  for (let i = 0; i < 1000; i += 50) {
    await Promise.all(Array.from({ length: 50 }, () => fetch(server.url + path).then((r) => r.arrayBuffer())));
  }
  const reads = (await dbQueries(server)) - before;
  const outcomes: Record<string, number> = {};
  for (const [outcome, n] of Object.entries(await cacheOutcomes(server))) {
    const during = n - (outcomesBefore[outcome] ?? 0);
    if (during > 0) outcomes[outcome] = during;
  }
  return { reads, populate: before - start, outcomes };
}

/** The note line for a `QueryCount`. */
export function queryCountNote(path: string, count: QueryCount): string {
  return (
    `Postgres queries per 1,000 cached reads of ${path}: ${count.reads} (cache reads meanwhile: ${JSON.stringify(count.outcomes)}; ` +
    `the populating read and the background refresh it started: ${count.populate})`
  );
}
