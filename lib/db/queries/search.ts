import { sql } from "drizzle-orm";
import { PgDialect } from "drizzle-orm/pg-core";
import type postgres from "postgres";
import { z } from "zod";
import { SEARCH_CONFIG } from "../schema/tsvector";

/**
 * Highlight markers for ts_headline: Unicode noncharacters U+FDD0 and U+FDD1, which the
 * standard reserves for exactly this kind of internal use. They are stripped from the
 * text before ts_headline sees it, so every marker in its output is one it inserted and
 * user text can never forge a highlight (lib/search/snippet.ts splits on them).
 */
export const HIT_START = "\uFDD0";
export const HIT_STOP = "\uFDD1";
/**
 * HighlightAll: the whole text, marked. Fragment mode would be shorter, but it drops
 * whatever the parser takes for an XML tag, so a message reading `<script>` would lose
 * it; the excerpt around the hits is cut in TypeScript instead.
 */
const HEADLINE_OPTIONS = `StartSel=${HIT_START}, StopSel=${HIT_STOP}, HighlightAll=true`;

const rowSchema = z.object({
  kind: z.enum(["room", "message"]),
  room_id: z.string(),
  room_name: z.string(),
  message_id: z.string().nullable(),
  author_name: z.string().nullable(),
  created_at: z.coerce.date(),
  rank: z.coerce.number(),
  title: z.string().nullable(),
  snippet: z.string(),
});

/** One hit, with its texts marked by {@link HIT_START}/{@link HIT_STOP}. */
export interface SearchRow {
  kind: "room" | "message";
  roomId: string;
  roomName: string;
  messageId: string | null;
  authorName: string | null;
  createdAt: Date;
  rank: number;
  /** A room's name, marked; null for a message. */
  title: string | null;
  /** A room's description or a message's body, marked (the whole text). */
  snippet: string;
}

const dialect = new PgDialect();

/**
 * Live rooms (name and description) and live messages of live rooms matching `query`
 * (websearch syntax: words, "phrases", -exclusions, or), best first (ts_rank; the name
 * weighs A, the description B, a message body D), then newest. Both sides are answered
 * by their GIN index (`@@` on the generated search_vector); ts_headline, the costly part,
 * runs only on the page returned. One row more than `limit` tells whether a next page exists.
 *
 * A query no index can answer (only exclusions, `word or -other`, stop words next to an
 * exclusion: `querytree` says 'T') would rank every live message; it matches nothing
 * instead, and Postgres skips both scans (a one-time filter).
 *
 * Run on the search pool's postgres.js client rather than through drizzle, because the
 * caller must be able to cancel the statement (`signal`: the request is gone, or its
 * deadline passed): postgres.js removes a queued query, or asks Postgres to cancel a
 * running one. Rejects with the signal's reason then.
 */
export async function searchContent(
  client: postgres.Sql,
  params: { query: string; limit: number; offset: number },
  signal?: AbortSignal,
): Promise<{ rows: SearchRow[]; hasMore: boolean }> {
  signal?.throwIfAborted();
  const config = sql.raw(`'${SEARCH_CONFIG}'::regconfig`);
  const strip = (column: ReturnType<typeof sql.raw>) => sql`translate(${column}, ${HIT_START + HIT_STOP}, '')`;
  const statement = dialect.sqlToQuery(sql`
    with q as (
      select query from (select websearch_to_tsquery(${config}, ${params.query}) as query) parsed
      where querytree(query) <> 'T'
    ),
    hits as (
      select 'room' as kind, r.id as room_id, r.name as room_name, null::uuid as message_id, null::text as author_name,
        r.created_at, ts_rank(r.search_vector, q.query) as rank, r.name as title_text, r.description as body_text
      from rooms r, q
      where r.deleted_at is null and r.search_vector @@ q.query
      union all
      select 'message', m.room_id, r.name, m.id, m.author_name, m.created_at, ts_rank(m.search_vector, q.query), null, m.body
      from messages m join rooms r on r.id = m.room_id, q
      where m.deleted_at is null and r.deleted_at is null and m.search_vector @@ q.query
    ),
    page as (
      select * from hits
      order by rank desc, created_at desc, coalesce(message_id, room_id)
      limit ${params.limit + 1} offset ${params.offset}
    )
    select page.kind, page.room_id, page.room_name, page.message_id, page.author_name, page.created_at, page.rank,
      case when page.title_text is null then null
        else ts_headline(${config}, ${strip(sql.raw("page.title_text"))}, q.query, ${HEADLINE_OPTIONS}) end as title,
      case when page.body_text = '' then ''
        else ts_headline(${config}, ${strip(sql.raw("page.body_text"))}, q.query, ${HEADLINE_OPTIONS}) end as snippet
    from page, q
    order by page.rank desc, page.created_at desc, coalesce(page.message_id, page.room_id)
  `);
  const pending = client.unsafe(statement.sql, statement.params as postgres.ParameterOrJSON<never>[]);
  const cancel = () => pending.cancel();
  signal?.addEventListener("abort", cancel, { once: true });
  let result: unknown[];
  try {
    result = await pending;
  } catch (error) {
    throw signal?.aborted ? signal.reason : error;
  } finally {
    signal?.removeEventListener("abort", cancel);
  }
  const rows = z.array(rowSchema).parse(Array.from(result));
  return {
    hasMore: rows.length > params.limit,
    rows: rows.slice(0, params.limit).map((r) => ({
      kind: r.kind,
      roomId: r.room_id,
      roomName: r.room_name,
      messageId: r.message_id,
      authorName: r.author_name,
      createdAt: r.created_at,
      rank: r.rank,
      title: r.title,
      snippet: r.snippet,
    })),
  };
}
