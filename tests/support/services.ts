import { clusterNodesSchema, type TcpRedis } from "../../lib/cache/redis-target";

/** Where the local services are; CI and developers' machines run them on these ports. */
export const PG_ADMIN_URL = process.env.TEST_PG_ADMIN_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
export const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

/**
 * The Redis the integration tests run their runtimes, queues and workers on: a Redis Cluster
 * when LOBBY_TEST_REDIS_CLUSTER names its nodes (`host:port,...`, as REDIS_CLUSTER_NODES;
 * scripts/redis-cluster.ts starts one), else the one node at REDIS_URL.
 */
export const TEST_REDIS: TcpRedis = process.env.LOBBY_TEST_REDIS_CLUSTER
  ? { driver: "cluster", cluster: clusterNodesSchema.parse(process.env.LOBBY_TEST_REDIS_CLUSTER) }
  : { driver: "ioredis", url: REDIS_URL };

/** The variables that put a child process (the worker, a script) on {@link TEST_REDIS}. */
export const TEST_REDIS_ENV: Record<string, string> = process.env.LOBBY_TEST_REDIS_CLUSTER
  ? { REDIS_CLUSTER_NODES: process.env.LOBBY_TEST_REDIS_CLUSTER }
  : { REDIS_URL };

/** True when the tests run on a Redis Cluster. */
export const ON_CLUSTER = TEST_REDIS.driver === "cluster";

export function dbUrl(name: string): string {
  const u = new URL(PG_ADMIN_URL);
  u.pathname = `/${name}`;
  return u.toString();
}
