/*
 * No request joins a render of the home page that began before it arrived.
 *
 * Next batches concurrent requests for one cache key: while a lookup or render of `/` is in
 * flight, every request for `/` waits for it and gets its result. A request that arrives
 * just after a write's 2xx would so get a page whose data was read before the write, for as
 * long as that render takes (measured: reads 0-60 ms after the acknowledgement, more on a
 * loaded machine). The proxy (proxy.ts) therefore sends each request for `/` to a numbered
 * slot, `/home/<slot>`, a route of its own (app/home/[slot]): the cache key, and so Next's
 * batch, is per slot. The slot handed out is the one whose batch has not begun: once the
 * page cache's handler is asked for slot n (its batch begins), later requests get n + 1.
 * A batch looks its entry up at once; on a miss it waits for the batch before it to finish
 * (a render at a time per process) and looks again, so requests still gather into few
 * renders: at most one behind the one in flight, as Next's own batching did, but never one
 * that began before them. What a lookup finds is safe whenever it was stored: an entry
 * carries the page cache's clock from when its render began, and a write's mark after that
 * makes it stale (lib/page-cache/protocol.ts).
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
 * The handler: slot `slot`'s batch begins (Next asked for its cache entry; `canonical` false
 * for its `-q` path). From this call on, requests go to the next slot. The promise resolves
 * once the batch begun before it is done (at once if there is none; `waited` true if there
 * was one), or after MAX_WAIT_MS. The handler looks its entry up at once (a hit needs no
 * order) and waits for it only on a miss, before it lets Next render: so renders still go
 * one at a time per process, and the waiting batch looks again, finding what the one before
 * stored. {@link endBatch} says this one is done (a hit served, or its render stored).
 */
export function beginBatch(slot: number, canonical = true): Promise<{ waited: boolean }> {
  const s = state();
  if (slot >= s.open) s.open = slot + 1;
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
  // A batch that never says it is done (its render failed) frees the next one after MAX_WAIT_MS.
  setTimeout(batch.finish, MAX_WAIT_MS).unref();
  if (!before) return Promise.resolve({ waited: false });
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([before.done, new Promise<void>((r) => (timer = setTimeout(r, MAX_WAIT_MS).unref()))]).then(() => {
    clearTimeout(timer);
    return { waited: true };
  });
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
