import { describe, expect, it } from "vitest";
import { checkTargets, dayRanges, type BenchRow, type TargetRun } from "./targets";

const rows: BenchRow[] = [
  { scenario: "home page", variant: "cached", rps: 600, p99: 198, ratio: "0.89x", p99Ratio: "1.24x" },
  { scenario: "GET /api/rooms", variant: "cached", rps: 867, p99: 178, ratio: "1.90x", vsNoCache: "2.15x" },
  { scenario: "home page, page cache peers", variant: "lobby-page", rps: 601, p99: 238, ratio: "1.00x" },
  { scenario: "home page, page cache peers", variant: "fortedigital", rps: 582, p99: 204, ratio: "0.98x", p99Ratio: "0.86x" },
  { scenario: "GET /api/rooms, data cache peers", variant: "lobby-data", rps: 809, p99: 215, ratio: "1.00x" },
  { scenario: "GET /api/rooms, data cache peers", variant: "bentocache", rps: 950, p99: 290, ratio: "1.25x" },
];

const find = (checks: ReturnType<typeof checkTargets>, start: string) => checks.find((c) => c.target.startsWith(start));

describe("the bench's targets", () => {
  it("judge the raised limits, the fan-out and the peers from the run's own figures", () => {
    const checks = checkTargets(rows, {
      queriesPer1000: { "/": 0 },
      fanout: { clients: 1000, p99: 9822, lost: 0, duplicates: 0, sendErrors: 0 },
      peerStale: [
        { cache: "page", variant: "lobby-page", stale: 0, forced: 40 },
        { cache: "data", variant: "lobby-data", stale: 1, forced: 40 },
      ],
    });
    expect(find(checks, "home page cached >= 1.0x")).toMatchObject({ met: false, value: 0.89 });
    expect(find(checks, "home page cached: p99 <= 1.1x")).toMatchObject({ met: false, value: 1.24 });
    expect(find(checks, "GET /api/rooms cached >= 1.0x")).toMatchObject({ met: true });
    expect(find(checks, "fan-out, 1,000 SSE clients")).toMatchObject({ met: false, measured: "p99 9822 ms, 0 lost, 0 duplicates" });
    // The peer rows' ratios are the peer's against Lobby's: Lobby's is the inverse.
    expect(find(checks, "lobby-page >= 1.0x fortedigital's")).toMatchObject({ met: true, measured: "1.02x" });
    expect(find(checks, "lobby-data >= 1.0x bentocache's")).toMatchObject({ met: false, measured: "0.80x" });
    expect(find(checks, "lobby-page: 0 stale")).toMatchObject({ met: true, measured: "0/40" });
    expect(find(checks, "lobby-data: 0 stale")).toMatchObject({ met: false, measured: "1/40" });
  });

  it("a fan-out that lost a message misses its target whatever its latency", () => {
    const checks = checkTargets([], { queriesPer1000: {}, fanout: { clients: 100, p99: 30, lost: 1, duplicates: 0, sendErrors: 0 } });
    expect(find(checks, "fan-out")?.met).toBe(false);
  });

  it("give each target its range over the same day's runs only", () => {
    const run = (at: string, value: number): TargetRun => ({
      at,
      targets: [{ target: "home page cached >= 1.0x the prerendered static page", measured: `${value.toFixed(2)}x`, met: value >= 1, value }],
    });
    const current = run("2026-12-07T09:00:00.000Z", 0.89);
    const history = [run("2026-12-06T23:59:00.000Z", 0.5), run("2026-12-07T06:00:00.000Z", 1.0), run("2026-12-07T07:00:00.000Z", 0.95)];
    expect(dayRanges(current, history).get("home page cached >= 1.0x the prerendered static page")).toBe("0.89-1.00x over 3 runs today");
    expect(dayRanges(current, []).get("home page cached >= 1.0x the prerendered static page")).toBe("0.89x over 1 run today");
  });
});
