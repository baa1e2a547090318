import { readFileSync } from "node:fs";
import path from "node:path";
import type { CacheHandlerValue } from "next/dist/server/lib/incremental-cache";
import type { IncrementalCacheValue } from "next/dist/server/response-cache";
import { createCacheStore } from "../cache/create-store";
import { formatStamp, parseStamp, type Stamp } from "../cache/epoch-counter";
import { processLease } from "../cache/invalidation/lease";
import { CacheUnavailableError, GuardedStore } from "../cache/guarded-store";
import { env } from "../env";
import { logger } from "../observability/logger";
import { metrics } from "../observability/metrics";
import { pageCacheCodec } from "./codec";
import { PageCache, pageCacheKeys } from "./page-cache";
import { HOME_PAGE_TAGS, STALE_PAGE_MARKER } from "./page-tags";
import { beginBatch, endBatch, homeSlot, parseHomeSlot, withoutSlot } from "./render-gate";

/*
 * Next.js's `cacheHandler` (next.config.ts): rendered pages and route responses in Redis,
 * shared by every web instance, under the clock protocol of ./protocol.ts. Built by
 * esbuild into dist/ (`npm run build` does it first), because Next imports this file at
 * run time, outside its own bundles.
 *
 * Next makes a handler per request; the state lives once per process, on globalThis.
 */

export interface Stored {
  value: IncrementalCacheValue;
  cacheControl?: CacheHandlerValue["cacheControl"];
  lastModified: number;
}

interface ProcessState {
  cache: PageCache<Stored> | null;
  /**
   * This build's id: part of every entry's key, because a page names its build's asset
   * files; after a deploy the old entries are simply not found (and expire).
   */
  buildId: string;
  /**
   * Per Next cache key (each slot of the home page its own, though all share one entry):
   * the oldest clock seen by a lookup that (may have) started a render, and when. Per
   * entry, two renders in flight at once (a slot's background refresh, the next slot's
   * render) would hand the older one the newer one's stamp. Next renders one cache key one
   * at a time, so per key the stamp is the render's own.
   */
  renderStarts: Map<string, { clock: Stamp; at: number }>;
  /**
   * Per entry: when this process last let Next refresh it for its age alone (past its
   * revalidate time, no write marked it). Until that render is stored (or
   * RENDER_START_TTL_MS passes), other slots get the entry as fresh instead of each starting
   * a render of its own: a slot is a cache key of its own, so Next's one render per key
   * does not hold across slots, and at every expiry each request started another render
   * until the first was stored (8 requests, 6 renders, measured).
   */
  refreshing: Map<string, number>;
  /** Per key: the value last handed to Next, to recognise Next storing it back unchanged. */
  served: Map<string, IncrementalCacheValue>;
}

/** A render that began longer ago than this is not waited for: its stamp is forgotten (no stamp is never stored). */
const RENDER_START_TTL_MS = 60_000;
/** Render starts kept before the old ones (renders that never stored) are swept. */
const RENDER_STARTS_SWEEP_AT = 1_000;
const MAX_ENTRY_TTL_SECONDS = 86_400;

const g = globalThis as unknown as { __lobbyPageCache?: ProcessState };

/** `.next/BUILD_ID` next to the server output Next hands the handler; "unknown" if unreadable. */
function readBuildId(serverDistDir: string | undefined): string {
  try {
    return serverDistDir ? readFileSync(path.join(serverDistDir, "..", "BUILD_ID"), "utf8").trim() : "unknown";
  } catch {
    return "unknown";
  }
}

function state(serverDistDir?: string): ProcessState {
  if (g.__lobbyPageCache) return g.__lobbyPageCache;
  const e = env();
  // While `next build` prerenders, neither Redis nor Postgres is needed or touched: the
  // build output is never served (this handler is the only cache Next reads at run time).
  const store = e.building || !e.cacheEnabled ? null : createCacheStore(e.redis);
  const log = logger();
  const cache = store
    ? new PageCache<Stored>({
        // Concurrent requests for a page wait on its one lookup (Next batches them): never
        // let a slow Redis hold them much past the deadline, busy process or not.
        guarded: new GuardedStore(store, {
          maxBusyWaitMs: 250,
          // Trusted exactly when this process's runtime is (it reads the invalidation log and
          // renews the lease); before the runtime has started, pages render.
          lease: processLease(),
          leaseWaitMs: 0,
          onStateChange: (state, cause) => log.warn({ breaker: state, ...(cause ? { cause: String(cause) } : {}) }, `page cache: redis circuit ${state}`),
        }),
        keys: pageCacheKeys(e.keyPrefix),
        encode: pageCacheCodec.encode,
        decode: (body) => pageCacheCodec.decode<Stored>(body),
        // Redis unavailable is logged once, when the circuit opens; other failures each time.
        onError: (error, op) => {
          if (!(error instanceof CacheUnavailableError)) log.warn({ err: error, op }, "page cache operation failed");
        },
      })
    : null;
  g.__lobbyPageCache = { cache, buildId: readBuildId(serverDistDir), renderStarts: new Map(), served: new Map(), refreshing: new Map() };
  return g.__lobbyPageCache;
}

/**
 * Puts a page cache of the caller's making in place of the one built from the environment
 * (tests: their own Redis prefix; null turns the cache off). Forgets this process's state.
 */
export function installPageCache(cache: PageCache<Stored> | null, buildId = "test"): void {
  g.__lobbyPageCache = { cache, buildId, renderStarts: new Map(), served: new Map(), refreshing: new Map() };
}

const isResponse = (kind: unknown): boolean => kind === "APP_PAGE" || kind === "APP_ROUTE";

/** The page cache's key of a Next cache key: this build's, every slot of the home page as one. */
function entryKey(s: ProcessState, cacheKey: string): string {
  return `${s.buildId}:${homeSlot(cacheKey) === undefined ? cacheKey : withoutSlot(cacheKey)}`;
}

function noteRenderStart(s: ProcessState, key: string, clockValue: string): void {
  const clock = parseStamp(clockValue);
  if (!clock) return;
  const now = Date.now();
  const prev = s.renderStarts.get(key);
  // Keep the older start. A start in another epoch is kept too: it is the one a render in
  // flight may carry, and its stamp makes the store refused (never passed off as newer).
  if (prev && now - prev.at < RENDER_START_TTL_MS && (prev.clock.epoch !== clock.epoch || prev.clock.n <= clock.n)) return;
  s.renderStarts.set(key, { clock, at: now });
  // A slot is asked for once: starts of renders that failed (never stored) would pile up.
  if (s.renderStarts.size > RENDER_STARTS_SWEEP_AT) {
    for (const [k, start] of s.renderStarts) if (now - start.at >= RENDER_START_TTL_MS) s.renderStarts.delete(k);
  }
}

function takeStamp(s: ProcessState, key: string): string {
  const start = s.renderStarts.get(key);
  s.renderStarts.delete(key);
  return start && Date.now() - start.at < RENDER_START_TTL_MS ? formatStamp(start.clock) : "";
}

function timeStale(stored: Stored): boolean {
  const r = stored.cacheControl?.revalidate;
  return typeof r === "number" && stored.lastModified + r * 1000 < Date.now();
}

export default class LobbyCacheHandler {
  constructor(ctx?: { serverDistDir?: string }) {
    state(ctx?.serverDistDir);
  }

  async get(cacheKey: string, ctx: { kind?: unknown }): Promise<CacheHandlerValue | null> {
    // The home page's slots (./render-gate.ts): a batch begins (after the one before). A
    // hit (fresh or stale) ends it at once, a miss when its render is stored (set) or gives up.
    const slot = isResponse(ctx.kind) ? parseHomeSlot(cacheKey) : undefined;
    if (slot === undefined) return this.lookup(cacheKey, ctx);
    await beginBatch(slot.slot, slot.canonical);
    try {
      const found = await this.lookup(cacheKey, ctx);
      if (found) endBatch(slot.slot, slot.canonical);
      return found;
    } catch (error) {
      endBatch(slot.slot, slot.canonical);
      throw error;
    }
  }

  private async lookup(cacheKey: string, ctx: { kind?: unknown }): Promise<CacheHandlerValue | null> {
    const s = state();
    if (!s.cache || !isResponse(ctx.kind)) return null;
    const key = entryKey(s, cacheKey);
    const m = metrics();
    const end = m.cacheLatency.startTimer({ cache: "page" });
    const found = await s.cache.lookup(key);
    end();
    const stored = found.value;
    // Past its revalidate time, no write marked it: the age alone is no reason to serve an
    // older page, so while one render refreshes it (in the background), the others get it as fresh.
    const aged = found.state === "fresh" && !!stored && timeStale(stored);
    const refreshing = aged && Date.now() - (s.refreshing.get(key) ?? -Infinity) < RENDER_START_TTL_MS;
    if (found.state !== "fresh" || !stored || (aged && !refreshing)) noteRenderStart(s, cacheKey, found.clock);
    // A slot with a query string never stores its render: it does not refresh the entry.
    if (aged && !refreshing && parseHomeSlot(cacheKey)?.canonical !== false) s.refreshing.set(key, Date.now());
    m.cacheRequests.inc({ cache: "page", outcome: found.state === "fresh" ? "hit" : found.state === "stale" ? "stale" : "miss" });
    if (!stored || found.state === "expired" || found.state === "miss") return null;
    s.served.set(key, stored.value);
    if (found.state === "fresh") return { value: stored.value, cacheControl: stored.cacheControl, lastModified: refreshing ? Date.now() : stored.lastModified };
    // Stale: Next serves it and renders once in the background when the entry looks past
    // its revalidate time, so present it that way (the mark, not the clock, made it stale).
    const revalidate = typeof stored.cacheControl?.revalidate === "number" && stored.cacheControl.revalidate > 0 ? stored.cacheControl.revalidate : 1;
    return {
      value: stored.value,
      cacheControl: { revalidate, expire: stored.cacheControl?.expire },
      lastModified: Date.now() - revalidate * 1000 - 1,
    };
  }

  async set(cacheKey: string, data: IncrementalCacheValue | null, ctx: { cacheControl?: CacheHandlerValue["cacheControl"] }): Promise<void> {
    const slot = parseHomeSlot(cacheKey);
    try {
      await this.store(cacheKey, data, ctx);
    } finally {
      if (slot !== undefined) endBatch(slot.slot, slot.canonical);
    }
  }

  private async store(cacheKey: string, data: IncrementalCacheValue | null, ctx: { cacheControl?: CacheHandlerValue["cacheControl"] }): Promise<void> {
    const s = state();
    if (!s.cache || !data || !isResponse(data.kind)) return;
    // A render of a request with a query string carries its URL: never the shared page.
    if (parseHomeSlot(cacheKey)?.canonical === false) return;
    const key = entryKey(s, cacheKey);
    try {
      // Next stores the entry it served back when a background render fails: keep the
      // entry as it is, with its own stamp, rather than pass the old page off as new.
      if (s.served.get(key) === data) {
        s.renderStarts.delete(cacheKey);
        return;
      }
      const stamp = takeStamp(s, cacheKey);
      // A page rendered from a saved copy (Postgres down) is not kept: the next request
      // renders again and shows current data as soon as Postgres is back.
      if (data.kind === "APP_PAGE" && typeof data.html === "string" && data.html.includes(STALE_PAGE_MARKER)) return;
      const tagsHeader = (data.kind === "APP_PAGE" || data.kind === "APP_ROUTE") && data.headers?.["x-next-cache-tags"];
      const tags = typeof tagsHeader === "string" ? tagsHeader.split(",").filter(Boolean) : [];
      // A slot of the home page carries its route's tags; writers mark the home page's.
      if (homeSlot(cacheKey) !== undefined) tags.push(...HOME_PAGE_TAGS.filter((t) => !tags.includes(t)));
      const expire = ctx.cacheControl?.expire;
      const ttl = Math.min(typeof expire === "number" && expire > 0 ? expire : MAX_ENTRY_TTL_SECONDS, MAX_ENTRY_TTL_SECONDS);
      await s.cache.store(key, { value: data, cacheControl: ctx.cacheControl, lastModified: Date.now() }, stamp, tags, ttl);
    } finally {
      // A render of the entry is done (stored, refused or failed), and a lookup from now on
      // sees what it stored: the next aged lookup may start another.
      s.refreshing.delete(key);
    }
  }

  async revalidateTag(tags: string | string[], durations?: { expire?: number }): Promise<void> {
    const s = state();
    if (!s.cache) return;
    // No durations (updateTag, revalidatePath): expire now. A profile ("max"): stale-while-revalidate.
    const mode = durations?.expire === undefined || durations.expire === 0 ? "hard" : "soft";
    await s.cache.invalidate(Array.isArray(tags) ? tags : [tags], mode);
  }

  resetRequestCache(): void {}
}
