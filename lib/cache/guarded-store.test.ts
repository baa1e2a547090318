import { afterAll, describe, expect, it } from "vitest";
import { blackhole } from "../../tests/support/net-faults";
import { CacheUnavailableError, GuardedStore } from "./guarded-store";
import { createIoredisStore } from "./ioredis-store";

/** Keeps the event loop busy in 20 ms slices, as a loaded server rendering pages does. */
function busyLoop(): () => void {
  const timer = setInterval(() => {
    const until = performance.now() + 20;
    while (performance.now() < until) {
      /* rendering */
    }
  }, 1);
  return () => clearInterval(timer);
}

describe("GuardedStore (a Redis that accepts connections and never answers)", async () => {
  const hole = await blackhole();
  const store = createIoredisStore(`redis://127.0.0.1:${hole.port}`);
  afterAll(async () => {
    await store.close();
    await hole.close();
  });

  it("gives a busy process grace while the circuit is closed, but a probe of an open circuit only its deadline", async () => {
    const guarded = new GuardedStore(store, { readDeadlineMs: 50, maxBusyWaitMs: 1_500, failuresToOpen: 1, halfOpenAfterMs: 200 });
    const stop = busyLoop();
    try {
      let started = performance.now();
      await expect(guarded.read((s) => s.get("k"))).rejects.toBeInstanceOf(CacheUnavailableError);
      // Closed: checks ran late (the loop was busy), so the call was given the grace.
      expect(performance.now() - started).toBeGreaterThan(1_000);
      expect(guarded.state).toBe("open");
      await new Promise((r) => setTimeout(r, 250));
      started = performance.now();
      await expect(guarded.read((s) => s.get("k"))).rejects.toBeInstanceOf(CacheUnavailableError);
      // The probe: no grace, however busy the loop.
      expect(performance.now() - started).toBeLessThan(500);
    } finally {
      stop();
    }
  });
});
