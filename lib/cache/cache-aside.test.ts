import { afterAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { closedPort, gate } from "../../tests/support/net-faults";
import { metrics } from "../observability/metrics";
import { CacheAside, type ReadSpec } from "./cache-aside";
import { GuardedStore } from "./guarded-store";
import { createIoredisStore } from "./ioredis-store";
import { createKeys } from "./keys";

/*
 * Redis unavailable, many readers of one key: the reads Postgres sees, and what each
 * reader may be given. The loader is the test's own "table" (a committed value and a
 * gate per read), so the interleaving is forced rather than hoped for.
 */
describe("CacheAside with Redis unavailable", async () => {
  const store = createIoredisStore(`redis://127.0.0.1:${await closedPort()}`);
  const guarded = new GuardedStore(store, { failuresToOpen: 1 });
  const keys = createKeys("test:coalesce:");
  const cache = new CacheAside({ guarded, keys, metrics: metrics() });
  afterAll(async () => {
    guarded.dispose();
    await store.close();
  });

  interface Table {
    committed: number;
    failing: boolean;
    gates: ReturnType<typeof gate>[];
    spec: ReadSpec<number>;
  }

  function table(): Table {
    const t: Table = { committed: 0, failing: false, gates: [], spec: undefined as never };
    t.spec = {
      cache: "test",
      key: `test:coalesce:${Math.random()}`,
      schema: z.number(),
      ttlSeconds: 60,
      staleTtlSeconds: 60,
      load: async () => {
        const seen = t.committed;
        const failing = t.failing;
        const g = gate();
        t.gates.push(g);
        await g.pass();
        if (failing) throw new Error("postgres down");
        return { data: seen, version: seen };
      },
    };
    return t;
  }

  it("shares Postgres reads between concurrent readers, never handing one a read that began before it arrived", async () => {
    const t = table();
    const first = cache.read(t.spec);
    while (t.gates.length < 1) await new Promise((r) => setTimeout(r, 1));
    await t.gates[0]!.arrived; // read 1 has seen 0 and is in flight
    t.committed = 1; // a write is acknowledged
    const later = Array.from({ length: 20 }, () => cache.read(t.spec));
    await new Promise((r) => setTimeout(r, 20));
    expect(t.gates).toHaveLength(1); // the later readers wait; none started a read of its own
    t.gates[0]!.open();
    expect((await first).data).toBe(0); // began before the write: fine
    while (t.gates.length < 2) await new Promise((r) => setTimeout(r, 1));
    t.gates[1]!.open();
    const results = await Promise.all(later);
    expect(results.map((r) => r.data)).toEqual(Array(20).fill(1));
    expect(results.every((r) => r.source === "db")).toBe(true);
    expect(t.gates).toHaveLength(2);
  });

  it("hands a failed read's error to the readers that shared it, without retrying for each", async () => {
    const t = table();
    t.failing = true;
    const readers = Promise.allSettled(Array.from({ length: 10 }, () => cache.read(t.spec)));
    while (t.gates.length < 1) await new Promise((r) => setTimeout(r, 1));
    t.gates[0]!.open();
    while (t.gates.length < 2) await new Promise((r) => setTimeout(r, 1));
    t.gates[1]!.open();
    const settled = await readers;
    expect(settled.every((s) => s.status === "rejected" && String(s.reason).includes("postgres down"))).toBe(true);
    expect(t.gates).toHaveLength(2);
  });
});
