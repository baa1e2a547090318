/**
 * Every Redis key Lobby uses, and every TTL, in one place. Names follow DESIGN.md's
 * contract; `prefix` (REDIS_KEY_PREFIX) goes in front of all of them. Drivers never add
 * a prefix themselves, so SCAN patterns and Lua KEYS see the same names.
 */

export type CacheMode = "production" | "development" | "test";

/** Production TTLs in seconds; development uses 10% of each (DESIGN.md). */
export const PRODUCTION_TTL = {
  /** `rooms:all` and `rooms:count`. */
  roomsAll: 300,
  /** `room:{id}`. */
  room: 3600,
  /**
   * `stale:*`: last-known-good copies served, marked stale, only when Postgres is down.
   * Long enough to ride out an outage, short enough not to hoard memory.
   */
  stale: 86_400,
  /** `messages:{roomId}`: a room's newest page of messages. */
  messages: 120,
  /**
   * `stats:global`: how long the stats stay fresh. Past it (or once a write marks them
   * stale) a read still returns them at once and one caller refreshes them in the background.
   */
  stats: 600,
  /** `search:{gen}:{hash}`: one page of search results. */
  search: 300,
} as const;

export type Ttls = { [K in keyof typeof PRODUCTION_TTL]: number };

export function ttlsFor(mode: CacheMode): Ttls {
  if (mode === "production") return { ...PRODUCTION_TTL };
  const scale = (s: number) => Math.max(1, Math.round(s / 10));
  return {
    roomsAll: scale(PRODUCTION_TTL.roomsAll),
    room: scale(PRODUCTION_TTL.room),
    stale: scale(PRODUCTION_TTL.stale),
    messages: scale(PRODUCTION_TTL.messages),
    stats: scale(PRODUCTION_TTL.stats),
    search: scale(PRODUCTION_TTL.search),
  };
}

/** Single-flight lock lifetime: a crashed loader blocks a key at most this long. */
export const LOCK_TTL_MS = 5_000;
/** Generation counters outlive every value they guard. */
export const GEN_TTL_SECONDS = 2 * 86_400;
/** Run summaries kept in `reconcile:history` (newest first), for the dashboard's chart. */
export const RECONCILE_HISTORY_LENGTH = 50;
/** Lifetime of the worker's heartbeat: three missed beats and the worker counts as down. */
export const WORKER_HEARTBEAT_TTL_SECONDS = 15;

/** A session's read marks expire this long after its last mark. */
export const READ_MARKS_TTL_SECONDS = 30 * 86_400;

/** Entries kept per realtime topic for `Last-Event-ID` replay (approximate trim: `MAXLEN ~`). */
export const EVENT_STREAM_MAXLEN = 1_000;
/** A topic's replay log expires this long after its last event, so idle rooms leave nothing behind. */
export const EVENT_STREAM_TTL_SECONDS = 86_400;

/** Lifetime of a `metrics:minute:*` bucket: the dashboard shows the last hour, so two hours bound the memory. */
export const METRICS_MINUTE_TTL_SECONDS = 2 * 3_600;

export function createKeys(prefix = "") {
  const k = (name: string) => prefix + name;
  /*
   * A key's companions carry the key itself as a hash tag (`{room:42}:gen`), so on Redis
   * Cluster they share its slot and one Lua script may touch them all.
   */
  const companion = (key: string, kind: string) => `{${key}}:${kind}`;
  return {
    prefix,
    roomsAll: k("rooms:all"),
    roomsCount: k("rooms:count"),
    roomsLastSync: k("rooms:last_sync"),
    room: (id: string) => k(`room:${id}`),
    /** SCAN pattern for every cached room. */
    roomPattern: k("room:*"),
    /** Bumped by every invalidation of `key`; a loader may only set if it is unchanged. */
    gen: (key: string) => companion(key, "gen"),
    /** Single-flight lock of `key`. */
    lock: (key: string) => companion(key, "lock"),
    /** Last-known-good copy of `key`, served only when Postgres is down. */
    stale: (key: string) => companion(key, "stale"),
    /**
     * The realtime bus's one pub/sub channel: every topic's events, as `{ id, topic, event }`,
     * so each web process needs a single subscriber connection (lib/realtime/hub.ts).
     */
    eventsChannel: k("events:bus"),
    /** Replay log of a realtime topic (a Stream, MAXLEN ~ EVENT_STREAM_MAXLEN); entry ids are event ids. */
    eventStream: (topic: string) => k(`events:stream:${topic}`),
    /** Summary (JSON) of the last completed reconciliation run; no TTL. */
    reconcileLastRun: k("reconcile:last_run"),
    /** List of the last RECONCILE_HISTORY_LENGTH run summaries, newest first; no TTL. */
    reconcileHistory: k("reconcile:history"),
    /** Held (token, TTL, renewed) by the one worker running a reconciliation. */
    reconcileLock: k("lock:reconcile"),
    /** The worker's heartbeat (JSON: pid, startedAt, lastBeatAt, lastRun, nextRunAt). */
    workerHeartbeat: k("worker:heartbeat"),
    /** Point-in-time copy of `key` that a reconciliation run reads in chunks. */
    snapshot: (key: string) => companion(key, "snapshot"),
    /** A replacement value for `key` built in pieces, swapped in by one guarded script. */
    staging: (key: string) => companion(key, "staging"),
    /** A room's newest page of messages (JSON envelope, versioned by rooms.message_version). */
    messages: (roomId: string) => k(`messages:${roomId}`),
    /** SCAN pattern for every cached conversation (the reconciler's messages pass). */
    messagesPattern: k("messages:*"),
    /**
     * Sorted set: member a room id, score its last activity (ms): the room list's order.
     * No TTL; rebuilt from Postgres when missing or incomplete (lib/rooms/room-activity.ts).
     * A companion of `rooms:all` (`{rooms:all}:activity`), so one script reads the list and
     * its order in a single round trip, on Redis Cluster too.
     */
    roomsActivity: companion(k("rooms:all"), "activity"),
    /** Hash of one session's last-read marks: room id to ms (plus `_since`, the first look). */
    readMarks: (sessionId: string) => k(`read:${sessionId}`),
    /** GCRA state (theoretical arrival time, ms) of one rate limit: scope e.g. `message:session`. */
    rateLimit: (scope: string, id: string) => k(`ratelimit:${scope}:${id}`),
    /*
     * The page cache (lib/page-cache): one `{pages}` hash tag, so on Redis Cluster the
     * clock, the marks and the entries share a slot and each script stays on it.
     */
    /**
     * Hash of the page clock and every mark, lost together or not at all: `epoch`, `clock`
     * (counts page invalidations; a render is stamped with it before it begins), `h:<tag>`
     * (the clock of the tag's last hard invalidation: the page must render again) and
     * `s:<tag>` (its last soft one: served once more, refreshed behind).
     */
    pagesMarks: k("{pages}:marks"),
    /** Hash of one rendered page or route response: version, stamp, tags, body (`{buildId}:{Next's cache key}`). */
    pagesEntry: (cacheKey: string) => k(`{pages}:entry:${cacheKey}`),
    /**
     * Hash of one UTC minute's dashboard counters (`yyyymmddHHMM`): fields `{cache}:{outcome}`,
     * `served:{source}`, `errors:{kind}`, summed over every web instance (lib/observability/minute-counters.ts).
     */
    metricsMinute: (minute: string) => k(`metrics:minute:${minute}`),
    /**
     * The global stats (lib/stats): `{"v":<generation>,"t":<ms>,"data":...}`, served stale
     * while one caller refreshes; its generation `{stats:global}:gen` is bumped by writes.
     */
    stats: k("stats:global"),
    /** Search generation, INCR'd by every write that can change a result: old pages become unreachable. */
    searchGen: k("search:gen"),
    /** One cached page of search results: `hash` is sha256 of the normalised query, limit and cursor. */
    search: (gen: string, hash: string) => k(`search:${gen}:${hash}`),
  };
}

export type Keys = ReturnType<typeof createKeys>;
