import { describe, expect, it } from "vitest";
import { PG_RECONNECT_MS, fivexx, parseDbCounters, replicaFailures, replicaRows, summarize, type RunFacts } from "./report";

describe("the checker's 5xx classification", () => {
  const outage = { start: 10_000, end: 15_000 };
  const write = (start: number, end: number, status: number) => ({ start, end, status }) as never;

  it("a 5xx overlapping the outage is during it, one in the reconnect window after it is counted apart, and both of those outside the outage fail the run", () => {
    const writes = [
      write(9_900, 12_000, 503), // began just before the outage, caught by it
      write(16_000, 21_000, 503), // began 1 s after the restore: reconnecting
      write(15_000 + PG_RECONNECT_MS + 1, 15_000 + PG_RECONNECT_MS + 500, 500), // well after: outside
      write(2_000, 2_100, 500), // before: outside
      write(3_000, 3_100, 201),
    ];
    expect(fivexx({ verdicts: [], writes, pgOutage: outage })).toEqual({ during: 1, reconnecting: 1, outside: 2 });
  });

  it("a 5xx just after the outage fails the run; one during it does not", () => {
    const run = (writes: unknown[]): RunFacts =>
      ({ driver: "tcp", mode: "short", seed: 1, loadSeconds: 1, wallSeconds: 1, phases: [], pgOutage: outage, verdicts: [], writes, lost: [],
        convergence: { converged: true, afterMs: 0, differences: [] }, oobVisibleMs: 1, oobDeadlineMs: 15_000, t0: 0 }) as unknown as RunFacts;
    expect(summarize(run([write(11_000, 12_000, 503)])).failed).toEqual([]);
    expect(summarize(run([write(16_000, 17_000, 503)])).failed).toEqual([`1 5xx in the ${PG_RECONNECT_MS / 1000} s after the Postgres outage`]);
  });
});

describe("the replica mode's figures", () => {
  const exposition = (replica: number, primaryBehind: number, unfenced = 0) =>
    [
      "# HELP lobby_db_reads_total Routed reads (cache fills, stats, search) by target and reason.",
      "# TYPE lobby_db_reads_total counter",
      `lobby_db_reads_total{target="replica",reason="fenced"} ${replica}`,
      ...(unfenced ? [`lobby_db_reads_total{target="replica",reason="unfenced"} ${unfenced}`] : []),
      `lobby_db_reads_total{target="primary",reason="behind"} ${primaryBehind}`,
      `lobby_db_queries_total{target="primary"} 900`,
      `lobby_db_queries_total{target="replica"} ${2 * replica}`,
      `lobby_cache_requests_total{result="hit"} 5`,
    ].join("\n");

  it("reads the routed-read and statement counters from /api/metrics", () => {
    expect(parseDbCounters(exposition(7, 3))).toEqual({ reads: { "replica:fenced": 7, "primary:behind": 3 }, queries: { primary: 900, replica: 14 } });
  });

  it("counts each phase as the difference from the one before, and fails an instance whose replica served nothing", () => {
    const facts = {
      lagMs: 1500,
      byInstance: {
        A: [
          { phase: "setup", counters: parseDbCounters(exposition(0, 4)) },
          { phase: "replica-lagging", counters: parseDbCounters(exposition(0, 30)) },
          { phase: "replica-caught-up", counters: parseDbCounters(exposition(12, 34)) },
        ],
        B: [
          { phase: "setup", counters: parseDbCounters(exposition(0, 2)) },
          { phase: "replica-lagging", counters: parseDbCounters(exposition(0, 20)) },
          { phase: "replica-caught-up", counters: parseDbCounters(exposition(0, 40)) },
        ],
      },
    };
    const a = replicaRows(facts).filter((r) => r.instance === "A");
    expect(a.map((r) => [r.phase, r.replica, r.routed])).toEqual([
      ["setup", 0, 4],
      ["replica-lagging", 0, 26],
      ["replica-caught-up", 12, 16],
    ]);
    expect(replicaFailures(facts)).toEqual(["instance B: the replica served 0 reads"]);
    facts.byInstance.B.push({ phase: "settle", counters: parseDbCounters(exposition(3, 40, 1)) });
    expect(replicaFailures(facts)).toEqual(["instance B: 1 unfenced replica reads"]);
    facts.byInstance.B.push({ phase: "settle", counters: null as never });
    expect(replicaFailures(facts)).toEqual(["instance B: no routed-read counters (/api/metrics did not answer)"]);
  });
});
