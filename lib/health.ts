import { sql } from "drizzle-orm";
import type { RedisNodeState } from "./cache/store";
import { readPrimaryLsn } from "./db/replicas/primary-lsn";
import type { Runtime } from "./runtime";
import { readWorkerStatus, type WorkerStatus } from "./worker-status";

export interface HealthReport {
  status: "ok" | "degraded" | "down";
  postgres: { up: boolean; latencyMs?: number; error?: string };
  redis: {
    up: boolean;
    enabled: boolean;
    driver?: string;
    /** "cluster" on a Redis Cluster (REDIS_CLUSTER_NODES), with each node's state in `nodes`. */
    topology?: "node" | "cluster";
    breaker?: string;
    latencyMs?: number;
    error?: string;
    nodes?: RedisNodeState[];
  };
  /** The reconciliation worker, from its heartbeat in Redis; informational, never fails the check. */
  worker: WorkerStatus;
  /**
   * Each read replica (DATABASE_REPLICA_URLS); informational, never fails the check: a
   * replica down or behind only sends its reads to the primary.
   */
  replicas: ReplicaHealth[];
}

export interface ReplicaHealth {
  /** host:port/database (no credentials). */
  name: string;
  up: boolean;
  /** Its circuit: `open` while it is out of rotation. */
  breaker: "closed" | "half-open" | "open";
  /**
   * Why it never serves (out of rotation for good): the URL does not reach a replica of this
   * primary (another system identifier, or not a standby). Absent while it may serve.
   */
  excluded?: string;
  /** WAL bytes it has not replayed yet, against the primary's position now. */
  lagBytes?: number | null;
  /** Since the last transaction it replayed (also grows while the primary is idle). */
  replayAgeMs?: number | null;
  /** False: the server is not a standby (promoted?); the fence never lets it serve. */
  inRecovery?: boolean;
  error?: string;
}

async function checkReplicas(rt: Runtime): Promise<ReplicaHealth[]> {
  if (rt.replicas.length === 0) return [];
  const primaryLsn = await readPrimaryLsn(rt.db.sql).catch(() => null);
  return Promise.all(
    rt.replicas.map(async (replica): Promise<ReplicaHealth> => {
      let probe: Awaited<ReturnType<typeof replica.probe>> | undefined;
      const result = await timed(async () => {
        // A replica no read has reached yet is checked here, so health names a wrong URL at once.
        await replica.verifyIdentity().catch(() => {});
        probe = await replica.probe(primaryLsn);
      }, 1_000);
      const { name, breaker, excluded } = replica.state;
      const why = excluded ? { excluded } : {};
      return result.ok && probe ? { name, up: true, breaker, ...why, ...probe } : { name, up: false, breaker, ...why, error: result.ok ? "no answer" : result.error };
    }),
  );
}

async function timed<T>(fn: () => Promise<T>, ms: number): Promise<{ ok: true; latencyMs: number } | { ok: false; error: string }> {
  const started = performance.now();
  try {
    await Promise.race([fn(), new Promise((_, reject) => setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms).unref())]);
    return { ok: true, latencyMs: Math.round((performance.now() - started) * 100) / 100 };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * Postgres up: ok (or degraded when Redis is down: the app serves from Postgres alone).
 * Postgres down: degraded when Redis still holds a room list to serve, else down (503).
 */
export async function checkHealth(rt: Runtime): Promise<HealthReport> {
  const onCluster = rt.redisTopology === "cluster";
  const [pg, redis, worker, nodes, replicas] = await Promise.all([
    timed(() => rt.db.db.execute(sql`select 1`), 1_000),
    rt.store ? timed(() => rt.store!.ping(), 500) : Promise.resolve(null),
    readWorkerStatus(rt),
    // A cluster's state is its nodes': a master down is a slot range without a cache until its replica takes over.
    onCluster && rt.store?.nodes ? rt.store.nodes().catch(() => undefined) : Promise.resolve(undefined),
    checkReplicas(rt),
  ]);
  const redisUp = redis?.ok ?? false;
  let servable = pg.ok;
  if (!pg.ok && redisUp && rt.store) {
    const [fresh, saved] = await rt.store.mget([rt.keys.roomsAll, rt.keys.stale(rt.keys.roomsAll)]).catch(() => [null, null]);
    servable = Boolean(fresh ?? saved);
  }
  return {
    status: !servable ? "down" : pg.ok && (redisUp || !rt.store) && !nodes?.some((n) => n.role === "master" && !n.up) ? "ok" : "degraded",
    postgres: pg.ok ? { up: true, latencyMs: pg.latencyMs } : { up: false, error: pg.error },
    redis: {
      up: redisUp,
      enabled: rt.store !== null,
      driver: rt.store?.driver,
      ...(rt.store ? { topology: onCluster ? ("cluster" as const) : ("node" as const) } : {}),
      breaker: rt.guarded?.state,
      ...(redis ? (redis.ok ? { latencyMs: redis.latencyMs } : { error: redis.error }) : {}),
      ...(nodes ? { nodes } : {}),
    },
    worker,
    replicas,
  };
}
