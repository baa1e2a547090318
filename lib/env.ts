import { z } from "zod";
import { clusterNodesSchema, type TcpRedis } from "./cache/redis-target";

/**
 * The one place that reads `process.env`. Parsed once, on first use; the web server
 * calls it at start (instrumentation.ts), the worker and scripts at their start, so a
 * bad variable stops the process with a message that names it.
 */

const bool = z
  .enum(["true", "false", "1", "0", ""])
  .optional()
  .transform((v) => (v === undefined || v === "" ? undefined : v === "true" || v === "1"));

const url = (protocols: string[]) =>
  z
    .string()
    .trim()
    .refine((v) => {
      try {
        return protocols.includes(new URL(v).protocol);
      } catch {
        return false;
      }
    }, `must be a URL starting with ${protocols.map((p) => `${p}//`).join(" or ")}`);

/** `next build` sets NEXT_PHASE while it prerenders. */
const isBuilding = (source: Record<string, string | undefined>) => source.NEXT_PHASE === "phase-production-build";

const pageCacheSchema = z.enum(["redis", "process"]).default("redis");

/**
 * PAGE_CACHE alone, for next.config.ts: the config loads before Next says which phase it
 * is in, so the rest (SESSION_SECRET in production) cannot be checked there yet.
 */
export function pageCacheSetting(source: Record<string, string | undefined> = process.env): Env["pageCache"] {
  const result = pageCacheSchema.safeParse(source.PAGE_CACHE || undefined);
  if (!result.success) throw new EnvError([{ variable: "PAGE_CACHE", message: result.error.issues[0]?.message ?? "invalid" }]);
  return result.data;
}

/**
 * BENCH_PAGE_PEER: the benchmark's peers scenario only (bench/support/peers.ts). Serves the
 * home page through another project's Next.js cache handler instead of Lobby's page cache,
 * from a build of its own (`.next-peer-<name>`). Refused unless BENCH_ROUTES=true, so a
 * deployment cannot select a peer by accident: a peer loses invalidations Lobby keeps.
 */
const benchPagePeerSchema = z.enum(["fortedigital", "trieb"]);
export type BenchPagePeer = z.infer<typeof benchPagePeerSchema>;

/** BENCH_PAGE_PEER alone, for next.config.ts: the peer, its build directory and its handler file, or undefined. */
export function benchPagePeerSetting(
  source: Record<string, string | undefined> = process.env,
): { peer: BenchPagePeer; distDir: string; handler: string } | undefined {
  if (!source.BENCH_PAGE_PEER) return undefined;
  const result = benchPagePeerSchema.safeParse(source.BENCH_PAGE_PEER);
  if (!result.success) throw new EnvError([{ variable: "BENCH_PAGE_PEER", message: result.error.issues[0]?.message ?? "invalid" }]);
  if (source.BENCH_ROUTES !== "true" && source.BENCH_ROUTES !== "1") throw new EnvError([{ variable: "BENCH_PAGE_PEER", message: "is for the benchmark only: it needs BENCH_ROUTES=true" }]);
  const handler = result.data === "fortedigital" ? "fortedigital.mjs" : "trieb.cjs";
  return { peer: result.data, distDir: `.next-peer-${result.data}`, handler: `bench/support/peers-handlers/${handler}` };
}

/**
 * ALLOWED_ORIGINS: origins besides the deployment's own that may send state-changing
 * requests (lib/http/origin.ts), comma-separated, each `scheme://host[:port]` and nothing
 * more. Normalised as browsers send them (lower-case host, no default port).
 */
const originsSchema = z
  .string()
  .transform((v, ctx) => {
    const origins = new Set<string>();
    for (const entry of v.split(",").map((e) => e.trim()).filter(Boolean)) {
      let url: URL | undefined;
      try {
        url = new URL(entry);
      } catch {}
      const bare = url && (url.protocol === "http:" || url.protocol === "https:") && !url.username && !url.password && url.pathname === "/" && !url.search && !url.hash && !entry.endsWith("/");
      if (!url || !bare) {
        ctx.addIssue({ code: "custom", message: `"${entry}" is not an origin like https://chat.example.com (scheme, host, optional port; no path)` });
        return z.NEVER;
      }
      origins.add(url.origin);
    }
    return origins;
  })
  .default(new Set<string>());

/** ALLOWED_ORIGINS alone, for next.config.ts (Next's own server-action check must allow the same hosts). */
export function allowedOriginsSetting(source: Record<string, string | undefined> = process.env): Set<string> {
  const result = originsSchema.safeParse(source.ALLOWED_ORIGINS || undefined);
  if (!result.success) throw new EnvError([{ variable: "ALLOWED_ORIGINS", message: result.error.issues[0]?.message ?? "invalid" }]);
  return result.data;
}

/**
 * DATABASE_REPLICA_URLS: read replicas of DATABASE_URL (streaming replicas), comma-separated
 * Postgres URLs. Reads that fill the caches go to them when the fence allows
 * (lib/db/replicas); empty: none.
 */
const replicaUrlsSchema = z
  .string()
  .transform((v, ctx) => {
    const urls: string[] = [];
    for (const entry of v.split(",").map((e) => e.trim()).filter(Boolean)) {
      const parsed = url(["postgres:", "postgresql:"]).safeParse(entry);
      if (!parsed.success) {
        // Never echo the entry: it may hold a password.
        ctx.addIssue({ code: "custom", message: `entry ${urls.length + 1} must be a URL starting with postgres:// or postgresql://` });
        return z.NEVER;
      }
      urls.push(parsed.data);
    }
    return urls;
  })
  .default([]);

const DEV_SECRET = "lobby-development-secret-do-not-use-in-production";

const schema = z
  .object({
    NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
    DATABASE_URL: url(["postgres:", "postgresql:"]).default("postgres://postgres@127.0.0.1:5432/lobby"),
    DATABASE_REPLICA_URLS: replicaUrlsSchema,
    /**
     * How long a read replica may fail every fence (stay behind the primary) before it leaves
     * the rotation. Below 100 ms an ordinary replay delay would take replicas out; past
     * 10 minutes a replica that stopped replaying would be tried (and fall back) for as long.
     */
    DATABASE_REPLICA_MAX_LAG_MS: z.coerce.number().int().min(100).max(600_000).default(1_000),
    REDIS_URL: url(["redis:", "rediss:"]).optional(),
    REDIS_CLUSTER_NODES: clusterNodesSchema.optional(),
    KV_REST_API_URL: url(["http:", "https:"]).optional(),
    KV_REST_API_TOKEN: z.string().min(1).optional(),
    UPSTASH_REDIS_REST_URL: url(["http:", "https:"]).optional(),
    UPSTASH_REDIS_REST_TOKEN: z.string().min(1).optional(),
    REDIS_KEY_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9:_-]{0,64}$/, "may hold letters, digits, ':', '_' and '-' (64 at most)")
      .default(""),
    CACHE_ENABLED: bool,
    /** The name the usual Redis caching guides use for CACHE_ENABLED; the same switch. */
    REDIS_ENABLED: bool,
    ENABLE_ROOM_RECONCILIATION: bool,
    RECONCILE_INTERVAL_MS: z.coerce.number().int().min(1000).max(86_400_000).optional(),
    SESSION_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
    SESSION_COOKIE_SECURE: bool,
    PORT: z.coerce.number().int().min(1).max(65535).default(3000),
    LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).optional(),
    METRICS_TOKEN: z.string().min(16, "must be at least 16 characters").optional(),
    BENCH_ROUTES: bool,
    BENCH_PAGE_PEER: benchPagePeerSchema.optional(),
    SEARCH_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(2_000),
    PAGE_CACHE: pageCacheSchema,
    TRUSTED_PROXY_HOPS: z.coerce.number().int().min(0).max(10).default(0),
    ALLOWED_ORIGINS: originsSchema,
    WORKER_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9464),
    LOBBY_EMBEDDED: bool,
    LOBBY_DATA_DIR: z.string().trim().min(1).default(".lobby"),
  })
  .superRefine((env, ctx) => {
    const pairs = [
      ["KV_REST_API_URL", "KV_REST_API_TOKEN"],
      ["UPSTASH_REDIS_REST_URL", "UPSTASH_REDIS_REST_TOKEN"],
    ] as const;
    for (const [u, t] of pairs) {
      if (Boolean(env[u]) !== Boolean(env[t])) {
        ctx.addIssue({ code: "custom", path: [env[u] ? t : u], message: `is required when ${env[u] ? u : t} is set` });
      }
    }
    if (env.CACHE_ENABLED !== undefined && env.REDIS_ENABLED !== undefined && env.CACHE_ENABLED !== env.REDIS_ENABLED) {
      // Two names for one switch: guessing which one the operator meant could turn a cache
      // on that someone turned off, so a contradiction stops the process instead.
      ctx.addIssue({
        code: "custom",
        path: ["REDIS_ENABLED"],
        message: `is an alias of CACHE_ENABLED and says the opposite (CACHE_ENABLED=${env.CACHE_ENABLED}, REDIS_ENABLED=${env.REDIS_ENABLED}): set only one`,
      });
    }
    if (env.BENCH_PAGE_PEER && env.BENCH_ROUTES !== true) {
      ctx.addIssue({ code: "custom", path: ["BENCH_PAGE_PEER"], message: "is for the benchmark only: it needs BENCH_ROUTES=true" });
    }
    if (env.NODE_ENV === "production" && !env.SESSION_SECRET && !isBuilding(process.env)) {
      ctx.addIssue({ code: "custom", path: ["SESSION_SECRET"], message: "is required in production" });
    }
  });

export type RawEnv = z.infer<typeof schema>;

export interface Env {
  nodeEnv: RawEnv["NODE_ENV"];
  databaseUrl: string;
  /** Read replicas of the database (DATABASE_REPLICA_URLS), for fenced reads (lib/db/replicas). Default none. */
  databaseReplicaUrls: string[];
  /**
   * A replica that has been behind the primary (failed every fence) for longer than this
   * leaves the rotation until a probe finds it caught up (DATABASE_REPLICA_MAX_LAG_MS).
   * Default 1000 ms.
   */
  databaseReplicaMaxLagMs: number;
  /**
   * Where the cache, the page cache, limits, the realtime bus and every other Redis use go:
   * a Redis Cluster (REDIS_CLUSTER_NODES, which wins), one node (REDIS_URL), or REST.
   */
  redis: TcpRedis | { driver: "upstash"; url: string; token: string } | { driver: "none" };
  /** Redis over TCP, for BullMQ (which always needs TCP): the cluster or the one node. */
  redisTcp: TcpRedis | undefined;
  keyPrefix: string;
  /**
   * false: never touch Redis for caching. `CACHE_ENABLED`, or its alias `REDIS_ENABLED`.
   * Default: on, except under NODE_ENV=test.
   */
  cacheEnabled: boolean;
  /** True while `next build` prerenders: pages render without Postgres or Redis then. */
  building: boolean;
  /**
   * Where rendered pages are kept: `redis` (default), shared by every instance under the
   * version guard (lib/page-cache); `process`, Next's own per-process cache, which misses
   * other instances' writes: only the benchmark's baseline server uses it.
   */
  pageCache: RawEnv["PAGE_CACHE"];
  reconciliationEnabled: boolean;
  reconcileIntervalMs: number;
  sessionSecret: string;
  /** False when SESSION_SECRET is unset and `sessionSecret` is the development value. */
  sessionSecretSet: boolean;
  /** Secure flag on the session cookie. Default: on in production (browsers treat localhost as secure). */
  secureCookies: boolean;
  port: number;
  logLevel: NonNullable<RawEnv["LOG_LEVEL"]>;
  /**
   * The operators' token (METRICS_TOKEN): /api/metrics, /dashboard, /api/health's detail and
   * the worker's metrics port need it when set; production without it serves none of them
   * (lib/observability/operator-access.ts).
   */
  metricsToken: string | undefined;
  /** The benchmark's baseline routes (/bench/*) exist only with BENCH_ROUTES=true. Default false. */
  benchRoutes: boolean;
  /**
   * The benchmark's peers scenario: another project's page cache handler serves the home page
   * (BENCH_PAGE_PEER, only with BENCH_ROUTES=true). `/` is then the plain static route, and
   * route handlers' writes call `revalidatePath("/")`, as that handler's users would.
   */
  benchPagePeer: BenchPagePeer | undefined;
  /**
   * Postgres' statement_timeout for a search (SEARCH_TIMEOUT_MS); a search also waiting for
   * one of the search pool's connections gets a second more. Default 2000 ms.
   */
  searchTimeoutMs: number;
  /**
   * Reverse proxies in front of the app that append to X-Forwarded-For (lib/http/client-ip.ts).
   * Default 0: no proxy.
   */
  trustedProxyHops: number;
  /**
   * Origins besides the deployment's own (the request's Host) that may send state-changing
   * requests (ALLOWED_ORIGINS). Default: none.
   */
  allowedOrigins: ReadonlySet<string>;
  /** Port of the worker's own `GET /metrics` (Prometheus text). Default 9464; 0 turns it off. */
  workerMetricsPort: number;
  /**
   * `npm run app` only: start an embedded Postgres or Redis when the configured one is
   * local and nothing answers there (scripts/app). Default true; false: use the configured
   * services and fail with a message when one does not answer.
   */
  embedded: boolean;
  /** `npm run app` only: where embedded services keep their data. Default `.lobby`. */
  dataDir: string;
}

export class EnvError extends Error {
  constructor(public readonly issues: { variable: string; message: string }[]) {
    super(
      "Invalid environment:\n" + issues.map((i) => `  ${i.variable}: ${i.message}`).join("\n"),
    );
    this.name = "EnvError";
  }
}

/** Parses an environment object; exported for tests, use `env()` elsewhere. */
export function parseEnv(source: Record<string, string | undefined>): Env {
  // An empty value (`SESSION_SECRET=` in a copied .env.example) means "not set".
  const given = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ""));
  const result = schema.safeParse(given);
  if (!result.success) {
    throw new EnvError(
      result.error.issues.map((i) => ({ variable: String(i.path[0] ?? "?"), message: i.message })),
    );
  }
  const e = result.data;
  const restUrl = e.KV_REST_API_URL ?? e.UPSTASH_REDIS_REST_URL;
  const restToken = e.KV_REST_API_TOKEN ?? e.UPSTASH_REDIS_REST_TOKEN;
  const production = e.NODE_ENV === "production";
  // Outside production, a machine with no Redis variables gets the local Redis.
  const redisUrl = e.REDIS_URL ?? (production || restUrl ? undefined : "redis://127.0.0.1:6379");
  // A cluster wins over one node (REDIS_URL may still name a node of the old setup), and TCP
  // over REST: TCP is faster, and BullMQ needs it anyway.
  const tcp: TcpRedis | undefined = e.REDIS_CLUSTER_NODES
    ? { driver: "cluster", cluster: e.REDIS_CLUSTER_NODES }
    : redisUrl
      ? { driver: "ioredis", url: redisUrl }
      : undefined;
  const redis: Env["redis"] = tcp
    ? tcp
    : restUrl && restToken
      ? { driver: "upstash", url: restUrl, token: restToken }
      : { driver: "none" };
  return {
    nodeEnv: e.NODE_ENV,
    databaseUrl: e.DATABASE_URL,
    databaseReplicaUrls: e.DATABASE_REPLICA_URLS,
    databaseReplicaMaxLagMs: e.DATABASE_REPLICA_MAX_LAG_MS,
    redis,
    redisTcp: tcp,
    keyPrefix: e.REDIS_KEY_PREFIX,
    cacheEnabled: redis.driver !== "none" && (e.CACHE_ENABLED ?? e.REDIS_ENABLED ?? e.NODE_ENV !== "test"),
    building: isBuilding(source),
    pageCache: e.PAGE_CACHE,
    reconciliationEnabled: e.ENABLE_ROOM_RECONCILIATION ?? production,
    reconcileIntervalMs: e.RECONCILE_INTERVAL_MS ?? (production ? 300_000 : 30_000),
    sessionSecret: e.SESSION_SECRET ?? DEV_SECRET,
    sessionSecretSet: e.SESSION_SECRET !== undefined,
    secureCookies: e.SESSION_COOKIE_SECURE ?? production,
    port: e.PORT,
    logLevel: e.LOG_LEVEL ?? (e.NODE_ENV === "test" ? "silent" : "info"),
    metricsToken: e.METRICS_TOKEN,
    benchRoutes: e.BENCH_ROUTES ?? false,
    benchPagePeer: e.BENCH_PAGE_PEER,
    searchTimeoutMs: e.SEARCH_TIMEOUT_MS,
    trustedProxyHops: e.TRUSTED_PROXY_HOPS,
    allowedOrigins: e.ALLOWED_ORIGINS,
    workerMetricsPort: e.WORKER_METRICS_PORT,
    embedded: e.LOBBY_EMBEDDED ?? true,
    dataDir: e.LOBBY_DATA_DIR,
  };
}

let cached: Env | undefined;

/** The validated environment of this process. */
export function env(): Env {
  cached ??= parseEnv(process.env);
  return cached;
}
