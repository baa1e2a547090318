import { createHash } from "node:crypto";
import { z } from "zod";
import { CacheUnavailableError, type GuardedStore } from "../cache/guarded-store";
import type { Keys, Ttls } from "../cache/keys";
import { decodeEnvelope, encodeEnvelope } from "../cache/protocol";
import { EPOCH_COUNTER_LUA, freshEpoch } from "../cache/epoch-counter";
import { lua } from "../cache/store";
import { searchContent, type SearchRow } from "../db/queries/search";
import type { DbReads } from "../db/replicas/read-router";
import { AppError } from "../errors";
import type { Client, RateLimiter } from "../limits/rate-limiter";
import type { Metrics } from "../observability/metrics";
import { recordTiming } from "../observability/server-timing";
import { excerpt, segmentSchema, toSegments, type Segment } from "./snippet";
import { SEARCH_OFFSET_MAX, normaliseQuery, type SearchParams } from "./validation";

/** One search hit: a room (its name and description) or a message (its body). */
export interface SearchHit extends Omit<SearchRow, "rank" | "title" | "snippet"> {
  /** A room's name, highlighted; null for a message. */
  title: Segment[] | null;
  /** A room's description or an excerpt of a message around its first hit, highlighted. */
  snippet: Segment[];
}

export interface SearchPage {
  /** The query as searched (normalised). */
  query: string;
  hits: SearchHit[];
  /** Cursor of the next page; null when this is the last. */
  nextCursor: string | null;
}

export interface SearchResult {
  data: SearchPage;
  source: "cache" | "db";
}

const pageSchema = z.object({
  query: z.string(),
  hits: z.array(
    z.object({
      kind: z.enum(["room", "message"]),
      roomId: z.string(),
      roomName: z.string(),
      messageId: z.string().nullable(),
      authorName: z.string().nullable(),
      createdAt: z.iso.datetime({ offset: true }).transform((s) => new Date(s)),
      title: z.array(segmentSchema).nullable(),
      snippet: z.array(segmentSchema),
    }),
  ),
  nextCursor: z.string().nullable(),
});

/** KEYS: search:gen. ARGV: a fresh epoch. The generation (`<epoch>.<n>`), started if missing. */
const READ_GEN = lua(`${EPOCH_COUNTER_LUA}
local e, n = counter_read(KEYS[1], ARGV[1])
return e .. '.' .. n
`);

/** KEYS: search:gen. ARGV: a fresh epoch. A new generation: every page cached under an older one is unreachable. */
const BUMP = lua(`${EPOCH_COUNTER_LUA}
local e, n = counter_bump(KEYS[1], ARGV[1])
return e .. '.' .. n
`);

/** Options of {@link SearchService}. */
export interface SearchServiceDeps {
  /**
   * The search pools (lib/runtime.ts): a few connections of their own on the primary and on
   * each replica (behind the fence, lib/db/replicas), with a statement_timeout, so searches
   * can neither hold the pool every other read needs nor run for long. Statements go
   * through postgres.js directly so that they can be cancelled.
   */
  reads: DbReads;
  /** Limits searches that reach Postgres (LIMITS.search); a cached page costs nothing. */
  limiter: RateLimiter;
  /** null when the cache is disabled: every search goes to Postgres. */
  guarded: GuardedStore | null;
  keys: Keys;
  ttls: Ttls;
  metrics: Metrics;
  /**
   * Deadline of one Postgres search, waiting for a connection of the pool included; past
   * it the statement is cancelled and the caller gets a 503. Default 3000 ms (the pool's
   * statement_timeout ends a statement that is running sooner).
   */
  loadTimeoutMs?: number;
  /** Test hooks: `afterLoad` runs between a search's Postgres read and its cache set (tests pause there to force races). */
  hooks?: { afterLoad?: () => Promise<void> | void };
  onError?: (error: unknown, context: { op: string }) => void;
}

/**
 * Full-text search of rooms and messages (lib/db/queries/search.ts), each page cached for
 * `ttls.search` under `search:{gen}:{sha256(query, limit, cursor)}`. Every write that can
 * change a result INCRs `search:gen`, so pages cached before it are never read again and
 * simply expire: no KEYS, no key sets to track. A search that read Postgres before a
 * write and stores its page after lands under the old generation, unreachable too.
 */
export class SearchService {
  constructor(private readonly deps: SearchServiceDeps) {}

  /**
   * `context.client`: who asks, for the rate limit of searches that reach Postgres.
   * `context.signal`: aborted when the request is gone; a search still running in Postgres
   * is then cancelled.
   */
  async search(params: SearchParams, context: SearchContext = {}): Promise<SearchResult> {
    const { guarded, keys, metrics, ttls } = this.deps;
    const query = normaliseQuery(params.q);
    const input = { query, limit: params.limit, offset: params.cursor };
    if (!guarded) {
      metrics.cacheRequests.inc({ cache: "search", outcome: "bypass" });
      return { data: await this.load(input, context), source: "db" };
    }
    const started = performance.now();
    const hash = createHash("sha256").update(JSON.stringify([query, params.limit, params.cursor])).digest("hex");
    let key: string;
    let generation: string;
    try {
      generation = String(await guarded.readTrusted((s) => s.eval(READ_GEN, [keys.searchGen], [freshEpoch()])));
      key = keys.search(generation, hash);
      const raw = await guarded.readTrusted((s) => s.get(key));
      metrics.cacheLatency.observe({ cache: "search" }, (performance.now() - started) / 1000);
      const hit = raw === null ? undefined : decodeEnvelope(pageSchema, raw);
      if (hit) {
        metrics.cacheRequests.inc({ cache: "search", outcome: "hit" });
        recordTiming("cache", performance.now() - started, "hit");
        return { data: hit.data, source: "cache" };
      }
      metrics.cacheRequests.inc({ cache: "search", outcome: raw === null ? "miss" : "corrupt" });
      recordTiming("cache", performance.now() - started, "miss");
    } catch (error) {
      metrics.cacheRequests.inc({ cache: "search", outcome: "error" });
      recordTiming("cache", performance.now() - started, "error");
      if (!(error instanceof CacheUnavailableError)) this.deps.onError?.(error, { op: "read" });
      return { data: await this.load(input, context), source: "db" };
    }
    const data = await this.load(input, context);
    await this.deps.hooks?.afterLoad?.();
    // Best effort: a failed set costs the next reader a query, nothing more.
    await guarded.write((s) => s.set(key, encodeEnvelope(0, data), ttls.search)).catch((error: unknown) => {
      if (!(error instanceof CacheUnavailableError)) this.deps.onError?.(error, { op: "populate" });
    });
    return { data, source: "db" };
  }

  /**
   * A new generation, after a committed write that can change a result (every room and
   * message write): pages cached before it are never read again. Rejects when Redis cannot
   * take it: a write's bump goes through the invalidation log (lib/cache/invalidation).
   */
  async bumpGeneration(): Promise<void> {
    const { guarded, keys } = this.deps;
    if (!guarded) return;
    await guarded.write((s) => s.eval(BUMP, [keys.searchGen], [freshEpoch()]));
  }

  private async load(input: { query: string; limit: number; offset: number }, context: SearchContext): Promise<SearchPage> {
    await this.deps.limiter.check("search", context.client ?? {});
    const started = performance.now();
    // One signal for both ends of a search: the request gone, or the deadline passed.
    const stop = new AbortController();
    const timeoutMs = this.deps.loadTimeoutMs ?? 3_000;
    const deadline = setTimeout(() => stop.abort(searchTimeout()), timeoutMs);
    const gone = () => stop.abort(new SearchAbortedError());
    if (context.signal?.aborted) gone();
    context.signal?.addEventListener("abort", gone, { once: true });
    try {
      const { rows, hasMore } = await this.deps.reads.read((_db, client) => searchContent(client, input, stop.signal)).catch((error: unknown) => {
        // Postgres ended it first (statement_timeout): the same answer as our own deadline.
        throw isStatementTimeout(error) ? searchTimeout() : error;
      });
      return {
        query: input.query,
        hits: rows.map((r) => ({
          kind: r.kind,
          roomId: r.roomId,
          roomName: r.roomName,
          messageId: r.messageId,
          authorName: r.authorName,
          createdAt: r.createdAt,
          title: r.title === null ? null : toSegments(r.title),
          snippet: r.kind === "message" ? excerpt(toSegments(r.snippet)) : toSegments(r.snippet),
        })),
        nextCursor: hasMore && input.offset + input.limit <= SEARCH_OFFSET_MAX ? String(input.offset + input.limit) : null,
      };
    } finally {
      clearTimeout(deadline);
      context.signal?.removeEventListener("abort", gone);
      recordTiming("db", performance.now() - started);
    }
  }
}

export interface SearchContext {
  client?: Client;
  signal?: AbortSignal;
}

/** The search was given up because its request went away (nobody is left to answer). */
export class SearchAbortedError extends Error {
  constructor() {
    super("search cancelled: the request was aborted");
    this.name = "SearchAbortedError";
  }
}

const searchTimeout = () =>
  new AppError(503, "search_timeout", "That search took too long. Try fewer or more specific words.", undefined, 5);

/** Postgres' own "canceling statement due to statement timeout" (SQLSTATE 57014). */
function isStatementTimeout(error: unknown): boolean {
  return typeof error === "object" && error !== null && (error as { code?: unknown }).code === "57014" && /statement timeout/i.test(String((error as Error).message));
}
