import { randomUUID } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { blackhole, tcpProxy } from "../../tests/support/net-faults";
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function timed(call: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await call().catch(() => {});
  return performance.now() - started;
}

describe("GuardedStore (a Redis that accepts connections and never answers)", async () => {
  const hole = await blackhole();
  const store = createIoredisStore(`redis://127.0.0.1:${hole.port}`);
  afterAll(async () => {
    await store.close();
    await hole.close();
  });

  it("on an idle process, a call with no answer fails after about one deadline", async () => {
    const guarded = new GuardedStore(store, { readDeadlineMs: 50 });
    const waited = await timed(() => expect(guarded.read((s) => s.get("k"))).rejects.toBeInstanceOf(CacheUnavailableError));
    expect(waited).toBeGreaterThanOrEqual(49);
    expect(waited).toBeLessThan(1_000); // not the busy grace (5 s)
    guarded.dispose();
  });

  it("once disposed, a probe still waiting for its answer neither reports the circuit's state nor schedules another", async () => {
    const states: string[] = [];
    const guarded = new GuardedStore(store, { readDeadlineMs: 300, failuresToOpen: 1, halfOpenAfterMs: 50, onStateChange: (s) => states.push(s) });
    await expect(guarded.read((s) => s.get("k"))).rejects.toBeInstanceOf(CacheUnavailableError);
    // The probe starts 50 ms after the circuit opens and waits out its 300 ms deadline: dispose in between.
    while (!states.includes("half-open")) await sleep(5);
    guarded.dispose();
    await sleep(700);
    // Without it: "open" once the probe fails, then another probe ("half-open", "open", ...).
    expect(states).toEqual(["open", "half-open"]);
  });

  it("gives a busy process grace while the circuit is closed; once open, no call waits, probe or not", async () => {
    const states: string[] = [];
    const guarded = new GuardedStore(store, {
      readDeadlineMs: 50,
      maxBusyWaitMs: 1_500,
      failuresToOpen: 1,
      halfOpenAfterMs: 200,
      onStateChange: (s) => states.push(s),
    });
    const stop = busyLoop();
    try {
      const started = performance.now();
      await expect(guarded.read((s) => s.get("k"))).rejects.toBeInstanceOf(CacheUnavailableError);
      // Closed: checks ran late (the loop was busy), so the call was given the grace.
      expect(performance.now() - started).toBeGreaterThan(1_000);
      expect(guarded.state).toBe("open");
      // Through several probe periods, calls keep failing without reaching Redis, including
      // those made while a background probe is waiting out its deadline (cockatiel's
      // half-open would have made the first of them the probe and every other one wait on
      // it). Counted, not timed: only the probes' PINGs may reach the store.
      const reached: string[] = [];
      const get = store.get.bind(store);
      const ping = store.ping.bind(store);
      store.get = (key) => (reached.push("get"), get(key));
      store.ping = () => (reached.push("ping"), ping());
      try {
        // At least 1 s, and until two probes have run (a loaded machine runs their timers late).
        const from = performance.now();
        const halfOpens = () => states.filter((s) => s === "half-open").length;
        while (performance.now() < from + 1_000 || (halfOpens() < 2 && performance.now() < from + 10_000)) {
          await expect(guarded.read((s) => s.get("k"))).rejects.toBeInstanceOf(CacheUnavailableError);
          await sleep(5);
        }
      } finally {
        store.get = get;
        store.ping = ping;
      }
      expect(reached.filter((op) => op === "get")).toEqual([]);
      // The background probes did run, and failed: open → half-open → open, repeatedly.
      expect(states.filter((s) => s === "half-open").length).toBeGreaterThanOrEqual(2);
      expect(guarded.available).toBe(false);
    } finally {
      stop();
      guarded.dispose();
    }
  });
});

describe("GuardedStore (Redis down, then back)", async () => {
  const proxy = await tcpProxy(6379);
  const store = createIoredisStore(`redis://127.0.0.1:${proxy.port}`);
  afterAll(async () => {
    await store.close();
    await proxy.close();
  });

  it("closes the circuit from its background probe, with no request in flight, and tells its listeners", async () => {
    const guarded = new GuardedStore(store, { readDeadlineMs: 200, failuresToOpen: 2, halfOpenAfterMs: 300 });
    let recovered = 0;
    guarded.onRecovered(() => recovered++);
    await guarded.read((s) => s.ping());

    await proxy.cut();
    for (let i = 0; i < 2; i++) await expect(guarded.read((s) => s.ping())).rejects.toBeInstanceOf(CacheUnavailableError);
    expect(guarded.state).toBe("open");
    await sleep(700); // two probe periods, both failing: still open, nobody asked
    expect(guarded.available).toBe(false);

    await proxy.restore();
    const deadline = performance.now() + 5_000;
    while (!guarded.available && performance.now() < deadline) await sleep(20);
    expect(guarded.state).toBe("closed");
    expect(recovered).toBe(1);
    await expect(guarded.read((s) => s.get("no-such-key-for-guarded-store-test"))).resolves.toBeNull();
    guarded.dispose();
  });
});

describe("GuardedStore (a connection draining a backlog)", async () => {
  // Replies reach the client at ~1.6 MB/s: each 16 KB value takes ~10 ms to arrive, a
  // fifth of the deadline, so a loaded machine's late timers leave a wide margin.
  const proxy = await tcpProxy(6379, "127.0.0.1", { throttle: { bytes: 16_384, everyMs: 10 } });
  const store = createIoredisStore(`redis://127.0.0.1:${proxy.port}`);
  const direct = createIoredisStore("redis://127.0.0.1:6379");
  const big = `guarded-store-test:${randomUUID()}`;
  afterAll(async () => {
    await direct.del([big]);
    await Promise.all([store.close(), direct.close()]);
    await proxy.close();
  });

  it("waits for a reply queued behind others that keep arriving, though each check runs on time", async () => {
    await direct.set(big, "x".repeat(16 * 1024), 60);
    // The deadline is well above one reply's time on this link (~10-20 ms), so the first
    // replies arrive within it even when a loaded machine runs the proxy's timers late; the
    // whole backlog (~400 ms) is still far longer than it.
    const guarded = new GuardedStore(store, { readDeadlineMs: 150, failuresToOpen: 1 });
    await guarded.read((s) => s.ping());
    const started = performance.now();
    // 40 reads of 16 KB, then a small one: its reply comes ~400 ms later, behind theirs.
    const backlog = Array.from({ length: 40 }, () => guarded.read((s) => s.get(big)).catch((error: unknown) => error));
    await expect(guarded.read((s) => s.ping())).resolves.toBeUndefined();
    expect(performance.now() - started).toBeGreaterThan(250);
    for (const value of await Promise.all(backlog)) expect(value).toHaveLength(16 * 1024);
    expect(guarded.state).toBe("closed");
    guarded.dispose();
  });
});

describe("GuardedStore (a framework error thrown through a Redis call)", async () => {
  const { DynamicServerError } = await import("next/dist/client/components/hooks-server-context.js");
  const store = createIoredisStore("redis://127.0.0.1:6379");
  afterAll(() => store.close());

  it("a static render turning dynamic never counts as Redis failing: rethrown as is, circuit closed", async () => {
    // What @upstash/redis's `no-store` fetch made Next throw inside the static home page's render.
    const guarded = new GuardedStore(store, { failuresToOpen: 1 });
    const dynamic = new DynamicServerError("Page changed from static to dynamic at runtime /, reason: no-store fetch");
    for (let i = 0; i < 3; i++) await expect(guarded.read(() => Promise.reject(dynamic))).rejects.toBe(dynamic);
    expect(guarded.state).toBe("closed");
    await expect(guarded.read((s) => s.ping())).resolves.toBeUndefined();
    guarded.dispose();
  });
});
