import { describe, expect, it } from "vitest";
import { EnvError, parseEnv } from "./env";

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

  it("turns the cache off under test unless asked, and with CACHE_ENABLED=false", () => {
    expect(parseEnv({ NODE_ENV: "test" }).cacheEnabled).toBe(false);
    expect(parseEnv({ NODE_ENV: "test", CACHE_ENABLED: "true" }).cacheEnabled).toBe(true);
    expect(parseEnv({ CACHE_ENABLED: "false" }).cacheEnabled).toBe(false);
  });

  it("defaults reconciliation per environment", () => {
    const prod = parseEnv({ NODE_ENV: "production", SESSION_SECRET: "x".repeat(32), REDIS_URL: "redis://r:6379" });
    expect(prod.reconciliationEnabled).toBe(true);
    expect(prod.reconcileIntervalMs).toBe(300_000);
    const dev = parseEnv({});
    expect(dev.reconciliationEnabled).toBe(false);
    expect(dev.reconcileIntervalMs).toBe(30_000);
  });
});
