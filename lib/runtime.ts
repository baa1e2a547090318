import { CacheAside, type CacheAsideHooks } from "./cache/cache-aside";
import { createCacheStore } from "./cache/create-store";
import { GuardedStore, type GuardOptions } from "./cache/guarded-store";
import { createKeys, ttlsFor, type Keys, type Ttls } from "./cache/keys";
import type { CacheStore } from "./cache/store";
import { createDb, type DbHandle } from "./db/client";
import { env, type Env } from "./env";
import { noRateLimit, RedisRateLimiter, type RateLimiter } from "./limits/rate-limiter";
import { MessageCacheService } from "./messages/message-cache-service";
import { MessageService } from "./messages/message-service";
import { logger } from "./observability/logger";
import { metrics } from "./observability/metrics";
import { RoomActivity } from "./rooms/room-activity";
import { RoomCacheService } from "./rooms/room-cache-service";
import { RedisEventBus } from "./realtime/event-bus";
import { RoomService } from "./rooms/room-service";

/** What a process (web, worker, test) needs to build its services. */
export interface RuntimeConfig {
  databaseUrl: string;
  redis: Env["redis"];
  cacheEnabled: boolean;
  keyPrefix: string;
  mode: Env["nodeEnv"];
  guard?: GuardOptions;
  hooks?: CacheAsideHooks;
  waitForLoaderMs?: number;
  unsafeDisableGuard?: boolean;
  dbMax?: number;
  /**
   * Rate limits (room creations, messages) in Redis. Default: on, except in test mode,
   * where tests that exercise limits turn them on (like the cache itself).
   */
  rateLimits?: boolean;
  /** Called for every statement sent to Postgres (besides the metrics counter). */
  onQuery?: (query: string) => void;
}

export interface Runtime {
  db: DbHandle;
  /** The raw store (null when the cache is disabled or no Redis is configured). */
  store: CacheStore | null;
  guarded: GuardedStore | null;
  cache: CacheAside;
  keys: Keys;
  ttls: Ttls;
  rooms: RoomCacheService;
  /** The room list's activity order (`rooms:activity`) and per-session read marks. */
  activity: RoomActivity;
  roomWrites: RoomService;
  messages: MessageCacheService;
  messageWrites: MessageService;
  limiter: RateLimiter;
  /** The realtime bus (lib/realtime): producers publish after their write commits. */
  events: RedisEventBus;
  close(): Promise<void>;
}

export function createRuntime(config: RuntimeConfig): Runtime {
  const m = metrics();
  const log = logger();
  const db = createDb(config.databaseUrl, { max: config.dbMax, onQuery: (q) => {
      m.dbQueries.inc();
      config.onQuery?.(q);
    },
  });
  const store = config.cacheEnabled ? createCacheStore(config.redis) : null;
  const guarded = store
    ? new GuardedStore(store, {
        ...config.guard,
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
  const limiter = (config.rateLimits ?? config.mode !== "test") ? new RedisRateLimiter(guarded, keys) : noRateLimit;
  return {
    db,
    store,
    guarded,
    cache,
    keys,
    ttls,
    rooms: new RoomCacheService({ db: db.db, cache, keys, ttls }),
    activity,
    roomWrites: new RoomService({ db: db.db, cache, keys, publish: (event) => events.publish("rooms", event), limiter, activity }),
    messages: new MessageCacheService({ db: db.db, cache, keys, ttls }),
    messageWrites: new MessageService({
      db: db.db,
      cache,
      keys,
      limiter,
      activity,
      publish: (topic, event) => events.publish(topic, event),
    }),
    limiter,
    events,
    async close() {
      await store?.close();
      await db.close();
    },
  };
}

export function runtimeConfigFromEnv(e: Env = env()): RuntimeConfig {
  return {
    databaseUrl: e.databaseUrl,
    redis: e.redis,
    cacheEnabled: e.cacheEnabled,
    keyPrefix: e.keyPrefix,
    mode: e.nodeEnv,
  };
}

const g = globalThis as unknown as { __lobbyRuntime?: Runtime };

/** This process's runtime, built once from the environment (kept on globalThis across dev reloads). */
export function runtime(): Runtime {
  g.__lobbyRuntime ??= createRuntime(runtimeConfigFromEnv());
  return g.__lobbyRuntime;
}
