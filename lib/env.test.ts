import { describe, expect, it } from "vitest";
import { EnvError, benchPagePeerSetting, parseEnv } from "./env";

describe("parseEnv", () => {
  it("names the bad variable", () => {
    expect(() => parseEnv({ DATABASE_URL: "mysql://x" })).toThrow(/DATABASE_URL: must be a URL starting with postgres:/);
    expect(() => parseEnv({ RECONCILE_INTERVAL_MS: "soon" })).toThrow(/RECONCILE_INTERVAL_MS/);
    expect(() => parseEnv({ CACHE_ENABLED: "yes" })).toThrow(/CACHE_ENABLED/);
    expect(() => parseEnv({ PORT: "99999" })).toThrow(/PORT/);
    expect(() => parseEnv({ KV_REST_API_URL: "https://kv.example" })).toThrow(/KV_REST_API_TOKEN: is required when KV_REST_API_URL is set/);
    try {
      parseEnv({ NODE_ENV: "production", REDIS_URL: "redis://r:6379" });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(EnvError);
      expect((e as EnvError).issues).toEqual([{ variable: "SESSION_SECRET", message: "is required in production" }]);
    }
  });

  it("reads DATABASE_REPLICA_URLS as a list of Postgres URLs, none when empty, and never echoes a bad one", () => {
    expect(parseEnv({}).databaseReplicaUrls).toEqual([]);
    expect(parseEnv({ DATABASE_REPLICA_URLS: "" }).databaseReplicaUrls).toEqual([]);
    expect(parseEnv({ DATABASE_REPLICA_URLS: " postgres://r1:5432/lobby, postgresql://u:p@r2/lobby ," }).databaseReplicaUrls).toEqual([
      "postgres://r1:5432/lobby",
      "postgresql://u:p@r2/lobby",
    ]);
    const bad = () => parseEnv({ DATABASE_REPLICA_URLS: "postgres://r1/lobby,mysql://u:secret@r2/lobby" });
    expect(bad).toThrow(/DATABASE_REPLICA_URLS: entry 2 must be a URL starting with postgres:\/\//);
    expect(bad).not.toThrow(/secret/);
  });

  it("reads DATABASE_REPLICA_MAX_LAG_MS as whole milliseconds between 100 and 600000, default 1000", () => {
    expect(parseEnv({}).databaseReplicaMaxLagMs).toBe(1_000);
    expect(parseEnv({ DATABASE_REPLICA_MAX_LAG_MS: "" }).databaseReplicaMaxLagMs).toBe(1_000);
    expect(parseEnv({ DATABASE_REPLICA_MAX_LAG_MS: "2500" }).databaseReplicaMaxLagMs).toBe(2_500);
    for (const bad of ["99", "600001", "1.5", "1s", "-1"]) {
      expect(() => parseEnv({ DATABASE_REPLICA_MAX_LAG_MS: bad }), bad).toThrow(/DATABASE_REPLICA_MAX_LAG_MS/);
    }
  });

  it("treats empty values as unset", () => {
    const e = parseEnv({ SESSION_SECRET: "", CACHE_ENABLED: "", PORT: "" });
    expect(e.port).toBe(3000);
    expect(e.cacheEnabled).toBe(true);
  });

  it("picks the driver from the variables set", () => {
    expect(parseEnv({}).redis).toEqual({ driver: "ioredis", url: "redis://127.0.0.1:6379" });
    expect(parseEnv({ UPSTASH_REDIS_REST_URL: "https://u.example", UPSTASH_REDIS_REST_TOKEN: "t" }).redis).toEqual({
      driver: "upstash",
      url: "https://u.example",
      token: "t",
    });
    expect(parseEnv({ KV_REST_API_URL: "https://kv.example", KV_REST_API_TOKEN: "t", REDIS_URL: "redis://r:1" }).redis.driver).toBe("ioredis");
    const prod = parseEnv({ NODE_ENV: "production", SESSION_SECRET: "x".repeat(32) });
    expect(prod.redis).toEqual({ driver: "none" });
    expect(prod.cacheEnabled).toBe(false);
  });

  it("takes a Redis Cluster from REDIS_CLUSTER_NODES, over REDIS_URL, for the cache and BullMQ alike", () => {
    const e = parseEnv({ REDIS_CLUSTER_NODES: "10.0.0.1:7000, 10.0.0.2:7001,[::1]:7002", REDIS_URL: "redis://old:6379" });
    const cluster = { driver: "cluster", cluster: { nodes: [{ host: "10.0.0.1", port: 7000 }, { host: "10.0.0.2", port: 7001 }, { host: "::1", port: 7002 }], tls: false } };
    expect(e.redis).toEqual(cluster);
    expect(e.redisTcp).toEqual(cluster);
    expect(e.cacheEnabled).toBe(true);
    // Credentials and TLS in the usual URL form; bare entries share them.
    expect(parseEnv({ REDIS_CLUSTER_NODES: "rediss://default:s%40cret@a.example:6379,b.example:6379" }).redis).toEqual({
      driver: "cluster",
      cluster: { nodes: [{ host: "a.example", port: 6379 }, { host: "b.example", port: 6379 }], username: "default", password: "s@cret", tls: true },
    });
    expect(() => parseEnv({ REDIS_CLUSTER_NODES: "a.example" })).toThrow(/REDIS_CLUSTER_NODES: "a.example" is not host:port/);
    expect(() => parseEnv({ REDIS_CLUSTER_NODES: "http://a:1" })).toThrow(/REDIS_CLUSTER_NODES/);
    expect(() => parseEnv({ REDIS_CLUSTER_NODES: "a:1/db" })).toThrow(/REDIS_CLUSTER_NODES/);
    expect(() => parseEnv({ REDIS_CLUSTER_NODES: " , " })).toThrow(/REDIS_CLUSTER_NODES: names no node/);
    expect(() => parseEnv({ REDIS_CLUSTER_NODES: "redis://:x@a:1,rediss://:x@b:1" })).toThrow(/disagree/);
  });

  it("turns the cache off under test unless asked, and with CACHE_ENABLED=false", () => {
    expect(parseEnv({ NODE_ENV: "test" }).cacheEnabled).toBe(false);
    expect(parseEnv({ NODE_ENV: "test", CACHE_ENABLED: "true" }).cacheEnabled).toBe(true);
    expect(parseEnv({ CACHE_ENABLED: "false" }).cacheEnabled).toBe(false);
  });

  it("takes REDIS_ENABLED as an alias of CACHE_ENABLED, and refuses the two disagreeing", () => {
    expect(parseEnv({ REDIS_ENABLED: "false" }).cacheEnabled).toBe(false);
    expect(parseEnv({ REDIS_ENABLED: "0" }).cacheEnabled).toBe(false);
    expect(parseEnv({ NODE_ENV: "test", REDIS_ENABLED: "true" }).cacheEnabled).toBe(true);
    expect(parseEnv({ REDIS_ENABLED: "false", CACHE_ENABLED: "0" }).cacheEnabled).toBe(false);
    expect(parseEnv({ REDIS_ENABLED: "1", CACHE_ENABLED: "true" }).cacheEnabled).toBe(true);
    // An empty value is unset: a copied .env.example line does not count as disagreeing.
    expect(parseEnv({ REDIS_ENABLED: "false", CACHE_ENABLED: "" }).cacheEnabled).toBe(false);
    expect(() => parseEnv({ REDIS_ENABLED: "off" })).toThrow(/REDIS_ENABLED/);
    try {
      parseEnv({ REDIS_ENABLED: "false", CACHE_ENABLED: "true" });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(EnvError);
      expect((e as EnvError).issues).toEqual([
        {
          variable: "REDIS_ENABLED",
          message: "is an alias of CACHE_ENABLED and says the opposite (CACHE_ENABLED=true, REDIS_ENABLED=false): set only one",
        },
      ]);
    }
  });

  it("defaults the embedded services of npm run app to on, in .lobby", () => {
    expect(parseEnv({})).toMatchObject({ embedded: true, dataDir: ".lobby" });
    expect(parseEnv({ LOBBY_EMBEDDED: "false", LOBBY_DATA_DIR: "/tmp/x" })).toMatchObject({ embedded: false, dataDir: "/tmp/x" });
    expect(() => parseEnv({ LOBBY_EMBEDDED: "no" })).toThrow(/LOBBY_EMBEDDED/);
  });

  it("defaults reconciliation per environment", () => {
    const prod = parseEnv({ NODE_ENV: "production", SESSION_SECRET: "x".repeat(32), REDIS_URL: "redis://r:6379" });
    expect(prod.reconciliationEnabled).toBe(true);
    expect(prod.reconcileIntervalMs).toBe(300_000);
    const dev = parseEnv({});
    expect(dev.reconciliationEnabled).toBe(false);
    expect(dev.reconcileIntervalMs).toBe(30_000);
  });

  it("refuses a page cache peer (BENCH_PAGE_PEER) outside the benchmark, and builds one apart from .next", () => {
    expect(() => parseEnv({ BENCH_PAGE_PEER: "trieb" })).toThrow(/BENCH_PAGE_PEER: is for the benchmark only: it needs BENCH_ROUTES=true/);
    expect(() => parseEnv({ BENCH_PAGE_PEER: "neshca", BENCH_ROUTES: "true" })).toThrow(/BENCH_PAGE_PEER/);
    expect(parseEnv({ BENCH_PAGE_PEER: "trieb", BENCH_ROUTES: "true" }).benchPagePeer).toBe("trieb");
    expect(parseEnv({}).benchPagePeer).toBeUndefined();
    expect(() => benchPagePeerSetting({ BENCH_PAGE_PEER: "fortedigital" })).toThrow(/BENCH_PAGE_PEER: is for the benchmark only/);
    expect(() => benchPagePeerSetting({ BENCH_PAGE_PEER: "fortedigital", BENCH_ROUTES: "false" })).toThrow(/BENCH_PAGE_PEER/);
    expect(benchPagePeerSetting({})).toBeUndefined();
    expect(benchPagePeerSetting({ BENCH_PAGE_PEER: "fortedigital", BENCH_ROUTES: "true" })).toEqual({
      peer: "fortedigital",
      distDir: ".next-peer-fortedigital",
      handler: "bench/support/peers-handlers/fortedigital.mjs",
    });
  });
});
