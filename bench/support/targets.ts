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
}

export interface TargetCheck {
  target: string;
  measured: string;
  met: boolean;
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
    out.push({ target, measured: `${value.toFixed(2)}${unit}`, met: value >= min });

  const home = row("home page", "cached");
  if (home) atLeast("home page cached >= 0.5x the prerendered static page", ratio(home.ratio), 0.5);
  const api = row("GET /api/rooms", "cached");
  if (api) {
    atLeast("GET /api/rooms cached >= 0.8x the constant route", ratio(api.ratio), 0.8);
    atLeast("GET /api/rooms cached >= 1.5x CACHE_ENABLED=false", ratio(api.vsNoCache), 1.5);
  }
  for (const [path, n] of Object.entries(facts.queriesPer1000)) {
    out.push({ target: `<= 1 Postgres query per 1,000 cached reads of ${path}`, measured: String(n), met: n <= 1 });
  }
  if (facts.stampedeQueries !== undefined) {
    out.push({ target: "1 Postgres query for the 500-request cold stampede", measured: String(facts.stampedeQueries), met: facts.stampedeQueries === 1 });
  }
  if (facts.clusterStampedeQueries !== undefined) {
    out.push({ target: "1 Postgres query for the cold stampede on the Redis Cluster", measured: String(facts.clusterStampedeQueries), met: facts.clusterStampedeQueries === 1 });
  }
  for (const scenario of ["home page, Redis blackholed", "GET /api/rooms, Redis blackholed"]) {
    const down = row(scenario, "Redis blackholed");
    const base = row(scenario, "CACHE_ENABLED=false");
    if (!down || !base) continue;
    atLeast(`${scenario}: throughput >= 0.9x CACHE_ENABLED=false`, ratio(down.ratio), 0.9);
    const p99 = ratio(down.p99Ratio);
    out.push({ target: `${scenario}: p99 within 1.2x CACHE_ENABLED=false`, measured: `${p99.toFixed(2)}x (medians ${down.p99} vs ${base.p99} ms)`, met: p99 <= 1.2 });
  }
  const sizes = rows.filter((r) => r.scenario === "home page by size");
  const largest = sizes.at(-1);
  if (sizes.length > 1 && largest) atLeast(`home page at ${largest.variant} >= 0.8x at 50 rooms`, ratio(largest.ratio), 0.8);
  return out;
}
