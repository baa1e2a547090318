import { describe, expect, it } from "vitest";
import { JOB } from "../lib/queue/contract";
import { enqueue } from "../lib/queue/producer";
import { useWorkerHarness } from "../tests/support/worker-harness";

const TOKEN = "worker-metrics-token-0123456789";

/** The worker's own Prometheus port: started with the worker, serving its registry, closed with it. */
describe("worker metrics port", () => {
  const w = useWorkerHarness("rooms-metrics");

  it("serves lobby_reconcile_* on GET /metrics after a run, and stops listening on close", async () => {
    const handle = await w.start({ metricsPort: 0 });
    const url = `http://127.0.0.1:${handle.metricsPort}/metrics`;
    const scrape = async () => (await fetch(url)).text();
    const value = (text: string, series: string) =>
      Number(text.split("\n").find((l) => l.startsWith(`${series} `))?.split(" ")[1] ?? Number.NaN);
    const before = await scrape();
    const done = value(before, 'lobby_reconcile_runs_total{outcome="done"}');
    expect(done).toBeGreaterThanOrEqual(0);

    await w.app.roomWrites.create({ id: "owner-session-00001", name: "Owner" }, { name: "Scraped" });
    await w.app.rooms.getAllRooms();
    await w.db.sql`update rooms set name = 'Renamed', version = nextval('room_version_seq')`;
    const job = await enqueue(w.queue, JOB.reconcile, { force: true, reason: "test" });
    await job.waitUntilFinished(w.events, 10_000);

    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/plain");
    const after = await response.text();
    expect(value(after, 'lobby_reconcile_runs_total{outcome="done"}')).toBe(done + 1);
    expect(value(after, 'lobby_reconcile_drift_total{kind="modified"}')).toBeGreaterThanOrEqual(1);
    expect(value(after, "lobby_reconcile_duration_seconds_count")).toBeGreaterThanOrEqual(1);
    expect(value(after, "lobby_reconcile_last_success_timestamp_seconds")).toBeGreaterThan(Date.now() / 1_000 - 60);
    expect((await fetch(`http://127.0.0.1:${handle.metricsPort}/other`)).status).toBe(404);

    await w.stop();
    await expect(fetch(url)).rejects.toThrow();
  });

  it("needs the bearer token when METRICS_TOKEN is set", async () => {
    const handle = await w.start({ metricsPort: 0, metricsToken: TOKEN });
    const url = `http://127.0.0.1:${handle.metricsPort}/metrics`;
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(url, { headers: { authorization: "Bearer wrong-token-of-some-length" } })).status).toBe(401);
    const ok = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain("lobby_reconcile_runs_total");
  });
});
