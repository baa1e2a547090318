import { z } from "zod";

/** One node of a Redis Cluster's start-up list (any master or replica; the rest is discovered). */
export interface ClusterNode {
  host: string;
  port: number;
}

/**
 * A Redis Cluster, from REDIS_CLUSTER_NODES: the nodes to start from, and the credentials
 * and TLS that every node shares (ElastiCache, Memorystore and Valkey clusters use one
 * password and one certificate authority for all their nodes).
 */
export interface ClusterTarget {
  nodes: ClusterNode[];
  username?: string;
  password?: string;
  /** `rediss://` entries: TLS to every node, hostnames verified against the certificate. */
  tls: boolean;
}

/** Redis over TCP: one node (REDIS_URL) or a cluster (REDIS_CLUSTER_NODES). BullMQ needs one of them. */
export type TcpRedis = { driver: "ioredis"; url: string } | { driver: "cluster"; cluster: ClusterTarget };

interface Entry {
  node: ClusterNode;
  scheme: "redis:" | "rediss:" | null;
  username?: string;
  password?: string;
}

/**
 * REDIS_CLUSTER_NODES: `host:port[,host:port...]`, each entry bare or as a URL
 * (`redis://`, `rediss://` for TLS, with `user:password@` when the cluster has a password).
 * The URL entries must agree on scheme and credentials (a cluster has one of each); bare
 * entries take them from the URL entries. IPv6 hosts in brackets: `[::1]:7000`.
 */
export const clusterNodesSchema = z.string().transform((value, ctx): ClusterTarget => {
  const entries: Entry[] = [];
  for (const raw of value.split(",").map((e) => e.trim()).filter(Boolean)) {
    const isUrl = /^[a-z]+:\/\//i.test(raw);
    let url: URL | undefined;
    try {
      url = new URL(isUrl ? raw : `redis://${raw}`);
    } catch {}
    const ok =
      url &&
      (url.protocol === "redis:" || url.protocol === "rediss:") &&
      url.hostname !== "" &&
      url.port !== "" &&
      (url.pathname === "" || url.pathname === "/") &&
      !url.search &&
      !url.hash &&
      (isUrl || (!url.username && !url.password));
    if (!ok || !url) {
      ctx.addIssue({ code: "custom", message: `"${raw}" is not host:port (or redis://[user:password@]host:port, rediss:// for TLS)` });
      return z.NEVER;
    }
    entries.push({
      node: { host: url.hostname.replace(/^\[(.*)\]$/, "$1"), port: Number(url.port) },
      scheme: isUrl ? (url.protocol as Entry["scheme"]) : null,
      username: url.username ? decodeURIComponent(url.username) : undefined,
      password: url.password ? decodeURIComponent(url.password) : undefined,
    });
  }
  if (entries.length === 0) {
    ctx.addIssue({ code: "custom", message: "names no node: give host:port[,host:port...]" });
    return z.NEVER;
  }
  const urls = entries.filter((e) => e.scheme !== null);
  const first = urls[0];
  if (first && urls.some((e) => e.scheme !== first.scheme || e.username !== first.username || e.password !== first.password)) {
    ctx.addIssue({ code: "custom", message: "the URL entries disagree on scheme or credentials: a cluster has one of each" });
    return z.NEVER;
  }
  return {
    nodes: entries.map((e) => e.node),
    ...(first?.username ? { username: first.username } : {}),
    ...(first?.password ? { password: first.password } : {}),
    tls: first?.scheme === "rediss:",
  };
});

/** A short description for logs and health: never the password. */
export function describeTcp(tcp: TcpRedis): string {
  if (tcp.driver === "ioredis") {
    try {
      const u = new URL(tcp.url);
      return `${u.protocol}//${u.host}`;
    } catch {
      return "redis";
    }
  }
  return `cluster ${tcp.cluster.nodes.map((n) => `${n.host}:${n.port}`).join(",")}`;
}
