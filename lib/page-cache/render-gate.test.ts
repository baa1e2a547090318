import ResponseCache from "next/dist/server/response-cache";
import RenderResult from "next/dist/server/render-result";
import { afterEach, describe, expect, it, vi } from "vitest";
import { gate } from "../../tests/support/net-faults";
import LobbyCacheHandler, { installPageCache } from "./next-cache-handler";
import { beginBatch, endBatch, homeSlotPath } from "./render-gate";

/*
 * Requests that arrive after a write never join a render that began before it, driven
 * through Next's own ResponseCache (the batching the proxy's slots exist for) with the page
 * cache's handler as its incremental cache. The cache is off here, as with Redis down or
 * CACHE_ENABLED=false, where every batch renders; with it on, a batch that hits ends at once.
 */

const handler = new LobbyCacheHandler();
const incrementalCache = {
  async get(key: string, ctx: { kind?: unknown }) {
    const found = await handler.get(key, ctx);
    return found && { ...found, isStale: false };
  },
  set: (key: string, value: never, ctx: { cacheControl?: never }) => handler.set(key, value, ctx),
};
const context = { incrementalCache, isOnDemandRevalidate: false, isFallback: false, isRoutePPREnabled: false, isPrefetch: false } as never;

/** The "database" the page shows, and a render that reads it first, then may be held before it finishes. */
let roomName = "Before";
let hold: ReturnType<typeof gate> | undefined;
const render = async () => {
  const name = roomName; // the render's data read
  await hold?.pass();
  return {
    value: { kind: "APP_PAGE", html: RenderResult.fromStatic(`<p>${name}</p>`, "text/html; charset=utf-8"), rscData: Buffer.from(name), headers: {}, status: 200, postponed: undefined, segmentData: new Map() },
    cacheControl: { revalidate: 300, expire: 31_536_000 },
  } as never;
};
const html = async (entry: Promise<unknown>) => ((await entry) as { value: { html: RenderResult } }).value.html.toUnchunkedString();

afterEach(() => {
  hold = undefined;
  roomName = "Before";
});

describe("render gate (the home page's slots)", () => {
  installPageCache(null);
  const responseCache = new ResponseCache({ minimalMode: false, route: { kind: "APP_PAGE" } as never });

  it("a request that arrives after a write's 2xx never joins the render that began before it", async () => {
    hold = gate();
    const first = responseCache.get(homeSlotPath(), render, context); // a render begins, reads "Before"
    await hold.arrived;
    roomName = "After"; // a write commits and is acknowledged meanwhile
    const second = responseCache.get(homeSlotPath(), render, context); // a request that arrives after the 2xx
    hold.open();
    expect(await html(first)).toBe("<p>Before</p>"); // it began before the write: allowed
    expect(await html(second)).toBe("<p>After</p>");
  });

  it("requests that arrive together still share one render (as Next batches them)", async () => {
    let renders = 0;
    const counted = async () => {
      renders++;
      return render();
    };
    const pages = await Promise.all(Array.from({ length: 20 }, () => html(responseCache.get(homeSlotPath(), counted, context))));
    expect(new Set(pages)).toEqual(new Set(["<p>Before</p>"]));
    expect(renders).toBe(1);
  });

  it("requests that arrive during a render share one render after it, begun after they all arrived", async () => {
    let renders = 0;
    const counted = async () => {
      renders++;
      return render();
    };
    hold = gate();
    const first = responseCache.get(homeSlotPath(), counted, context); // a render begins, reads "Before"
    await hold.arrived;
    roomName = "After"; // a write is acknowledged
    const late = Array.from({ length: 5 }, () => responseCache.get(homeSlotPath(), counted, context));
    await new Promise((resolve) => setImmediate(resolve));
    const later = responseCache.get(homeSlotPath(), counted, context); // arrives while they wait: still their slot
    hold.open();
    expect(await html(first)).toBe("<p>Before</p>");
    expect(new Set(await Promise.all([...late, later].map(html)))).toEqual(new Set(["<p>After</p>"]));
    expect(renders).toBe(2);
  });

  it("without slots (one cache key, as before), Next hands the late request the older render: the test above can fail", async () => {
    hold = gate();
    const first = responseCache.get("/index", render, context);
    await hold.arrived;
    roomName = "After";
    const second = responseCache.get("/index", render, context);
    hold.open();
    await first;
    expect(await html(second)).toBe("<p>Before</p>");
  });
});

describe("batches that overlap (concurrent hits of the home page)", () => {
  // Only the safety timeout is faked: it never fires here, so a batch left waiting for it stays pending.
  afterEach(() => vi.useRealTimers());
  const settled = () => new Promise<void>((resolve) => setImmediate(resolve));

  it("a batch that began while the one before was still looking up starts when that one ends, not after the safety timeout", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    await beginBatch(1001); // a hit's lookup is in flight...
    let started = false;
    const next = beginBatch(1002).then(() => (started = true)); // ...when requests that arrived meanwhile ask for the next slot
    await settled();
    expect(started).toBe(false); // it waits for the one before
    endBatch(1001); // the hit is served
    await settled();
    expect(started).toBe(true);
    endBatch(1002);
    await next;
  });

  it("a slot's query-string batch is ended by its own path, not by the canonical one", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    await beginBatch(1003, false); // a request with a query string (the client router's _rsc) looks up
    const canonical = beginBatch(1003); // the slot's canonical path begins behind it
    endBatch(1003, false);
    await canonical;
    let started = false;
    const next = beginBatch(1004).then(() => (started = true));
    endBatch(1003, false); // the query-string path says it is done again (its render stored, say)
    await settled();
    expect(started).toBe(false); // the canonical batch, the one just before, is still running
    endBatch(1003);
    await settled();
    expect(started).toBe(true);
    endBatch(1004);
    await next;
  });
});

describe("home slots in Next's cache keys", () => {
  it("finds the slot in a path and in Next 16's route-cache key, and maps every slot to one entry", async () => {
    const { homeSlot, withoutSlot } = await import("./render-gate");
    expect(homeSlot("/home/12")).toBe(12);
    const key = "/route-cache/APP_PAGE/c87f8102a62b2b1b/$/home/7";
    expect(homeSlot(key)).toBe(7);
    expect(withoutSlot(key)).toBe("/route-cache/APP_PAGE/c87f8102a62b2b1b/$/home");
    expect(homeSlot("/route-cache/APP_PAGE/abc/$/index")).toBeUndefined();
    expect(homeSlot("/home/0")).toBeUndefined(); // a form post's slot: never cached, never gated
    expect(homeSlot("/rooms/home/3")).toBeUndefined();
  });
});

describe("slots of requests with a query string", () => {
  it("are parsed as not canonical, and map to the same entry", async () => {
    const { parseHomeSlot, withoutSlot } = await import("./render-gate");
    expect(parseHomeSlot("/route-cache/APP_PAGE/abc/$/home/7-q")).toEqual({ slot: 7, canonical: false });
    expect(parseHomeSlot("/home/7")).toEqual({ slot: 7, canonical: true });
    expect(withoutSlot("/route-cache/APP_PAGE/abc/$/home/7-q")).toBe("/route-cache/APP_PAGE/abc/$/home");
  });
});
