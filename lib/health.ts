import { sql } from "drizzle-orm";
import type { Runtime } from "./runtime";
import { readWorkerStatus, type WorkerStatus } from "./worker-status";

export interface HealthReport {
  status: "ok" | "degraded" | "down";
  postgres: { up: boolean; latencyMs?: number; error?: string };
  redis: { up: boolean; enabled: boolean; driver?: string; breaker?: string; latencyMs?: number; error?: string };
  /** The reconciliation worker, from its heartbeat in Redis; informational, never fails the check. */
  worker: WorkerStatus;
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
  const [pg, redis, worker] = await Promise.all([
    timed(() => rt.db.db.execute(sql`select 1`), 1_000),
    rt.store ? timed(() => rt.store!.ping(), 500) : Promise.resolve(null),
    readWorkerStatus(rt),
  ]);
  const redisUp = redis?.ok ?? false;
  let servable = pg.ok;
  if (!pg.ok && redisUp && rt.store) {
    const [fresh, saved] = await rt.store.mget([rt.keys.roomsAll, rt.keys.stale(rt.keys.roomsAll)]).catch(() => [null, null]);
    servable = Boolean(fresh ?? saved);
  }
  return {
    status: !servable ? "down" : pg.ok && (redisUp || !rt.store) ? "ok" : "degraded",
    postgres: pg.ok ? { up: true, latencyMs: pg.latencyMs } : { up: false, error: pg.error },
    redis: {
      up: redisUp,
      enabled: rt.store !== null,
      driver: rt.store?.driver,
      breaker: rt.guarded?.state,
      ...(redis ? (redis.ok ? { latencyMs: redis.latencyMs } : { error: redis.error }) : {}),
    },
    worker,
  };
}
