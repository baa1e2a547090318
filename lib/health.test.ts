import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ON_CLUSTER } from "../tests/support/services";
import { createTestDatabase, createTestRedis, createTestRuntime, type TestDatabase, type TestRedis } from "../tests/support/test-env";
import { checkHealth } from "./health";
import type { Runtime } from "./runtime";

describe("checkHealth", () => {
  let db: TestDatabase;
  let redis: TestRedis;
  let rt: Runtime;
  beforeAll(async () => {
    db = await createTestDatabase();
    redis = createTestRedis();
    rt = createTestRuntime(db, redis);
  });
  afterAll(async () => {
    await rt.close();
    await redis.close();
    await db.drop();
  });

  it(ON_CLUSTER ? "on a Redis Cluster reports every node, each master and replica up" : "on one Redis node reports no per-node list", async () => {
    // Every node connected first: on a loaded machine a node's first connection can take
    // longer than the check's 500 ms per node, which the check would rightly call down.
    await rt.store!.ping();
    await rt.store!.nodes?.();
    const report = await checkHealth(rt);
    expect(report.status).toBe("ok");
    expect(report.redis).toMatchObject({ up: true, enabled: true, topology: ON_CLUSTER ? "cluster" : "node" });
    if (!ON_CLUSTER) {
      expect(report.redis.nodes).toBeUndefined();
      return;
    }
    const nodes = report.redis.nodes ?? [];
    expect(nodes.filter((n) => n.role === "master")).toHaveLength(3);
    expect(nodes.filter((n) => n.role === "replica")).toHaveLength(3);
    expect(nodes.every((n) => n.up && /^127\.0\.0\.1:\d+$/.test(n.address))).toBe(true);
  });
});
