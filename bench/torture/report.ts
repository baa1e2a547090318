import { readFileSync, existsSync } from "node:fs";
import { overlaps, tally, type Tally, type Verdict } from "./check";
import { ENDPOINTS, effect, type Phase, type Write } from "./history";
import type { Lost } from "./verify";

/*
 * The run's report: stale reads by endpoint × phase, marked-stale counts, 5xx inside and
 * outside the Postgres outage, 429s, request errors, lost writes, convergence, the
 * out-of-band rename, examples, and one last line a script can read.
 */

export interface RunFacts {
  driver: "tcp" | "rest";
  mode: string;
  seed: number;
  loadSeconds: number;
  wallSeconds: number;
  phases: Phase[];
  pgOutage?: { start: number; end: number };
  verdicts: Verdict[];
  writes: Write[];
  lost: Lost[];
  convergence: { converged: boolean; afterMs: number; differences: string[] };
  oobVisibleMs: number | null | undefined;
  oobDeadlineMs: number;
  t0: number;
  /** Replica mode: the lag, and each instance's routed-read counters at the end of each phase. */
  replica?: ReplicaFacts;
  /** The machine's 1-minute load average when the load started and when it stopped, and its cores. */
  machine?: { loadStart: number; loadEnd: number; cores: number };
}

export interface Summary {
  reads: number;
  checked: number;
  stale: number;
  markedStale: number;
  acknowledged: number;
  writes: number;
  lost: number;
  fivexxOutside: number;
  fivexxDuring: number;
  /** 5xx that began within PG_RECONNECT_MS after the outage was lifted (reported apart; they fail the run too). */
  fivexxReconnecting: number;
  s429: number;
  errors: number;
  failed: string[];
}

/**
 * The 6 s after the Postgres outage is lifted, reported apart ("reconnecting") and failed
 * like any 5xx outside the outage. It was once allowed: a write 1.1 s after the restore
 * answered 503 in CI. The cause was postgres.js's reconnect backoff (3^n/100 s, up to
 * 20 s, reset only by a successful connect): after a dozen failed connects the first
 * requests after the outage waited past their deadline. The pools cap it at 1 s now
 * (lib/db/client.ts).
 */
export const PG_RECONNECT_MS = 6_000;

/** 5xx of reads and writes: overlapping the Postgres outage, in the reconnect window after it, or outside both. */
export function fivexx(facts: Pick<RunFacts, "verdicts" | "writes" | "pgOutage">): { outside: number; during: number; reconnecting: number } {
  let outside = 0;
  let during = 0;
  let reconnecting = 0;
  const reqs = [...facts.verdicts.map((v) => v.read), ...facts.writes];
  for (const r of reqs) {
    if (r.status === null || r.status < 500) continue;
    if (facts.pgOutage && overlaps(r, facts.pgOutage.start, facts.pgOutage.end)) during++;
    else if (facts.pgOutage && overlaps(r, facts.pgOutage.end, facts.pgOutage.end + PG_RECONNECT_MS)) reconnecting++;
    else outside++;
  }
  return { outside, during, reconnecting };
}

export function summarize(f: RunFacts): Summary {
  const all = tally(f.verdicts, f.phases).get("all|all");
  const x = fivexx(f);
  const acknowledged = f.writes.filter((w) => effect(w) === "done").length;
  const s = {
    reads: all?.reads ?? 0,
    checked: all?.checked ?? 0,
    stale: all?.stale ?? 0,
    markedStale: all?.markedStale ?? 0,
    acknowledged,
    writes: f.writes.length,
    lost: f.lost.length,
    fivexxOutside: x.outside,
    fivexxDuring: x.during,
    fivexxReconnecting: x.reconnecting,
    s429: (all?.s429 ?? 0) + f.writes.filter((w) => w.status === 429).length,
    errors: (all?.errors ?? 0) + f.writes.filter((w) => w.status === null).length,
    failed: [] as string[],
  };
  if (s.stale) s.failed.push(`${s.stale} stale reads`);
  if (s.lost) s.failed.push(`${s.lost} lost writes`);
  if (s.fivexxOutside) s.failed.push(`${s.fivexxOutside} 5xx outside the Postgres outage`);
  if (s.fivexxReconnecting) s.failed.push(`${s.fivexxReconnecting} 5xx in the ${PG_RECONNECT_MS / 1000} s after the Postgres outage`);
  if (!f.convergence.converged) s.failed.push("the instances did not converge to Postgres");
  if (f.oobVisibleMs === null) s.failed.push("the out-of-band rename was not visible everywhere in time");
  if (f.replica) s.failed.push(...replicaFailures(f.replica));
  return s;
}

/** An instance's routed reads (`lobby_db_reads_total`, by `target:reason`) and statements (`lobby_db_queries_total`, by target). */
export interface DbCounters {
  reads: Record<string, number>;
  queries: Record<string, number>;
}

export interface ReplicaFacts {
  lagMs: number;
  /** Per instance, the counters as each phase ended (in phase order); null where /api/metrics did not answer. */
  byInstance: Record<string, { phase: string; counters: DbCounters | null }[]>;
}

/** The routed-read and statement counters in a Prometheus text exposition. */
export function parseDbCounters(text: string): DbCounters {
  const out: DbCounters = { reads: {}, queries: {} };
  for (const line of text.split("\n")) {
    const m = /^(lobby_db_reads_total|lobby_db_queries_total)\{([^}]*)\}\s+([0-9.eE+-]+)\s*$/.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...m[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1]!, x[2]!]));
    const value = Number(m[3]);
    if (m[1] === "lobby_db_reads_total") out.reads[`${labels.target}:${labels.reason}`] = value;
    else out.queries[labels.target ?? "?"] = value;
  }
  return out;
}

const sumWhere = (r: Record<string, number>, pred: (key: string) => boolean) => Object.entries(r).reduce((n, [k, v]) => n + (pred(k) ? v : 0), 0);

/** One instance's counters in one phase: the difference from the previous phase's end. */
export function replicaRows(facts: ReplicaFacts): { instance: string; phase: string; replica: number; routed: number; replicaStatements: number; unfenced: number; primaryWhy: Record<string, number> }[] {
  const rows = [];
  for (const [instance, snaps] of Object.entries(facts.byInstance)) {
    let prev: DbCounters = { reads: {}, queries: {} };
    for (const { phase, counters } of snaps) {
      if (!counters) {
        rows.push({ instance, phase, replica: NaN, routed: NaN, replicaStatements: NaN, unfenced: NaN, primaryWhy: {} });
        continue;
      }
      const d = (r: Record<string, number>, p: Record<string, number>) => Object.fromEntries(Object.keys(r).map((k) => [k, r[k]! - (p[k] ?? 0)]));
      const reads = d(counters.reads, prev.reads);
      const queries = d(counters.queries, prev.queries);
      rows.push({
        instance,
        phase,
        replica: sumWhere(reads, (k) => k.startsWith("replica:")),
        routed: sumWhere(reads, () => true),
        replicaStatements: queries.replica ?? 0,
        unfenced: reads["replica:unfenced"] ?? 0,
        primaryWhy: Object.fromEntries(Object.entries(reads).filter(([k, v]) => k.startsWith("primary:") && v > 0).map(([k, v]) => [k.slice("primary:".length), v])),
      });
      prev = counters;
    }
  }
  return rows;
}

/** Replica mode fails when an instance's replica served no read (the fence trivially "always primary"), or served one unfenced. */
export function replicaFailures(facts: ReplicaFacts): string[] {
  const out: string[] = [];
  for (const [instance, snaps] of Object.entries(facts.byInstance)) {
    const last = snaps.at(-1)?.counters;
    if (!last) {
      out.push(`instance ${instance}: no routed-read counters (/api/metrics did not answer)`);
      continue;
    }
    const served = sumWhere(last.reads, (k) => k.startsWith("replica:"));
    if (served === 0) out.push(`instance ${instance}: the replica served 0 reads`);
    if ((last.reads["replica:unfenced"] ?? 0) > 0) out.push(`instance ${instance}: ${last.reads["replica:unfenced"]} unfenced replica reads`);
  }
  return out;
}

/** The replica's share of the routed reads, per instance and phase. */
export function renderReplica(facts: ReplicaFacts): string {
  const rows = replicaRows(facts);
  const lines = [`replica (lag ${facts.lagMs} ms): reads served by the replica / routed reads (lobby_db_reads_total), replica statements (lobby_db_queries_total), why the others went to the primary:`];
  const pct = (a: number, b: number) => (b ? `${Math.round((100 * a) / b)}%` : "-");
  for (const instance of Object.keys(facts.byInstance)) {
    const mine = rows.filter((r) => r.instance === instance);
    const total = mine.reduce((t, r) => ({ replica: t.replica + r.replica, routed: t.routed + r.routed, statements: t.statements + r.replicaStatements }), { replica: 0, routed: 0, statements: 0 });
    for (const r of mine) {
      lines.push(
        `  ${instance} ${pad(r.phase, 18)} ${lpad(`${r.replica}/${r.routed}`, 12)} (${lpad(pct(r.replica, r.routed), 4)}), ${lpad(String(r.replicaStatements), 6)} replica statements; primary: ${Object.entries(r.primaryWhy).map(([k, v]) => `${k} ${v}`).join(", ") || "-"}`,
      );
    }
    lines.push(`  ${instance} ${pad("all", 18)} ${lpad(`${total.replica}/${total.routed}`, 12)} (${lpad(pct(total.replica, total.routed), 4)}), ${lpad(String(total.statements), 6)} replica statements`);
  }
  return lines.join("\n");
}

const pad = (s: string, n: number) => (s.length >= n ? s : s + " ".repeat(n - s.length));
const lpad = (s: string, n: number) => (s.length >= n ? s : " ".repeat(n - s.length) + s);
const sec = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

function table(rows: string[], cols: string[], cell: (row: string, col: string) => string): string {
  const cells = rows.map((r) => cols.map((c) => cell(r, c)));
  const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]!.length)));
  const first = Math.max(8, ...rows.map((r) => r.length));
  const line = (head: string, values: string[]) => pad(head, first) + "  " + values.map((v, i) => lpad(v, widths[i]!)).join("  ");
  return [line("", cols), ...rows.map((r, i) => line(r, cells[i]!))].join("\n");
}

/** p50 / p95 / max duration of reads by endpoint and of writes by kind. */
export function latency(reads: { endpoint: string; start: number; end: number }[], writes: { kind: string; start: number; end: number }[]) {
  const groups = new Map<string, number[]>();
  for (const r of reads) groups.set(r.endpoint, [...(groups.get(r.endpoint) ?? []), r.end - r.start]);
  for (const w of writes) groups.set(`write ${w.kind}`, [...(groups.get(`write ${w.kind}`) ?? []), w.end - w.start]);
  const q = (xs: number[], p: number) => Math.round(xs[Math.min(xs.length - 1, Math.floor(p * xs.length))]!);
  return Object.fromEntries(
    [...groups].map(([k, xs]) => {
      xs.sort((a, b) => a - b);
      return [k, { n: xs.length, p50: q(xs, 0.5), p95: q(xs, 0.95), max: q(xs, 1) }];
    }),
  );
}

/** The human-readable report. */
export function renderReport(f: RunFacts, s: Summary): string {
  const t = tally(f.verdicts, f.phases);
  const phases = [...f.phases.map((p) => p.name), "all"];
  const rows = [...ENDPOINTS, "all"];
  const get = (r: string, c: string): Tally | undefined => t.get(`${r}|${c}`);
  const out: string[] = [];
  out.push(
    `torture ${f.driver} (${f.mode}, seed ${f.seed}): ${s.reads} reads (${s.checked} checked), ${s.writes} writes (${s.acknowledged} acknowledged), ${f.loadSeconds.toFixed(0)} s of load, ${f.wallSeconds.toFixed(0)} s in all${f.machine ? `; load average ${f.machine.loadStart.toFixed(1)} -> ${f.machine.loadEnd.toFixed(1)} on ${f.machine.cores} cores` : ""}`,
  );
  out.push("", "stale reads / checked reads (largest ms behind an acknowledged write):");
  out.push(table(rows, phases, (r, c) => {
    const v = get(r, c);
    if (!v) return "-";
    return `${v.stale}/${v.checked}${v.stale ? ` (${Math.round(v.maxBehindMs)})` : ""}`;
  }));
  out.push("", "marked stale (allowed: the response says it may be old; in brackets those that were behind):");
  out.push(table(rows, phases, (r, c) => {
    const v = get(r, c);
    return v ? `${v.markedStale}${v.markedStaleBehind ? ` (${v.markedStaleBehind})` : ""}` : "-";
  }));
  out.push("", "5xx / 429 / request errors (reads):");
  out.push(table(rows, phases, (r, c) => {
    const v = get(r, c);
    return v ? `${v.s5xx}/${v.s429}/${v.errors}` : "-";
  }));
  const writes5xx = f.writes.filter((w) => w.status !== null && w.status >= 500).length;
  const byKind = new Map<string, { n: number; acked: number; x5: number; x4: number; err: number }>();
  for (const w of f.writes) {
    const k = byKind.get(w.kind) ?? { n: 0, acked: 0, x5: 0, x4: 0, err: 0 };
    k.n++;
    if (w.ack !== undefined) k.acked++;
    else if (w.status === null) k.err++;
    else if (w.status >= 500) k.x5++;
    else k.x4++;
    byKind.set(w.kind, k);
  }
  out.push("", `writes: ${[...byKind].map(([kind, k]) => `${kind} ${k.acked}/${k.n}${k.x5 ? ` 5xx ${k.x5}` : ""}${k.x4 ? ` 4xx ${k.x4}` : ""}${k.err ? ` no answer ${k.err}` : ""}`).join(", ")}`);
  out.push(`5xx: ${s.fivexxOutside} outside the Postgres outage, ${s.fivexxDuring} during it (reads and writes; ${writes5xx} of them writes), ${s.fivexxReconnecting} in the ${PG_RECONNECT_MS / 1000} s after it (reconnecting); 429: ${s.s429}; request errors: ${s.errors}`);
  const lat = latency(f.verdicts.map((v) => v.read), f.writes);
  out.push(`duration p50/p95 ms: ${Object.entries(lat).map(([k, v]) => `${k} ${v.p50}/${v.p95}`).join(", ")}`);
  out.push(`lost writes: ${s.lost}/${s.acknowledged}${f.lost.length ? ": " + f.lost.slice(0, 5).map((l) => `#${l.write.seq} ${l.write.kind} (${l.why})`).join("; ") : ""}`);
  out.push(
    f.convergence.converged
      ? `convergence: both instances equal to Postgres on every endpoint ${sec(f.convergence.afterMs)} after the load stopped`
      : `convergence: NOT converged ${sec(f.convergence.afterMs)} after the load stopped: ${f.convergence.differences.slice(0, 6).join("; ")}`,
  );
  out.push(
    f.oobVisibleMs === undefined
      ? "out-of-band rename: not run"
      : f.oobVisibleMs === null
        ? `out-of-band rename: NOT visible on every endpoint of both instances within ${sec(f.oobDeadlineMs)}`
        : `out-of-band rename: visible on every endpoint of both instances ${sec(f.oobVisibleMs)} after the commit (deadline ${sec(f.oobDeadlineMs)})`,
  );
  if (f.replica) out.push("", renderReplica(f.replica));
  const examples = staleExamples(f);
  if (examples.length) out.push("", "examples of stale reads:", ...examples.map((e) => "  " + e));
  if (s.failed.length) out.push("", `FAILED: ${s.failed.join(", ")}`);
  return out.join("\n");
}

/** Up to two per endpoint × phase, the furthest behind first. */
export function staleExamples(f: Pick<RunFacts, "verdicts" | "phases" | "t0" | "writes">, max = 16): string[] {
  const bySeq = new Map(f.writes.map((w) => [w.seq, w]));
  const stale = f.verdicts.filter((v) => v.status === "stale");
  const groups = new Map<string, Verdict[]>();
  for (const v of stale) {
    const phase = f.phases.find((p) => v.read.start >= p.start && v.read.start < p.end)?.name ?? "other";
    const key = `${v.read.endpoint}|${phase}`;
    groups.set(key, [...(groups.get(key) ?? []), v]);
  }
  const lines: string[] = [];
  for (const [key, vs] of groups) {
    const worst = [...vs].sort((a, b) => Math.max(...b.findings.map((x) => x.behindMs)) - Math.max(...a.findings.map((x) => x.behindMs)));
    for (const v of worst.slice(0, 2)) {
      const fd = [...v.findings].sort((a, b) => b.behindMs - a.behindMs)[0]!;
      const w = bySeq.get(fd.missed);
      const what =
        fd.kind === "name-behind"
          ? `showed ${fd.label} n=${fd.seenN}, acknowledged n=${fd.expectedN} (${fd.expectedN! - fd.seenN!} behind)`
          : fd.kind === "room-missing"
            ? `room ${fd.label} missing (created)`
            : fd.kind === "deleted-room-present"
              ? `room ${fd.label} still there (deleted)`
              : fd.kind === "message-missing"
                ? `message ${fd.token} missing from ${fd.label}`
                : `message ${fd.token} still in ${fd.label} (deleted)`;
      lines.push(
        `${pad(key.replace("|", " in "), 28)} on ${v.read.instance}: ${what}; ${Math.round(fd.behindMs)} ms after the ack of #${fd.missed}${w ? ` (${w.kind} via ${w.instance})` : ""}; read ${sec(v.read.start - f.t0)}-${sec(v.read.end - f.t0)} status ${v.read.status}${v.findings.length > 1 ? `, ${v.findings.length} findings` : ""}`,
      );
    }
    if (lines.length >= max) break;
  }
  return lines;
}

/** `torture: tcp stale 0/12934 lost 0/1702 5xx 0 (outside pg outage) oob-visible 4.2s` */
export function lastLine(f: RunFacts, s: Summary): string {
  const oob = f.oobVisibleMs === undefined ? "n/a" : f.oobVisibleMs === null ? "never" : sec(f.oobVisibleMs);
  const replica = f.replica ? replicaRows(f.replica).reduce((t, r) => ({ served: t.served + r.replica, routed: t.routed + r.routed }), { served: 0, routed: 0 }) : undefined;
  return `torture: ${f.driver}${f.replica ? ` replica-lag ${f.replica.lagMs}ms replica-reads ${replica!.served}/${replica!.routed}` : ""} stale ${s.stale}/${s.checked} lost ${s.lost}/${s.acknowledged} 5xx ${s.fivexxOutside} (outside pg outage; ${s.fivexxReconnecting} reconnecting after it) marked-stale ${s.markedStale} converged ${f.convergence.converged ? "yes" : "no"} oob-visible ${oob}`;
}

/** Warnings and errors in a log, counted by message (pino JSON lines by `msg`, other lines by their start). */
export function logDigest(file: string, top = 8): string[] {
  if (!existsSync(file)) return [];
  const counts = new Map<string, number>();
  for (const line of readFileSync(file, "utf8").split("\n")) {
    if (!line.trim()) continue;
    let key: string;
    try {
      const j = JSON.parse(line) as { level?: number; msg?: string; err?: { message?: string }; cause?: string };
      if ((j.level ?? 0) < 40) continue;
      key = `${j.level === 40 ? "warn" : j.level === 50 ? "error" : "fatal"}: ${j.msg}${j.err?.message ? ` (${j.err.message.slice(0, 80)})` : j.cause ? ` (${String(j.cause).slice(0, 80)})` : ""}`;
    } catch {
      key = line.replace(/\d+/g, "N").slice(0, 120);
    }
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, n]) => `${lpad(String(n), 6)}  ${k}`);
}
