import { randomBytes } from "node:crypto";
import type { IncrementalCacheValue } from "next/dist/server/response-cache";
import { afterAll, beforeEach, describe, expect, it, vi } from "vitest";
import { GuardedStore, type GuardOptions } from "../cache/guarded-store";
import { createIoredisStore } from "../cache/ioredis-store";
import { closedPort } from "../../tests/support/net-faults";
import { deleteMatching } from "../../tests/support/redis-keys";
import type { TcpRedis } from "../cache/redis-target";
import { connectTcp } from "../cache/tcp-client";
import { TEST_REDIS } from "../../tests/support/services";
import { pageCacheCodec } from "./codec";
import LobbyCacheHandler, { installPageCache, type Stored } from "./next-cache-handler";
import { PageCache, pageCacheKeys } from "./page-cache";
import { HOME_PAGE_TAGS, STALE_PAGE_MARKER, pathTags } from "./page-tags";

/*
 * The page cache through Next's handler interface, against the real Redis. Each "instance"
 * is a PageCache with its own connection and memo, as each `next start` has; the forced
 * interleavings are the ones Next produces: lookup (miss), render, store.
 */

const prefix = `test:pages:${randomBytes(4).toString("hex")}:`;
const redis = connectTcp(TEST_REDIS);
const stores: ReturnType<typeof createIoredisStore>[] = [];
const guards: GuardedStore[] = [];

/**
 * One instance's page cache. Protocol tests get generous deadlines, so a loaded test machine
 * cannot turn them into fault tests; fault tests pass the production defaults (`{}`).
 */
function instance(url: TcpRedis | string = TEST_REDIS, guard: GuardOptions = { readDeadlineMs: 2_000, writeDeadlineMs: 2_000 }): PageCache<Stored> {
  const store = createIoredisStore(url);
  stores.push(store);
  guards.push(new GuardedStore(store, guard));
  return new PageCache<Stored>({
    guarded: guards.at(-1)!,
    keys: pageCacheKeys(prefix),
    encode: pageCacheCodec.encode,
    decode: (body) => pageCacheCodec.decode<Stored>(body),
  });
}

/** A rendered page as Next hands it to `set`: HTML, RSC payload (a Buffer), segments (a Map), tags. */
function page(html: string, tags = HOME_PAGE_TAGS): IncrementalCacheValue {
  return {
    kind: "APP_PAGE",
    html,
    rscData: Buffer.from(`rsc:${html}`),
    headers: { "x-next-cache-tags": ["_N_T_/layout", "_N_T_/page", ...tags].join(",") },
    postponed: undefined,
    status: 200,
    segmentData: new Map([["/_tree", Buffer.from("tree")]]),
  } as IncrementalCacheValue;
}

const KEY = "/index";
const ctx = { kind: "APP_PAGE" };
const setCtx = { cacheControl: { revalidate: 300, expire: 31_536_000 } };
const handler = new LobbyCacheHandler();
const htmlOf = (v: { value: IncrementalCacheValue | null } | null) => (v?.value?.kind === "APP_PAGE" ? v.value.html : null);

beforeEach(async () => {
  await deleteMatching(redis, `${prefix}*`);
});

afterAll(async () => {
  installPageCache(null);
  await deleteMatching(redis, `${prefix}*`);
  for (const g of guards) g.dispose();
  await Promise.all(stores.map((s) => s.close()));
  redis.disconnect();
});

describe("page cache handler", () => {
  it("stores a render and serves it, Buffers and Maps intact, to this and another instance", async () => {
    const a = instance();
    installPageCache(a);
    expect(await handler.get(KEY, ctx)).toBeNull();
    await handler.set(KEY, page("<p>v1</p>"), setCtx);
    const hit = await handler.get(KEY, ctx);
    expect(htmlOf(hit)).toBe("<p>v1</p>");
    installPageCache(instance());
    const other = await handler.get(KEY, ctx);
    expect(htmlOf(other)).toBe("<p>v1</p>");
    const value = other?.value as Extract<IncrementalCacheValue, { kind: "APP_PAGE" }>;
    expect(Buffer.isBuffer(value.rscData) && value.rscData.toString()).toBe("rsc:<p>v1</p>");
    expect(value.segmentData?.get("/_tree")?.toString()).toBe("tree");
    expect(other?.cacheControl).toEqual(setCtx.cacheControl);
  });

  it("an invalidation that lands while a page renders is not lost (the forced race)", async () => {
    const a = instance();
    installPageCache(a);
    await handler.get(KEY, ctx); // miss: Next starts rendering, having read the old data
    await instance().invalidate(HOME_PAGE_TAGS, "hard"); // a write commits on another instance
    await handler.set(KEY, page("<p>old</p>"), setCtx); // the render finishes after it
    // Next's own cache would now serve "old" as fresh. Here the next request renders.
    expect(await handler.get(KEY, ctx)).toBeNull();
    await handler.set(KEY, page("<p>new</p>"), setCtx);
    expect(htmlOf(await handler.get(KEY, ctx))).toBe("<p>new</p>");
  });

  it("Redis loses its data while a page renders → the render from before the loss is not served as fresh after writes", async () => {
    const a = instance();
    installPageCache(a);
    // A busy clock: many invalidations before the loss.
    for (let i = 0; i < 20; i++) await a.invalidate(HOME_PAGE_TAGS, "hard");
    await handler.get(KEY, ctx); // miss: a render starts, stamped with today's clock
    await deleteMatching(redis, `${prefix}*`); // Redis restarts empty (or FLUSHDB)
    for (let i = 0; i < 3; i++) await instance().invalidate(HOME_PAGE_TAGS, "hard"); // writes after the loss
    await handler.set(KEY, page("<p>rendered before the loss</p>"), setCtx); // the old render finishes
    // A counter that restarted (1, 2, 3) would take the old stamp for the newer one.
    expect(await handler.get(KEY, ctx)).toBeNull();
    await handler.set(KEY, page("<p>after</p>"), setCtx);
    expect(htmlOf(await handler.get(KEY, ctx))).toBe("<p>after</p>");
  });

  it("Redis evicts the marks but keeps an expired entry → the entry stays expired", async () => {
    installPageCache(instance());
    await handler.get(KEY, ctx);
    await handler.set(KEY, page("<p>before the write</p>"), setCtx);
    await instance().invalidate(HOME_PAGE_TAGS, "hard"); // a write expires it
    await redis.del(pageCacheKeys(prefix).marks); // an eviction takes the marks (and the clock with them)
    expect(await handler.get(KEY, ctx)).toBeNull();
  });

  it("every slot of the home page is one entry, and a render made for a URL with a query string is never stored", async () => {
    installPageCache(instance());
    const slot = (n: string) => `/route-cache/APP_PAGE/0a1b/$/home/${n}`;
    await handler.get(slot("1-q"), ctx);
    await handler.set(slot("1-q"), page("<p>carries ?utm=x</p>"), setCtx);
    expect(await handler.get(slot("2"), ctx)).toBeNull();
    await handler.set(slot("2"), page("<p>canonical</p>"), setCtx);
    expect(htmlOf(await handler.get(slot("3"), ctx))).toBe("<p>canonical</p>");
    expect(htmlOf(await handler.get(slot("4-q"), ctx))).toBe("<p>canonical</p>"); // a query may read it
    // Writers mark the home page's tags, which every slot's entry carries.
    await instance().invalidate(HOME_PAGE_TAGS, "hard");
    expect(await handler.get(slot("5"), ctx)).toBeNull();
  });

  it("renders of two slots in flight at once each store under their own stamp: the older never takes the newer's (the forced race)", async () => {
    installPageCache(instance());
    const slot = (n: number) => `/route-cache/APP_PAGE/0a1b/$/home/${n}`;
    await handler.get(slot(1), ctx);
    await handler.set(slot(1), page("<p>v0</p>"), setCtx);
    await instance().invalidate(HOME_PAGE_TAGS, "soft"); // the stats refresh: served stale once while one render refreshes
    expect(htmlOf(await handler.get(slot(2), ctx))).toBe("<p>v0</p>"); // stale: Next serves it and re-renders in the background, reading the data now
    await instance().invalidate(HOME_PAGE_TAGS, "hard"); // a write commits and is acknowledged
    expect(await handler.get(slot(3), ctx)).toBeNull(); // a request after it: its batch renders the new data
    await handler.set(slot(3), page("<p>new</p>"), setCtx);
    await instance().invalidate(HOME_PAGE_TAGS, "hard"); // another write
    expect(await handler.get(slot(4), ctx)).toBeNull(); // a request after it renders too...
    await handler.set(slot(2), page("<p>before both writes</p>"), setCtx); // ...when the background render from before both writes finishes
    // Stamped with the clock of slot 4's lookup, it would be served as fresh now.
    expect(await handler.get(slot(5), ctx)).toBeNull();
    await handler.set(slot(4), page("<p>newest</p>"), setCtx);
    expect(htmlOf(await handler.get(slot(6), ctx))).toBe("<p>newest</p>");
  });

  it("a write on one instance expires the page on the other's next lookup", async () => {
    installPageCache(instance());
    await handler.get(KEY, ctx);
    await handler.set(KEY, page("<p>v1</p>"), setCtx);
    const b = instance();
    installPageCache(b);
    expect(htmlOf(await handler.get(KEY, ctx))).toBe("<p>v1</p>");
    await b.invalidate(pathTags("/"), "hard");
    expect(await handler.get(KEY, ctx)).toBeNull();
  });

  it("a soft mark serves the page as stale once (Next renders in the background), then fresh after the render", async () => {
    installPageCache(instance());
    await handler.get(KEY, ctx);
    await handler.set(KEY, page("<p>v1</p>"), setCtx);
    await instance().invalidate(HOME_PAGE_TAGS, "soft");
    const stale = await handler.get(KEY, ctx);
    expect(htmlOf(stale)).toBe("<p>v1</p>");
    // Presented as past its revalidate time, which is how Next knows to serve and refresh.
    expect(stale!.lastModified + 300_000).toBeLessThan(Date.now());
    await handler.set(KEY, page("<p>v2</p>"), setCtx);
    const fresh = await handler.get(KEY, ctx);
    expect(htmlOf(fresh)).toBe("<p>v2</p>");
    expect(fresh!.lastModified + 300_000).toBeGreaterThan(Date.now());
  });

  it("past its revalidate time, one slot's render refreshes the page: other slots get it as fresh meanwhile; a write still expires it", async () => {
    installPageCache(instance());
    const slot = (n: number) => `/route-cache/APP_PAGE/0a1b/$/home/${n}`;
    await handler.get(slot(1), ctx);
    await handler.set(slot(1), page("<p>v1</p>"), setCtx);
    const realNow = Date.now.bind(Date);
    const later = vi.spyOn(Date, "now").mockImplementation(() => realNow() + 301_000);
    try {
      const first = await handler.get(slot(2), ctx);
      expect(htmlOf(first)).toBe("<p>v1</p>");
      expect(first!.lastModified + 300_000).toBeLessThan(Date.now()); // past its time: Next renders slot 2 in the background
      const meanwhile = await handler.get(slot(3), ctx);
      expect(htmlOf(meanwhile)).toBe("<p>v1</p>");
      expect(meanwhile!.lastModified + 300_000).toBeGreaterThan(Date.now()); // fresh: no second render
      await handler.set(slot(2), page("<p>v2</p>"), setCtx);
      const refreshed = await handler.get(slot(4), ctx);
      expect(htmlOf(refreshed)).toBe("<p>v2</p>");
      expect(refreshed!.lastModified + 300_000).toBeGreaterThan(Date.now());
      // Aged again, and a write lands while its refresh renders: the next lookup is a miss, not "fresh".
      later.mockImplementation(() => realNow() + 602_000);
      expect((await handler.get(slot(5), ctx))!.lastModified + 300_000).toBeLessThan(Date.now());
      await instance().invalidate(HOME_PAGE_TAGS, "hard");
      expect(await handler.get(slot(6), ctx)).toBeNull();
    } finally {
      later.mockRestore();
    }
  });

  it("tags the page does not carry leave it alone", async () => {
    installPageCache(instance());
    await handler.get(KEY, ctx);
    await handler.set(KEY, page("<p>v1</p>"), setCtx);
    await instance().invalidate(pathTags("/dashboard"), "hard");
    expect(htmlOf(await handler.get(KEY, ctx))).toBe("<p>v1</p>");
  });

  it("a render that began earlier does not replace one that began later", async () => {
    const a = instance();
    const b = instance();
    const { clock: aStarted } = await a.lookup(`test:${KEY}`); // A starts rendering at the current clock
    await b.invalidate(HOME_PAGE_TAGS, "hard");
    installPageCache(b);
    await handler.get(KEY, ctx); // B starts later, after the write
    await handler.set(KEY, page("<p>new</p>"), setCtx);
    expect(await a.store(`test:${KEY}`, { value: page("<p>old</p>"), lastModified: Date.now() }, aStarted, HOME_PAGE_TAGS, 60)).toBe(false);
    expect(htmlOf(await handler.get(KEY, ctx))).toBe("<p>new</p>");
  });

  it("does not keep a page rendered from a saved copy, nor re-stamp a served page Next stores back", async () => {
    installPageCache(instance());
    await handler.get(KEY, ctx);
    await handler.set(KEY, page(`<div ${STALE_PAGE_MARKER}>saved</div>`), setCtx);
    expect(await handler.get(KEY, ctx)).toBeNull();
    await handler.set(KEY, page("<p>v1</p>"), setCtx);
    await instance().invalidate(HOME_PAGE_TAGS, "soft");
    const stale = await handler.get(KEY, ctx);
    // The background render failed: Next stores the entry it served back. Still stale.
    await handler.set(KEY, stale!.value, { cacheControl: { revalidate: 3, expire: 31_536_000 } });
    const again = await handler.get(KEY, ctx);
    expect(again!.lastModified + 300_000).toBeLessThan(Date.now());
  });

  it("with Redis unreachable a lookup is a miss and a store is skipped, without throwing, and the circuit opens", async () => {
    installPageCache(instance(`redis://127.0.0.1:${await closedPort()}`, {}));
    for (let i = 0; i < 5; i++) {
      expect(await handler.get(KEY, ctx)).toBeNull();
      await handler.set(KEY, page("<p>v1</p>"), setCtx);
      await handler.revalidateTag(HOME_PAGE_TAGS);
    }
    // Open: no later call waits on Redis (GuardedStore's own tests time the deadline itself).
    expect(guards.at(-1)!.state).toBe("open");
  });

  it("with the cache off it neither serves nor stores", async () => {
    installPageCache(null);
    await handler.set(KEY, page("<p>v1</p>"), setCtx);
    expect(await handler.get(KEY, ctx)).toBeNull();
    expect(await redis.exists(pageCacheKeys(prefix).entry(`test:${KEY}`))).toBe(0);
  });

  it("serves a page only to the build that rendered it (its HTML names that build's assets)", async () => {
    installPageCache(instance(), "build-1");
    await handler.get(KEY, ctx);
    await handler.set(KEY, page("<p>v1</p>"), setCtx);
    expect(await redis.exists(pageCacheKeys(prefix).entry(`build-1:${KEY}`))).toBe(1);
    installPageCache(instance(), "build-2");
    expect(await handler.get(KEY, ctx)).toBeNull();
    installPageCache(instance(), "build-1");
    expect(htmlOf(await handler.get(KEY, ctx))).toBe("<p>v1</p>");
  });

  it("revalidateTag: no profile expires, a profile marks stale", async () => {
    installPageCache(instance());
    await handler.get(KEY, ctx);
    await handler.set(KEY, page("<p>v1</p>"), setCtx);
    await handler.revalidateTag(HOME_PAGE_TAGS, { expire: 31_536_000 });
    expect(htmlOf(await handler.get(KEY, ctx))).toBe("<p>v1</p>");
    await handler.revalidateTag(HOME_PAGE_TAGS[0]!);
    expect(await handler.get(KEY, ctx)).toBeNull();
  });
});
