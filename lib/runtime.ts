import { probePass } from "./bench/probe";
import { CacheAside, type CacheAsideHooks } from "./cache/cache-aside";
import { createCacheStore } from "./cache/create-store";
import { GuardedStore, type GuardOptions } from "./cache/guarded-store";
import { createKeys, ttlsFor, type Keys, type Ttls } from "./cache/keys";
import type { CacheStore } from "./cache/store";
import { createDb, type DbHandle } from "./db/client";
import { ReplicaIdentity, primarySystemIdOnce } from "./db/replicas/identity";
import { PrimaryLsn, readPrimaryLsn } from "./db/replicas/primary-lsn";
import { ReadRouter, type DbReads } from "./db/replicas/read-router";
import { Replica, replicaName, type ReplicaOptions } from "./db/replicas/replica";
import { env, type Env } from "./env";
import { noRateLimit, RedisRateLimiter, type RateLimiter } from "./limits/rate-limiter";
import { MessageCacheService } from "./messages/message-cache-service";
import { MessageService } from "./messages/message-service";
import { logger } from "./observability/logger";
import { metrics } from "./observability/metrics";
import { pageCacheCodec } from "./page-cache/codec";
import { PageCache, pageCacheKeys } from "./page-cache/page-cache";
import { HOME_PAGE_TAGS, type PageInvalidator } from "./page-cache/page-tags";
import { InvalidationLog } from "./cache/invalidation/log";
import { DEFAULT_LEASE_MS, Lease, processLease } from "./cache/invalidation/lease";
import type { ApplyOps } from "./cache/invalidation/ops";
import { noInvalidations } from "./cache/invalidation/write";
import { MinuteCounters } from "./observability/minute-counters";
import { RoomActivity } from "./rooms/room-activity";
import { RoomCacheService } from "./rooms/room-cache-service";
import { RedisEventBus } from "./realtime/event-bus";
import { RoomService } from "./rooms/room-service";
import { SearchService, type SearchServiceDeps } from "./search/search-service";
import { StatsService, type StatsHooks } from "./stats/stats-service";

/** What a process (web, worker, test) needs to build its services. */
export interface RuntimeConfig {
  databaseUrl: string;
  /** Read replicas of `databaseUrl` (DATABASE_REPLICA_URLS). Default none: every read on the primary. */
  replicaUrls?: string[];
  /**
   * How replicas are used (lib/db/replicas/replica.ts has the defaults); `poolMax`: each
   * replica's main pool (default `dbMax`, else 10). `unsafeDisableFence`: tests only, read
   * on a replica without proving it has replayed the writes a reader must see, so a test can
   * show the stale fill the fence prevents.
   */
  replicas?: ReplicaOptions & { poolMax?: number; unsafeDisableFence?: boolean };
  redis: Env["redis"];
  cacheEnabled: boolean;
  keyPrefix: string;
  mode: Env["nodeEnv"];
  guard?: GuardOptions;
  hooks?: CacheAsideHooks;
  waitForLoaderMs?: number;
  unsafeDisableGuard?: boolean;
  /**
   * Tests only: count an invalidation as applied without a replica's confirmation (Redis
   * Cluster), so a test can show the lost invalidation this wait prevents.
   */
  unsafeSkipReplicaWait?: boolean;
  dbMax?: number;
  /**
   * Rate limits (room creations, messages) in Redis. Default: on, except in test mode,
   * where tests that exercise limits turn them on (like the cache itself).
   */
  rateLimits?: boolean;
  /** Called for every statement sent to Postgres (besides the metrics counter). */
  onQuery?: (query: string) => void;
  /**
   * Per-minute counters in Redis for the dashboard (lib/observability/minute-counters.ts),
   * following this process's cache counters. Default: on when the cache is, except in test
   * mode. Only one runtime per process should have them, or the counts double.
   */
  minuteCounters?: boolean;
  /** Test hooks of the stats computation (slow it down, count it). */
  statsHooks?: StatsHooks;
  /** Test hooks of a search (pause between its Postgres read and its cache set). */
  searchHooks?: SearchServiceDeps["hooks"];
  /**
   * This process's lease on the cache (lib/cache/invalidation/lease.ts). Default: one of the
   * runtime's own; the web process passes the process-wide one, which the page cache's
   * handler reads too.
   */
  lease?: Lease;
  /** The invalidation log's timing (tests shorten or stretch it). Defaults: lease 1000 ms, a read every 250 ms. */
  invalidationLog?: { leaseMs?: number; pollMs?: number };
  /**
   * The search pool: `poolMax` connections (default 3) with Postgres' statement_timeout
   * (`statementTimeoutMs`, default 2000, SEARCH_TIMEOUT_MS), and the deadline of one search,
   * queueing for a connection included (`loadTimeoutMs`, default the timeout + 1000).
   */
  search?: { poolMax?: number; statementTimeoutMs?: number; loadTimeoutMs?: number };
}

export interface Runtime {
  /** The primary: writes, and every read not routed. */
  db: DbHandle;
  /** The reads that fill caches (and stats, message pages): on a replica when the fence allows (lib/db/replicas). */
  reads: DbReads;
  /** The read replicas (DATABASE_REPLICA_URLS), for health. Empty when none is configured. */
  replicas: Replica[];
  /** The raw store (null when the cache is disabled or no Redis is configured). */
  store: CacheStore | null;
  /** One Redis node (or REST) or a Redis Cluster (REDIS_CLUSTER_NODES). */
  redisTopology: "node" | "cluster";
  guarded: GuardedStore | null;
  cache: CacheAside;
  keys: Keys;
  ttls: Ttls;
  rooms: RoomCacheService;
  /** The room list's activity order (`{rooms:all}:activity`) and per-session read marks. */
  activity: RoomActivity;
  roomWrites: RoomService;
  messages: MessageCacheService;
  messageWrites: MessageService;
  limiter: RateLimiter;
  /** Global stats, stale-while-revalidate (`stats:global`). */
  stats: StatsService;
  /** Full-text search of rooms and messages, cached per generation (`search:{gen}:{hash}`). */
  search: SearchService;
  /** The realtime bus (lib/realtime): producers publish after their write commits. */
  events: RedisEventBus;
  /** Marks rendered pages out of date (lib/page-cache); null when the cache is off. */
  pages: PageInvalidator | null;
  /** The dashboard's per-minute counters; null when the cache is off (no Redis to count in) or they are off. */
  minuteCounters: MinuteCounters | null;
  /** The invalidation log (lib/cache/invalidation): what writes commit with; null when the cache is off. */
  invalidationLog: InvalidationLog | null;
  /** Flushes the minute counters, stops reading the invalidation log, then closes Redis and Postgres. */
  close(): Promise<void>;
}

export function createRuntime(config: RuntimeConfig): Runtime {
  const m = metrics();
  const log = logger();
  const counted = (target: "primary" | "replica") => (q: string) => {
    m.dbQueries.inc({ target });
    config.onQuery?.(q);
  };
  const db = createDb(config.databaseUrl, { max: config.dbMax, onQuery: counted("primary") });
  /*
   * Searches get a pool of their own: a burst of costly searches (each can rank thousands of
   * messages) then waits for one of these few connections instead of taking all of the main
   * pool, which every page and API read needs; and every statement on it has a
   * statement_timeout. Connections open on first use, so a process that never searches
   * (the worker) opens none.
   */
  const searchDb = createDb(config.databaseUrl, {
    max: config.search?.poolMax ?? 3,
    statementTimeoutMs: config.search?.statementTimeoutMs ?? 2_000,
    applicationName: SEARCH_APPLICATION_NAME,
    onQuery: counted("primary"),
  });
  /*
   * Replicas: the cache fills, stats and message pages read through `reads`, searches through
   * `searchReads` (each replica has a search pool too, with the same statement_timeout).
   * Both fence against the primary's position from one single-flight query on the main pool.
   */
  const lsn = new PrimaryLsn(() => readPrimaryLsn(db.sql));
  const replicaOptions = {
    ...config.replicas,
    primaryLsn: () => readPrimaryLsn(db.sql),
    onStateChange: (state: string, cause?: unknown) =>
      state === "open"
        ? log.warn({ cause: cause === undefined ? undefined : String(cause) }, "read replica out of rotation; its reads go to the primary")
        : log.info({ state }, "read replica circuit " + state),
  };
  // One identity per URL, shared by its two pools: checked once, and a wrong URL logged once.
  const primarySystemId = primarySystemIdOnce(db.sql);
  const identities = (config.replicaUrls ?? []).map(
    (url) =>
      new ReplicaIdentity({
        primarySystemId,
        onExcluded: (reason) => log.error({ replica: replicaName(url), reason }, "read replica excluded for good; its reads go to the primary"),
      }),
  );
  const replicas = (config.replicaUrls ?? []).map(
    (url, i) => new Replica(url, { max: config.replicas?.poolMax ?? config.dbMax, onQuery: counted("replica") }, { ...replicaOptions, identity: identities[i]! }),
  );
  const searchReplicas = (config.replicaUrls ?? []).map(
    (url, i) =>
      new Replica(
        url,
        {
          max: config.search?.poolMax ?? 3,
          statementTimeoutMs: config.search?.statementTimeoutMs ?? 2_000,
          applicationName: SEARCH_APPLICATION_NAME,
          onQuery: counted("replica"),
        },
        // A search may run up to its statement_timeout: the replica's deadline must not cut it first.
        { ...replicaOptions, identity: identities[i]!, timeoutMs: Math.max(config.replicas?.timeoutMs ?? 1_000, (config.search?.statementTimeoutMs ?? 2_000) + 500) },
      ),
  );
  const routerOptions = {
    lsn,
    unsafeDisableFence: config.replicas?.unsafeDisableFence,
    onRoute: (route: { target: string; reason: string }) => m.dbReads.inc(route),
    onFault: (replica: string, error: unknown) => log.warn({ replica, err: error }, "read replica fault; read sent to the primary"),
  };
  const reads = new ReadRouter({ ...routerOptions, primary: db, replicas });
  const searchReads = new ReadRouter({ ...routerOptions, primary: searchDb, replicas: searchReplicas });
  const store = config.cacheEnabled ? createCacheStore(config.redis) : null;
  const leaseMs = config.invalidationLog?.leaseMs ?? DEFAULT_LEASE_MS;
  const lease = store ? (config.lease ?? new Lease(leaseMs)) : undefined;
  const guarded = store
    ? new GuardedStore(store, {
        ...config.guard,
        lease,
        onStateChange: (state, cause) => {
          m.breakerState.set(state === "closed" ? 0 : state === "half-open" ? 1 : 2);
          log.warn({ breaker: state, ...(cause ? { cause: String(cause) } : {}) }, `redis circuit ${state}`);
          config.guard?.onStateChange?.(state, cause);
        },
      })
    : null;
  const keys = createKeys(config.keyPrefix);
  const ttls = ttlsFor(config.mode);
  const cache = new CacheAside({
    guarded,
    keys,
    metrics: m,
    hooks: config.hooks,
    waitForLoaderMs: config.waitForLoaderMs,
    unsafeDisableGuard: config.unsafeDisableGuard,
    onError: (error, context) => log.warn({ err: error, ...context }, "cache operation failed"),
  });
  const events = new RedisEventBus({
    guarded,
    keys,
    onError: (error, context) => log.warn({ err: error, ...context }, "event publish failed"),
  });
  const activity = new RoomActivity({
    db: db.db,
    guarded,
    keys,
    onError: (error, context) => log.warn({ err: error, ...context }, "activity operation failed"),
  });
  const minuteCounters =
    guarded && (config.minuteCounters ?? config.mode !== "test") ? new MinuteCounters({ guarded, keys, metrics: m }) : null;
  const detachCounters = minuteCounters?.attach(m);
  minuteCounters?.start();
  const onError = (op: string) => (error: unknown, context: { op: string }) => log.warn({ err: error, ...context }, `${op} cache operation failed`);
  const stats = new StatsService({
    reads,
    guarded,
    keys,
    ttls,
    metrics: m,
    hooks: config.statsHooks,
    onError: onError("stats"),
    // A home page rendered while the stats refreshed shows the older numbers: regenerate it.
    onRefreshed: () => pages?.invalidate(HOME_PAGE_TAGS, "soft"),
  });
  const limiter = (config.rateLimits ?? config.mode !== "test") ? new RedisRateLimiter(guarded, keys) : noRateLimit;
  const search = new SearchService({
    reads: searchReads,
    limiter,
    loadTimeoutMs: config.search?.loadTimeoutMs ?? (config.search?.statementTimeoutMs ?? 2_000) + 1_000,
    guarded,
    keys,
    ttls,
    metrics: m,
    hooks: config.searchHooks,
    onError: onError("search"),
  });
  const pages = guarded ? new PageCache<unknown>({ guarded, keys: pageCacheKeys(config.keyPrefix), ...pageCacheCodec, onError: (error, op) => log.warn({ err: error, op }, "page cache invalidation failed") }) : null;
  // What a write's invalidation does to Redis, for the writer and for whoever reads the log.
  // The home page's marks come last: a render they trigger must see the data already fresh.
  const apply: ApplyOps = async (batch) => {
    const activityChanges = batch.flatMap((ops) => (ops.activity ? [ops.activity] : []));
    await Promise.all([
      cache.invalidate([...new Set(batch.flatMap((ops) => ops.keys))]),
      batch.some((ops) => ops.stats) ? stats.markStale() : undefined,
      batch.some((ops) => ops.search) ? search.bumpGeneration() : undefined,
      ...activityChanges.map((change) => activity.apply(change)),
    ]);
    await pages?.mark([...new Set(batch.flatMap((ops) => ops.pages))], "hard");
    /*
     * On a Redis Cluster a master acknowledges before its replica has the write, and a
     * failover promotes the replica: an invalidation the dead master had not passed on
     * would be undone, and the old value served again. So an invalidation counts as applied
     * only once a replica holds it; otherwise it throws, and the invalidation log treats it
     * as unapplied (the writer waits out the lease, readers stop trusting their cache).
     */
    const durable = config.unsafeSkipReplicaWait ? undefined : store?.durable;
    if (durable) await guarded!.write((s) => durable.call(s, REPLICA_WAIT_MS));
  };
  const logDb = guarded ? createDb(config.databaseUrl, { max: 1 }) : null;
  const invalidationLog =
    guarded && lease && logDb
      ? new InvalidationLog({
          db: logDb.db,
          keyPrefix: config.keyPrefix,
          guarded,
          apply,
          lease,
          pollMs: config.invalidationLog?.pollMs,
          onApplied: (path, rows) => m.cacheInvalidations.inc({ outcome: path }, rows),
          onTrustChange: (trusted, cause) => {
            m.cacheTrusted.set(trusted ? 1 : 0);
            if (trusted) log.info("cache trusted: the invalidation log is read and applied");
            else log.warn({ cause: cause === undefined ? undefined : String(cause) }, "cache not trusted: the invalidation log cannot be read or applied; reads go to Postgres");
          },
          onError: (error, context) => log.warn({ err: error, ...context }, "invalidation log"),
        })
      : null;
  invalidationLog?.start();
  const invalidations = invalidationLog ?? noInvalidations;
  return {
    db,
    reads,
    replicas,
    store,
    redisTopology: config.redis.driver === "cluster" ? "cluster" : "node",
    guarded,
    cache,
    keys,
    ttls,
    rooms: new RoomCacheService({ reads, cache, keys, ttls, onListLoaded: (rooms, rows) => activity.listLoaded(rooms, rows) }),
    activity,
    roomWrites: new RoomService({ db: db.db, invalidations, keys, publish: (event) => events.publish("rooms", event), limiter }),
    messages: new MessageCacheService({ reads, cache, keys, ttls }),
    messageWrites: new MessageService({
      db: db.db,
      invalidations,
      keys,
      limiter,
      publish: (topic, event) => events.publish(topic, event),
    }),
    limiter,
    stats,
    search,
    events,
    minuteCounters,
    pages,
    invalidationLog,
    async close() {
      detachCounters?.();
      await minuteCounters?.stop();
      await stats.settled();
      await invalidationLog?.stop();
      await logDb?.close();
      guarded?.dispose();
      await store?.close();
      await Promise.all([db.close(), searchDb.close(), ...replicas.map((r) => r.close()), ...searchReplicas.map((r) => r.close())]);
    },
  };
}

/** How long an invalidation waits for a replica to confirm it (Redis Cluster), within the write deadline. */
const REPLICA_WAIT_MS = 200;

/** application_name of the search pool's connections, as pg_stat_activity shows them. */
export const SEARCH_APPLICATION_NAME = "lobby-search";

export function runtimeConfigFromEnv(e: Env = env()): RuntimeConfig {
  return {
    databaseUrl: e.databaseUrl,
    replicaUrls: e.databaseReplicaUrls,
    replicas: { maxLagMs: e.databaseReplicaMaxLagMs },
    redis: e.redis,
    cacheEnabled: e.cacheEnabled,
    keyPrefix: e.keyPrefix,
    mode: e.nodeEnv,
    // One lease per process: the page cache's handler trusts the cache exactly when this runtime does.
    lease: processLease(),
    search: { statementTimeoutMs: e.searchTimeoutMs },
    // The benchmark's load probe (BENCH_ROUTES=true only): its peers scenario may hold a load of the room list here.
    ...(e.benchRoutes ? { hooks: { afterLoad: (key: string) => (key.endsWith("rooms:all") ? probePass("load", true) : undefined) } } : {}),
  };
}

const g = globalThis as unknown as { __lobbyRuntime?: Runtime };

/** This process's runtime, built once from the environment (kept on globalThis across dev reloads). */
export function runtime(): Runtime {
  if (!g.__lobbyRuntime) {
    const rt = (g.__lobbyRuntime = createRuntime(runtimeConfigFromEnv()));
    // Best effort: the last seconds of counts reach Redis if the flush beats the server's exit.
    if (rt.minuteCounters) process.once("SIGTERM", () => void rt.minuteCounters?.stop());
  }
  return g.__lobbyRuntime;
}
