import { Cluster, Redis, type ClusterOptions, type RedisOptions } from "ioredis";
import type { ClusterTarget, TcpRedis } from "./redis-target";

/** A TCP connection to Redis: one node, or a cluster (ioredis routes each command to its slot's master). */
export type TcpClient = Redis | Cluster;

export function isCluster(client: TcpClient): client is Cluster {
  return (client as Cluster).isCluster === true;
}

/**
 * Opens `tcp` with `options` (webRedisOptions or workerRedisOptions: the one options factory
 * decides timeouts and retries; this only says where). For a cluster the per-node options
 * go to every node, and the cluster-wide ones (offline queue, reconnects) to the cluster.
 */
export function connectTcp(tcp: TcpRedis, options: RedisOptions = {}, cluster: Partial<ClusterOptions> = {}): TcpClient {
  if (tcp.driver === "ioredis") return new Redis(tcp.url, options);
  return new Cluster(tcp.cluster.nodes, clusterOptions(tcp.cluster, options, cluster));
}

function clusterOptions(target: ClusterTarget, options: RedisOptions, overrides: Partial<ClusterOptions>): ClusterOptions {
  const { enableOfflineQueue, retryStrategy, lazyConnect, enableAutoPipelining, readOnly: _readOnly, ...perNode } = options;
  return {
    enableOfflineQueue,
    lazyConnect,
    enableAutoPipelining,
    // The cluster as a whole reconnects like one node would.
    clusterRetryStrategy: retryStrategy ? (times: number) => retryStrategy(times) : undefined,
    // Reads go to masters: a replica may lag behind an invalidation its master acknowledged.
    scaleReads: "master",
    // A command that finds its node gone waits this long for the promoted replica, then retries.
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 200,
    redisOptions: {
      ...perNode,
      ...(target.username ? { username: target.username } : {}),
      ...(target.password ? { password: target.password } : {}),
      ...(target.tls ? { tls: {} } : {}),
    },
    /*
     * Managed clusters with TLS (ElastiCache, Memorystore) announce nodes by hostname, and
     * the certificate names the hostname: connect by that name instead of a resolved address.
     */
    ...(target.tls ? { dnsLookup: (address: string, callback: (err: null, address: string) => void) => callback(null, address) } : {}),
    ...overrides,
  };
}
