/*
 * No request joins a render of the home page that began before it arrived.
 *
 * Next batches concurrent requests for one cache key: while a lookup or render of `/` is in
 * flight, every request for `/` waits for it and gets its result. A request that arrives
 * just after a write's 2xx would so get a page whose data was read before the write, for as
 * long as that render takes (measured: reads 0-60 ms after the acknowledgement, more on a
 * loaded machine). The proxy (proxy.ts) therefore sends each request for `/` to a numbered
 * slot, `/home/<slot>`, a route of its own (app/home/[slot]): the cache key, and so Next's
 * batch, is per slot. The slot handed out is the one whose batch has not begun. A batch
 * waits for the one before it to finish (a lookup or a render at a time per process), its
 * slot open meanwhile; once it begins (its lookup), later requests get the next slot. So
 * requests still gather into few lookups and renders: the ones that arrive during a
 * render share the next one, as Next's own batching did, but never one that began before
 * they arrived. What a lookup finds is safe whenever it was stored: an entry carries the
 * page cache's clock from when its render began (lib/page-cache/next-cache-handler.ts keeps
 * it per slot), and a write's mark after that makes it stale (lib/page-cache/protocol.ts).
 *
 * The state lives on globalThis: the proxy and the handler are bundled apart but run in one
 * process. Every slot maps to one entry of the page cache (lib/page-cache/next-cache-handler.ts).
 */

/** The route the proxy rewrites `/` to; every slot of it is the home page. */
export const HOME_SLOT_PREFIX = "/home/";

/** The longest a batch waits for the one before it (a render that failed never says it finished). */
const MAX_WAIT_MS = 1_000;

interface Batch {
  /** Resolves when the batch is done (or after MAX_WAIT_MS). */
  done: Promise<void>;
  finish: () => void;
}

interface GateState {
  /** The slot the next request for the home page is sent to (its batch has not begun). */
  open: number;
  /** The newest batch begun: the next one waits for it. */
  current?: Batch;
  /**
   * Batches not done yet, by slot path (`12`, `12-q`: a request with a query string has a
   * batch of its own in the same slot). Each is ended by its own slot, whether or not a
   * newer one has begun meanwhile: the next batch is usually waiting for it already.
   */
  running: Map<string, Batch>;
}

const g = globalThis as unknown as { __lobbyRenderGate?: GateState };
const state = (): GateState => (g.__lobbyRenderGate ??= { open: 1, running: new Map() });

/**
 * The proxy: where to send a request for the home page that arrives now. `canonical` false
 * for a request with a query string: it may be served the shared page, but its own render
 * (which carries its URL) must never become the shared page: a `-q` slot is never stored.
 */
export function homeSlotPath(canonical = true): string {
  return `${HOME_SLOT_PREFIX}${state().open}${canonical ? "" : "-q"}`;
}

/**
 * A path of the home page's route (`/home/12`, `/home/12-q`), or Next's cache key of one,
 * which ends in it (`/route-cache/APP_PAGE/<route hash>/$/home/12`).
 */
const SLOT_PATH = /(?:^|\$)\/home\/(\d{1,15})(-q)?$/;

/** The slot of a cache key or path of the home page's route, if it is one; `canonical` false for a `-q` slot. */
export function parseHomeSlot(path: string): { slot: number; canonical: boolean } | undefined {
  const match = SLOT_PATH.exec(path);
  const slot = match ? Number(match[1]) : 0;
  return match && slot > 0 ? { slot, canonical: match[2] === undefined } : undefined;
}

/** The slot of a cache key or path of the home page's route, if it is one. */
export function homeSlot(path: string): number | undefined {
  return parseHomeSlot(path)?.slot;
}

/** The same cache key with the slot taken out: every slot is one entry of the page cache. */
export function withoutSlot(cacheKey: string): string {
  return cacheKey.replace(/\/home\/\d{1,15}(-q)?$/, "/home");
}

/**
 * The handler: Next asked for slot `slot`'s cache entry (`canonical` false: its `-q` path).
 * Resolves once the batch begun before it is done (or after MAX_WAIT_MS): then this batch
 * begins (its lookup, its render) and requests that arrive from then on go to the next
 * slot. Until then the slot stays open, so the requests that arrive while the batch before
 * looks up or renders gather into this one (Next batches them on the slot's key): they
 * arrived before this batch read anything. {@link endBatch} says this one is done (a hit
 * served, or its render stored).
 */
export async function beginBatch(slot: number, canonical = true): Promise<void> {
  const s = state();
  const id = batchId(slot, canonical);
  const before = s.current;
  // The same slot asked for again (its earlier batch finished without saying so): never leave a waiter behind.
  s.running.get(id)?.finish();
  let resolve!: () => void;
  const batch: Batch = {
    done: new Promise<void>((r) => (resolve = r)),
    finish: () => {
      resolve();
      if (s.running.get(id) === batch) s.running.delete(id);
      if (s.current === batch) s.current = undefined;
    },
  };
  s.current = batch;
  s.running.set(id, batch);
  if (before) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([before.done, new Promise<void>((r) => (timer = setTimeout(r, MAX_WAIT_MS).unref()))]);
    clearTimeout(timer);
  }
  // The batch begins: its slot closes before anything is read.
  if (slot >= s.open) s.open = slot + 1;
  // A batch that never says it is done (its render failed) frees the next one after MAX_WAIT_MS.
  setTimeout(batch.finish, MAX_WAIT_MS).unref();
}

/**
 * Slot `slot`'s batch is done: the next one may begin. Not only when it is the newest: a
 * batch that begins while this one looks up waits for it, and must not wait out
 * MAX_WAIT_MS instead (that made every concurrent hit of the home page take a second).
 */
export function endBatch(slot: number, canonical = true): void {
  state().running.get(batchId(slot, canonical))?.finish();
}

const batchId = (slot: number, canonical: boolean) => `${slot}${canonical ? "" : "-q"}`;
