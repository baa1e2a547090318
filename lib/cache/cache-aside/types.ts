import type { z } from "zod";
import type { Metrics } from "../../observability/metrics";
import type { GuardedStore } from "../guarded-store";
import type { Keys } from "../keys";

/** Where a read's answer came from. */
export type Source = "cache" | "db" | "stale";

export interface ReadSpec<T> {
  /** Metrics label: rooms-all, room, rooms-count, ... */
  cache: string;
  key: string;
  /** Validates the cached data; it must also turn ISO strings back into Dates. */
  schema: z.ZodType<T>;
  ttlSeconds: number;
  staleTtlSeconds: number;
  /** Reads Postgres; returns the data and the Postgres-side version it was read at. */
  load: () => Promise<{ data: T; version: number }>;
  /** False for values not worth caching (an unknown id): returned, lock released, nothing set. Default: all. */
  shouldCache?: (data: T) => boolean;
  /**
   * A sorted set on the key's hash slot to read in the same round trip when the key hits
   * (the room list's order), with the signature of the copy the caller holds, if any.
   */
  alongside?: { key: string; knownSignature?: string };
}

export interface ReadResult<T> {
  data: T;
  source: Source;
  version: number;
  /** The spec's `alongside` set, when the read hit and Redis answered both. */
  alongside?: SortedSetRead;
}

/**
 * A sorted set as Redis held it: `signature` (SHA-1 of its members and scores, in order) and
 * `flat` (member, score, member, score, ...), left out when the signature is the caller's.
 */
export interface SortedSetRead {
  signature: string;
  flat?: string[];
}

export interface CacheAsideHooks {
  /** Runs between the loader's Postgres read and its cache set: tests pause here to force races. */
  afterLoad?: (key: string) => Promise<void> | void;
}

/** Options of CacheAside. */
export interface CacheAsideOptions {
  /** null when the cache is disabled: every read goes to Postgres, every write skips Redis. */
  guarded: GuardedStore | null;
  keys: Keys;
  metrics: Metrics;
  /**
   * How long a reader waits for another caller's load before querying Postgres itself.
   * Default 3000 ms, the load deadline: a live loader publishes within it, even when an
   * overloaded event loop delays it (a 1 s budget let 250 of 500 stampeding requests fall
   * through to Postgres in the benchmark).
   */
  waitForLoaderMs?: number;
  /**
   * Deadline of one Postgres load, in ms. Default 3000. Past it the load counts as failed,
   * so a hung database yields the saved copy (or an error) rather than a hung request.
   */
  loadTimeoutMs?: number;
  hooks?: CacheAsideHooks;
  /** Turns the generation guard off. Only the test that demonstrates the race sets this. */
  unsafeDisableGuard?: boolean;
  onError?: (error: unknown, context: { op: string; key: string }) => void;
}

/** What one load (or wait for another caller's load) ended with. */
export interface LoadOutcome<T> {
  result: ReadResult<T>;
  /** True when the value is known to be current: the guarded populate succeeded. */
  published: boolean;
  /** When this outcome's Postgres read began (performance.now()), if it made one. */
  loadStartedAt?: number;
}
