import { randomUUID } from "node:crypto";
import { ExponentialBackoff, handleAll, retry } from "cockatiel";
import { freshEpoch } from "../cache/epoch-counter";
import type { GuardedStore } from "../cache/guarded-store";
import { createKeys } from "../cache/keys";
import { PAGE_GET, PAGE_INVALIDATE, PAGE_SET, pageInvalidateCall, parseLookup, type EntryState } from "./protocol";

/** Redis keys of the page cache (named in lib/cache/keys.ts). */
export function pageCacheKeys(prefix: string) {
  const keys = createKeys(prefix);
  return { marks: keys.pagesMarks, entry: keys.pagesEntry };
}

export type PageCacheKeys = ReturnType<typeof pageCacheKeys>;

/** What a lookup hands back: the decoded entry (when usable) and the render stamp. */
export interface PageLookup<T> {
  /** The clock as the lookup read it (`<epoch>.<n>`); "" when Redis could not be read. */
  clock: string;
  state: EntryState | "miss";
  value?: T;
}

/** Options of {@link PageCache}. */
export interface PageCacheOptions<T> {
  guarded: GuardedStore;
  keys: PageCacheKeys;
  encode: (value: T) => string;
  decode: (body: string) => T;
  /** Decoded entries kept in memory, so a hit moves only the freshness check. Default 200. */
  memoSize?: number;
  onError?: (error: unknown, op: string) => void;
}

/**
 * Rendered pages in Redis, shared by every web instance, under the clock protocol of
 * ./protocol.ts. Never throws: with Redis slow or down a lookup is a miss (the page
 * renders) and a store is skipped.
 */
export class PageCache<T> {
  private readonly memo = new Map<string, { version: string; value: T }>();
  private readonly memoSize: number;
  private readonly retryPolicy = retry(handleAll, { maxAttempts: 2, backoff: new ExponentialBackoff({ initialDelay: 20, maxDelay: 100 }) });

  constructor(private readonly options: PageCacheOptions<T>) {
    this.memoSize = options.memoSize ?? 200;
  }

  async lookup(key: string): Promise<PageLookup<T>> {
    const { guarded, keys } = this.options;
    const known = this.memo.get(key);
    let reply;
    try {
      reply = parseLookup(
        await guarded.readTrusted((s) => s.eval(PAGE_GET, [keys.entry(key), keys.marks], [known?.version ?? "", freshEpoch()])),
      );
    } catch (error) {
      this.options.onError?.(error, "lookup");
      // No stamp: a render from here is never stored.
      return { clock: "", state: "miss" };
    }
    const { clock, entry } = reply;
    if (!entry || entry.state === "expired") return { clock, state: entry ? "expired" : "miss" };
    if (entry.body === undefined) {
      if (known?.version === entry.version) return { clock, state: entry.state, value: known.value };
      return { clock, state: "miss" };
    }
    let value: T;
    try {
      value = this.options.decode(entry.body);
    } catch (error) {
      this.options.onError?.(error, "decode");
      return { clock, state: "miss" };
    }
    this.remember(key, entry.version, value);
    return { clock, state: entry.state, value };
  }

  /**
   * Stores a render stamped with the clock read before it began. Refused (false) when the
   * entry already holds a render that began later.
   */
  async store(key: string, value: T, stamp: string, tags: string[], ttlSeconds: number): Promise<boolean> {
    const { guarded, keys } = this.options;
    // With the circuit open, or no stamp, the store would be refused anyway: skip encoding ~150 KB.
    if (!guarded.available || !stamp) return false;
    const version = `${stamp}.${randomUUID().slice(0, 8)}`;
    try {
      const body = this.options.encode(value);
      const stored = await guarded.write((s) =>
        s.eval(
          PAGE_SET,
          [keys.entry(key), keys.marks],
          [version, stamp, tags.join(","), body, Math.max(1, Math.round(ttlSeconds)), freshEpoch()],
        ),
      );
      if (Number(stored) === 1) this.remember(key, version, value);
      return Number(stored) === 1;
    } catch (error) {
      this.options.onError?.(error, "store");
      return false;
    }
  }

  /**
   * Marks tags: `hard` expires every page carrying one (the next request renders first),
   * `soft` makes them stale (served once more while one render refreshes). Rejects when
   * Redis cannot take it: a write's marks go through the invalidation log, which keeps
   * them until they are applied (lib/cache/invalidation).
   */
  async mark(tags: string[], mode: "hard" | "soft"): Promise<void> {
    if (tags.length === 0) return;
    const call = pageInvalidateCall(this.options.keys, tags, mode);
    await this.options.guarded.write((s) => s.eval(PAGE_INVALIDATE, call.keys, call.args));
  }

  /**
   * {@link mark}, retried once, for marks nobody is owed (the stats' refresh, the
   * reconciler's repairs): false when Redis could not be reached (the entries' TTL bounds it).
   */
  async invalidate(tags: string[], mode: "hard" | "soft"): Promise<boolean> {
    try {
      await this.retryPolicy.execute(() => this.mark(tags, mode));
      return true;
    } catch (error) {
      this.options.onError?.(error, "invalidate");
      return false;
    }
  }

  private remember(key: string, version: string, value: T): void {
    this.memo.delete(key);
    this.memo.set(key, { version, value });
    if (this.memo.size > this.memoSize) this.memo.delete(this.memo.keys().next().value as string);
  }
}
