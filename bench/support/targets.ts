/** One row of the bench's table (bench/run.ts). */
export interface BenchRow {
  scenario: string;
  variant: string;
  rps: number;
  p99: number;
  ratio?: string;
  /** p99 against the baseline, paired by round (bench/run.ts). */
  p99Ratio?: string;
  vsNoCache?: string;
}

/** Counts the run measured outside the table. */
export interface BenchFacts {
  /** Postgres queries per 1,000 cached reads, per path. */
  queriesPer1000: Record<string, number>;
  /** Postgres queries made by the cold-cache stampede. */
  stampedeQueries?: number;
  /** The same, both instances on the Redis Cluster. */
  clusterStampedeQueries?: number;
  /** The fan-out scenario's delivery. */
  fanout?: { clients: number; p99: number; lost: number; duplicates: number; sendErrors: number };
  /** The peers scenario: each variant's stale reads over its forced races (both races). */
  peerStale?: { cache: "page" | "data"; variant: string; stale: number; forced: number }[];
}

export interface TargetCheck {
  target: string;
  measured: string;
  met: boolean;
  /** The measured number itself (a ratio, a count, ms), for the day's range. */
  value?: number;
}

const ratio = (s: string | undefined) => (s ? Number(s.replace("x", "")) : NaN);

/**
 * The performance issue's targets, each judged from this run's own numbers (ratios against
 * baselines measured in the same run). A scenario that was not run is left out.
 */
export function checkTargets(rows: BenchRow[], facts: BenchFacts): TargetCheck[] {
  const out: TargetCheck[] = [];
  const row = (scenario: string, variant: string) => rows.find((r) => r.scenario === scenario && r.variant === variant);
  const atLeast = (target: string, value: number, min: number, unit = "x") =>
    out.push({ target, measured: `${value.toFixed(2)}${unit}`, met: value >= min, value });
  const atMost = (target: string, value: number, max: number, measured = `${value.toFixed(2)}x`) => out.push({ target, measured, met: value <= max, value });

  // The limits: Next serving a prerendered page from its own memory, a route returning a constant (issue 18's raised targets).
  const home = row("home page", "cached");
  if (home) {
    atLeast("home page cached >= 1.0x the prerendered static page", ratio(home.ratio), 1.0);
    atMost("home page cached: p99 <= 1.1x the prerendered static page's", ratio(home.p99Ratio), 1.1);
  }
  const api = row("GET /api/rooms", "cached");
  if (api) {
    atLeast("GET /api/rooms cached >= 1.0x the constant route", ratio(api.ratio), 1.0);
    atLeast("GET /api/rooms cached >= 1.5x CACHE_ENABLED=false", ratio(api.vsNoCache), 1.5);
  }
  for (const [path, n] of Object.entries(facts.queriesPer1000)) {
    out.push({ target: `<= 1 Postgres query per 1,000 cached reads of ${path}`, measured: String(n), met: n <= 1, value: n });
  }
  if (facts.stampedeQueries !== undefined) {
    const n = facts.stampedeQueries;
    out.push({ target: "1 Postgres query for the 500-request cold stampede", measured: String(n), met: n === 1, value: n });
  }
  if (facts.clusterStampedeQueries !== undefined) {
    const n = facts.clusterStampedeQueries;
    out.push({ target: "1 Postgres query for the cold stampede on the Redis Cluster", measured: String(n), met: n === 1, value: n });
  }
  for (const scenario of ["home page, Redis blackholed", "GET /api/rooms, Redis blackholed"]) {
    const down = row(scenario, "Redis blackholed");
    const base = row(scenario, "CACHE_ENABLED=false");
    if (!down || !base) continue;
    atLeast(`${scenario}: throughput >= 0.9x CACHE_ENABLED=false`, ratio(down.ratio), 0.9);
    const p99 = ratio(down.p99Ratio);
    atMost(`${scenario}: p99 within 1.2x CACHE_ENABLED=false`, p99, 1.2, `${p99.toFixed(2)}x (medians ${down.p99} vs ${base.p99} ms)`);
  }
  const sizes = rows.filter((r) => r.scenario === "home page by size");
  const largest = sizes.at(-1);
  if (sizes.length > 1 && largest) atLeast(`home page at ${largest.variant.replace(/ \(.*\)$/, "")} >= 0.8x at ${sizes[0]!.variant.replace(/ \(.*\)$/, "")}`, ratio(largest.ratio), 0.8);
  const f = facts.fanout;
  if (f) {
    const clean = f.lost === 0 && f.duplicates === 0 && f.sendErrors === 0;
    out.push({
      target: `fan-out, ${f.clients.toLocaleString("en-US")} SSE clients over 2 instances: delivery p99 < 100 ms, 0 lost, 0 duplicates`,
      measured: `p99 ${f.p99} ms, ${f.lost} lost, ${f.duplicates} duplicates`,
      met: f.p99 < 100 && clean,
      value: f.p99,
    });
  }
  // Peers: Lobby's throughput against each peer's (the rows' ratios are the peer's against Lobby's, paired), and no stale read.
  for (const [cache, scenario, lobby] of [["page", "home page, page cache peers", "lobby-page"], ["data", "GET /api/rooms, data cache peers", "lobby-data"]] as const) {
    for (const peer of rows.filter((r) => r.scenario === scenario && r.variant !== lobby)) {
      atLeast(`${lobby} >= 1.0x ${peer.variant}'s throughput`, 1 / ratio(peer.ratio), 1.0);
    }
    const own = facts.peerStale?.find((p) => p.cache === cache && p.variant === lobby);
    if (own) out.push({ target: `${lobby}: 0 stale reads in the forced races`, measured: `${own.stale}/${own.forced}`, met: own.stale === 0, value: own.stale });
  }
  return out;
}

/** A run's targets as kept in the day's history (bench/results-history.jsonl). */
export interface TargetRun {
  at: string;
  targets: TargetCheck[];
}

/**
 * Each target's range over the runs of the same UTC day that measured it, this one
 * included: "0.88-1.00x over 3 runs". The raised targets are judged on that range, not on
 * one run of a noisy machine.
 */
export function dayRanges(current: TargetRun, history: readonly TargetRun[]): Map<string, string> {
  const day = current.at.slice(0, 10);
  const out = new Map<string, string>();
  for (const t of current.targets) {
    if (t.value === undefined || !Number.isFinite(t.value)) continue;
    const values = [...history.filter((h) => h.at.slice(0, 10) === day && h.at !== current.at), current]
      .map((h) => h.targets.find((x) => x.target === t.target)?.value)
      .filter((v): v is number => v !== undefined && Number.isFinite(v));
    const unit = t.measured.match(/^[\d.]+(x)/)?.[1] ?? "";
    const fmt = (v: number) => (unit ? v.toFixed(2) : String(Math.round(v * 100) / 100));
    const [lo, hi] = [Math.min(...values), Math.max(...values)];
    out.set(t.target, `${lo === hi ? fmt(lo) : `${fmt(lo)}-${fmt(hi)}`}${unit} over ${values.length} run${values.length === 1 ? "" : "s"} today`);
  }
  return out;
}
