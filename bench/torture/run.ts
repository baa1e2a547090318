/**
 * `npm run torture [-- --driver tcp|rest|both --mode short|default|long --seed N --build --out DIR --replica-lag-ms MS]`
 *
 * Lobby's promise under faults, checked from the outside: once a client holds a 2xx for a
 * write, no read that starts after it, on any instance, is served anything older. Two
 * `next start` instances and the worker, each behind its own fault-injecting proxy to a
 * private redis-server (and one shared proxy to Postgres), writers and readers on both
 * instances, a schedule of faults, and every read checked against the writes acknowledged
 * before it began (check.ts). Method and output: bench/README.md, "Torture".
 */
import "../../scripts/load-env";
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { z } from "zod";
import { startApp, type AppServer } from "../support/server";
import { ensureBuilt } from "./build";
import { check } from "./check";
import { PG_ADMIN_URL, createDatabase, createReplicatedDatabase, readTruth, type ReplicatedDatabase, type RunDatabase } from "./database";
import { now, type Endpoint, type Instance } from "./history";
import { exchange, newSession, type Target } from "./http";
import { parseResponse } from "./parse";
import { watchPageClock } from "./page-clock-watch";
import { MODES, REPLICA_MODES, runPhases, type Mode } from "./phases";
import { Cleanup, freePort, startProxyHost, startRedis, startRestServer, workerProcess } from "./processes";
import { lastLine, latency, logDigest, parseDbCounters, renderReport, summarize, type DbCounters, type ReplicaFacts, type RunFacts } from "./report";
import { Rng } from "./rng";
import { differences, lostWrites } from "./verify";
import { PATHS, Reader, Recorder, Writer, type Control, type WorkloadConfig } from "./workload";

const args = z
  .object({
    driver: z.enum(["tcp", "rest", "both"]).default("both"),
    mode: z.enum(["short", "default", "long"]).default("default"),
    seed: z.coerce.number().int().min(0).default(() => Math.floor(Math.random() * 1e9)),
    build: z.boolean().default(false),
    "reconcile-ms": z.coerce.number().int().min(1000).default(5000),
    /** Where the reports and logs go (default: bench/torture/results/<time>-<mode>); `npm test` reads <out>/<driver>.json. */
    out: z.string().min(1).optional(),
    /**
     * Replica mode: the run's Postgres is a primary and a streaming replica of its own, the
     * replica this many ms behind (recovery_min_apply_delay); the app reads through the
     * fence (DATABASE_REPLICA_URLS), and the schedule is the replica's (phases.ts).
     */
    "replica-lag-ms": z.coerce.number().int().min(0).max(60_000).optional(),
  })
  .strict()
  .parse(parseFlags(process.argv.slice(2)));

function parseFlags(argv: string[]): Record<string, string | boolean> {
  const out: Record<string, string | boolean> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith("--")) continue;
    const next = argv[i + 1];
    if (next === undefined || next.startsWith("--")) out[a.slice(2)] = true;
    else out[a.slice(2)] = (i++, next);
  }
  return out;
}

const WORKLOAD: WorkloadConfig = {
  writers: 4,
  readers: 6,
  stableRooms: 6,
  ephemeralPerWriter: 5,
  writerPauseMs: [60, 240],
  readerPauseMs: 10,
};
/** How long the out-of-band rename may take beyond one reconciliation interval. */
const OOB_SLACK_MS = 10_000;

/** Variables of the app that must come from the run, never from the caller's shell. */
const APP_VARS = /^(DATABASE_URL|DATABASE_REPLICA_URLS|REDIS_URL|REDIS_CLUSTER_NODES|KV_REST_API_URL|KV_REST_API_TOKEN|UPSTASH_REDIS_REST_URL|UPSTASH_REDIS_REST_TOKEN|REDIS_KEY_PREFIX|CACHE_ENABLED|ENABLE_ROOM_RECONCILIATION|RECONCILE_INTERVAL_MS|SESSION_SECRET|SESSION_COOKIE_SECURE|PORT|LOG_LEVEL|METRICS_TOKEN|PAGE_CACHE|TRUSTED_PROXY_HOPS|WORKER_METRICS_PORT|BENCH_ROUTES|NODE_ENV)$/;
const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !APP_VARS.test(k))) as NodeJS.ProcessEnv;

const cleanup = new Cleanup();
let interrupted = false;
/** The clients and phases of the run in progress: stopped first on Ctrl-C. */
let current: Control | undefined;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    console.error(`\n${signal}: stopping every process this run started...`);
    if (current) current.stopped = true;
    void cleanup.close().finally(() => process.exit(130));
  });
}

const say = (line: string) => console.log(`[torture ${new Date().toISOString().slice(11, 19)}] ${line}`);

async function runOnce(driver: "tcp" | "rest", seed: number, resultsDir: string): Promise<{ facts: RunFacts; line: string; failed: boolean }> {
  const wallStart = now();
  const logDir = path.join(resultsDir, `logs-${driver}`);
  mkdirSync(logDir, { recursive: true });
  say(`${driver}: starting (seed ${seed}, mode ${args.mode}); logs in ${logDir}`);

  const step = async <T>(what: string, p: Promise<T>): Promise<T> => {
    const t = now();
    const v = await p;
    timings[what] = Math.round(now() - t);
    return v;
  };
  const timings: Record<string, number> = {};
  const lagMs = args["replica-lag-ms"];
  const [redis, db, proxies] = await Promise.all([
    step("redis-server", startRedis(cleanup, logDir)),
    step(
      lagMs === undefined ? "database (create, migrate)" : "primary and replica (start, create, migrate)",
      lagMs === undefined ? createDatabase(cleanup) : createReplicatedDatabase(cleanup, lagMs),
    ) as Promise<RunDatabase | ReplicatedDatabase>,
    step("proxy host", startProxyHost(cleanup, logDir)),
  ]);
  const redisProxy = { A: "redis-A", B: "redis-B", worker: "redis-worker" };
  const ports = {
    A: await proxies.create(redisProxy.A, redis.port),
    B: await proxies.create(redisProxy.B, redis.port),
    worker: await proxies.create(redisProxy.worker, redis.port),
    pg: await proxies.create("pg", "pair" in db ? db.primaryPort : Number(new URL(PG_ADMIN_URL).port || 5432)),
  };
  const metricsToken = randomBytes(16).toString("hex");
  const common: Record<string, string> = {
    NODE_ENV: "production",
    DATABASE_URL: db.urlVia(ports.pg),
    ...("pair" in db ? { DATABASE_REPLICA_URLS: db.replicaUrl } : {}),
    CACHE_ENABLED: "true",
    SESSION_SECRET: randomBytes(24).toString("hex"),
    LOG_LEVEL: "warn",
    ENABLE_ROOM_RECONCILIATION: "true",
    RECONCILE_INTERVAL_MS: String(args["reconcile-ms"]),
    WORKER_METRICS_PORT: "0",
    TRUSTED_PROXY_HOPS: "1",
    METRICS_TOKEN: metricsToken,
  };
  const redisEnv = async (who: "A" | "B"): Promise<Record<string, string>> => {
    const url = `redis://127.0.0.1:${ports[who]}`;
    if (driver === "tcp") return { REDIS_URL: url };
    const rest = await startRestServer(cleanup, who, url, logDir);
    return { KV_REST_API_URL: rest.url, KV_REST_API_TOKEN: rest.token };
  };
  const [envA, envB] = await step("REST servers", Promise.all([redisEnv("A"), redisEnv("B")]));
  const worker = workerProcess(cleanup, { ...baseEnv, ...common, REDIS_URL: `redis://127.0.0.1:${ports.worker}` } as NodeJS.ProcessEnv, path.join(logDir, "worker.log"));
  const servers: Record<Instance, AppServer> = {} as Record<Instance, AppServer>;
  await step(
    "web instances and worker",
    Promise.all([
      worker.start(),
      ...(["A", "B"] as const).map(async (who) => {
        const port = await freePort();
        servers[who] = await startApp(port, { ...common, ...(who === "A" ? envA : envB), PORT: String(port) }, {
          pin: false,
          baseEnv,
          logFile: path.join(logDir, `web-${who}.log`),
          onSpawn: (stop) => cleanup.add(`web ${who}`, stop),
        });
      }),
    ]),
  );
  const targets: Record<Instance, Target> = { A: { name: "A", url: servers.A.url }, B: { name: "B", url: servers.B.url } };
  // The driver each instance really uses, from its own health report.
  for (const who of ["A", "B"] as const) {
    // The detail (the driver) is for operators: the run's METRICS_TOKEN.
    const h = await exchange(targets[who], "/api/health", { timeoutMs: 10_000, headers: { authorization: `Bearer ${metricsToken}` } });
    const used = /"driver":"(\w+)"/.exec(h.body)?.[1];
    const want = driver === "tcp" ? "ioredis" : "upstash";
    if (used !== want) throw new Error(`instance ${who} reports Redis driver ${used ?? "?"} (health ${h.status}), expected ${want}`);
  }
  say(
    `${driver}: redis-server pid ${redis.pid} :${redis.port}, database ${db.name}${"pair" in db ? ` (primary ${db.url.replace(/^.*@/, "")}, replica ${db.replicaUrl.replace(/^.*@/, "")}, ${lagMs} ms behind)` : ""}, web A pid ${servers.A.pid} ${servers.A.url}, B pid ${servers.B.pid} ${servers.B.url}, worker pid ${worker.pid()}, proxies pid ${proxies.pid}`,
  );

  // Clients. Setup writes are recorded too (their acknowledgements hold for every later read).
  const rng = new Rng(seed);
  const rec = new Recorder();
  const control: Control = { writeTo: ["A", "B"], readFrom: ["A", "B"], stopped: false };
  current = control;
  const writers = Array.from({ length: WORKLOAD.writers }, (_, i) => new Writer(i + 1, rng.fork(), targets, rec, control, WORKLOAD));
  const readers = Array.from({ length: WORKLOAD.readers }, (_, i) => new Reader(i + 1, rng.fork(), targets, rec, control, WORKLOAD));
  await step("sessions and rooms", Promise.all(writers.map((w) => w.setup())));
  // A room no writer renames: the out-of-band SQL rename's target.
  const quietOwner = await newSession(targets.A, "10.99.0.1");
  const quiet = await exchange(targets.A, "/api/rooms", { method: "POST", session: quietOwner, json: { name: "quiet-room" }, timeoutMs: 10_000 });
  const quietId = (JSON.parse(quiet.body) as { room: { id: string } }).room.id;
  rec.writes.push({ seq: rec.nextSeq(), writer: "setup", instance: "A", start: quiet.start, end: quiet.end, status: quiet.status, ack: quiet.headersAt!, kind: "create", roomId: quietId, label: "quiet", name: "quiet-room" });
  rec.live.set(quietId, { id: quietId, label: "quiet", owner: quietOwner, n: 0 });
  say(`${driver}: ${rec.live.size} rooms created through the app; load starts (start-up ${((now() - wallStart) / 1000).toFixed(1)} s: ${Object.entries(timings).map(([k, v]) => `${k} ${(v / 1000).toFixed(1)} s`).join(", ")})`);

  const oobDeadlineMs = args["reconcile-ms"] + OOB_SLACK_MS;
  const loadStart = now();
  const loadAvgStart = loadavg()[0]!;
  const clients = [...writers.map((w) => w.run()), ...readers.map((r) => r.run())];
  const clockWatch = watchPageClock(redis.direct);
  // Replica mode: each instance's routed-read counters as each phase ends.
  const replicaFacts: ReplicaFacts | undefined = "pair" in db ? { lagMs: lagMs!, byInstance: { A: [], B: [] } } : undefined;
  const snapshot = async (phase: string) => {
    if (!replicaFacts) return;
    const got = await Promise.all((["A", "B"] as const).map((who) => scrapeDbCounters(targets[who], metricsToken)));
    replicaFacts.byInstance.A!.push({ phase, counters: got[0]! });
    replicaFacts.byInstance.B!.push({ phase, counters: got[1]! });
  };
  await snapshot("setup");
  const phaseLog = await runPhases((replicaFacts ? REPLICA_MODES : MODES)[args.mode as Mode], {
    redis: redisProxy,
    pg: "pg",
    proxyFault: (name, fault) => proxies.fault(name, fault, 1000),
    flushdb: async () => void (await redis.direct.flushdb()),
    killWorker: () => worker.kill(),
    startWorker: () => worker.start(),
    outOfBandRename: () => outOfBandRename(db.sql, quietId, targets, oobDeadlineMs),
    ...("pair" in db
      ? {
          replica: {
            lagMs: lagMs!,
            setApplyDelay: (ms: number) => db.pair.setApplyDelay(ms),
            stop: () => db.pair.stopReplica(),
            start: () => db.pair.startReplica(),
            walSince: async (from?: string) => {
              const [row] = await db.sql<[{ lsn: string; bytes: number }]>`
                select pg_current_wal_insert_lsn()::text as lsn,
                  coalesce(pg_wal_lsn_diff(pg_current_wal_insert_lsn(), ${from ?? null}::pg_lsn), 0)::float8 as bytes`;
              if (!from || row.bytes === 0) return { ...row, records: "" };
              // Up to the last record that has been flushed (pg_walinspect reads no further).
              const records = await db.sql<{ what: string; n: number }[]>`
                select resource_manager || '/' || record_type as what, count(*)::int as n
                from pg_get_wal_records_info(${from}::pg_lsn, pg_current_wal_flush_lsn())
                group by 1 order by 2 desc`.catch((error: unknown) => [{ what: `unreadable: ${String(error).slice(0, 80)}`, n: 0 }]);
              return { ...row, records: records.map((r) => `${r.what} ${r.n}`).join(", ") };
            },
          },
          phaseEnded: snapshot,
        }
      : {}),
  }, control, say);
  control.stopped = true;
  await Promise.all(clients);
  const pageClock = await clockWatch.stop();
  if (interrupted) throw new Error("interrupted");
  const loadSeconds = (now() - loadStart) / 1000;
  const machine = { loadStart: loadAvgStart, loadEnd: loadavg()[0]!, cores: availableParallelism() };
  say(`${driver}: load stopped after ${loadSeconds.toFixed(1)} s (${rec.writes.length} writes, ${rec.reads.length} reads); waiting for convergence`);

  // Convergence: every endpoint of both instances against Postgres, until equal or the deadline.
  const convergence = await converge(targets, db.sql, 2 * args["reconcile-ms"] + 20_000, (line) => say(`${driver}: ${line}`));
  const truth = await readTruth(db.sql);
  const lost = lostWrites(rec.writes, truth);
  await snapshot("settle");
  const metrics = await Promise.all((["A", "B"] as const).map((who) => scrapeMetrics(targets[who], metricsToken)));
  const proxyStats = await proxies.stats();
  const crashed = [!servers.A.alive() && "web A", !servers.B.alive() && "web B", !worker.alive() && "worker"].filter(Boolean);

  await cleanup.run();
  const verdicts = check(rec.writes, rec.reads);
  const facts: RunFacts = {
    driver,
    mode: args.mode,
    seed,
    loadSeconds,
    wallSeconds: (now() - wallStart) / 1000,
    phases: phaseLog.phases,
    pgOutage: phaseLog.pgOutage,
    verdicts,
    writes: rec.writes,
    lost,
    convergence,
    oobVisibleMs: phaseLog.oobVisibleMs,
    oobDeadlineMs,
    t0: loadStart,
    machine,
    ...(replicaFacts ? { replica: replicaFacts } : {}),
  };
  const summary = summarize(facts);
  if (crashed.length) summary.failed.push(`exited during the run: ${crashed.join(", ")}`);
  const report = renderReport(facts, summary);
  const digests = ["web-A.log", "web-B.log", "worker.log", ...(driver === "rest" ? ["rest-A.log", "rest-B.log"] : [])].map((f) => ({ f, lines: logDigest(path.join(logDir, f)) }));
  const logText = digests.filter((d) => d.lines.length).map((d) => `${d.f}:\n${d.lines.join("\n")}`).join("\n");
  const clockText = pageClock.ahead.length
    ? `page cache: a stored page stamped ahead of the page clock in ${pageClock.ahead.length} of ${pageClock.samples} samples (every 0.5 s), from ${((pageClock.ahead[0]!.at - loadStart) / 1000).toFixed(1)} s to ${((pageClock.ahead.at(-1)!.at - loadStart) / 1000).toFixed(1)} s, largest gap ${Math.max(...pageClock.ahead.map((a) => a.maxStamp - a.clock))} (FLUSHDB at ${phaseLog.flushes.map((f) => ((f - loadStart) / 1000).toFixed(1) + " s").join(", ")})`
    : `page cache: no stored page stamped ahead of the page clock in ${pageClock.samples} samples`;
  const proxyText = Object.entries(proxyStats)
    .map(([name, p]) => `${name} ${p.accepted} connections, ${p.destroyed} destroyed by faults, slowest connect to the target ${p.slowestConnectMs} ms, slowest first reply ${p.slowestFirstReplyMs} ms`)
    .join("; ");
  console.log("\n" + report + `\n${clockText}\nproxies: ${proxyText}` + (logText ? `\n\nwarnings and errors in the logs (count, message):\n${logText}` : "") + "\n");

  const rel = (t: number) => Math.round(t - loadStart);
  writeFileSync(
    path.join(resultsDir, `${driver}.json`),
    JSON.stringify(
      {
        driver,
        mode: args.mode,
        seed,
        ...(replicaFacts ? { replica: replicaFacts } : {}),
        workload: WORKLOAD,
        reconcileIntervalMs: args["reconcile-ms"],
        summary,
        loadSeconds,
        wallSeconds: facts.wallSeconds,
        phases: phaseLog.phases.map((p) => ({ name: p.name, start: rel(p.start), faultEnd: rel(p.faultEnd), end: rel(p.end) })),
        pgOutage: phaseLog.pgOutage && { start: rel(phaseLog.pgOutage.start), end: rel(phaseLog.pgOutage.end) },
        events: phaseLog.events.map((e) => ({ at: rel(e.at), what: e.what })),
        convergence,
        oobVisibleMs: phaseLog.oobVisibleMs,
        lost: lost.map((l) => ({ why: l.why, write: { ...l.write, start: rel(l.write.start), end: rel(l.write.end) } })),
        stale: verdicts
          .filter((v) => v.status === "stale")
          .map((v) => ({
            endpoint: v.read.endpoint,
            instance: v.read.instance,
            roomId: v.read.roomId,
            phase: phaseLog.phases.find((p) => v.read.start >= p.start && v.read.start < p.end)?.name,
            start: rel(v.read.start),
            end: rel(v.read.end),
            status: v.read.status,
            findings: v.findings,
          })),
        writes: rec.writes.map((w) => ({ ...w, start: rel(w.start), end: rel(w.end), ...(w.ack !== undefined ? { ack: rel(w.ack) } : {}) })),
        latencyMs: latency(rec.reads, rec.writes),
        reads: rec.reads.map((r, i) => ({
          endpoint: r.endpoint,
          instance: r.instance,
          roomId: r.roomId,
          start: rel(r.start),
          end: rel(r.end),
          status: r.status,
          ...(r.markedStale ? { markedStale: true } : {}),
          verdict: verdicts[i]!.status,
        })),
        readErrors: rec.reads.filter((r) => r.error || (r.status !== null && r.status >= 500)).map((r) => ({ endpoint: r.endpoint, instance: r.instance, start: rel(r.start), end: rel(r.end), status: r.status, error: r.error })),
        metrics: { A: metrics[0], B: metrics[1] },
        proxies: proxyStats,
        pageClock: { samples: pageClock.samples, ahead: pageClock.ahead.map((a) => ({ ...a, at: rel(a.at) })) },
        logs: Object.fromEntries(digests.map((d) => [d.f, d.lines])),
        report,
      },
      null,
      1,
    ),
  );
  const line = lastLine(facts, summary);
  return { facts, line, failed: summary.failed.length > 0 };
}

/**
 * The out-of-band rename: plain SQL on the quiet room (name and updated_at, as a hand fix
 * would do; no version bump, no invalidation), then every endpoint that shows the name,
 * on both instances, polled until all show it. Resolves with ms after the commit, or
 * undefined at the deadline.
 */
async function outOfBandRename(sql: import("postgres").Sql, roomId: string, targets: Record<Instance, Target>, deadlineMs: number): Promise<number | undefined> {
  const name = `oob-${Date.now().toString(36)}`;
  await sql`update rooms set name = ${name}, updated_at = now() where id = ${roomId}`;
  const committed = now();
  const endpoints = ["api-rooms", "home", "api-room", "room-page"] as const;
  while (now() - committed < deadlineMs) {
    const shown = await Promise.all(
      (["A", "B"] as const).flatMap((who) =>
        endpoints.map(async (e) => {
          const x = await exchange(targets[who], PATHS[e](roomId), { timeoutMs: 5_000 });
          const obs = x.status === null ? undefined : parseResponse(e, x.status, x.body).obs;
          if (!obs) return false;
          return obs.kind === "list" ? obs.rooms[roomId] === name : obs.found && obs.name === name;
        }),
      ),
    );
    if (shown.every(Boolean)) return now() - committed;
    await sleep(250);
  }
  return undefined;
}

type Item = { who: Instance; endpoint: Endpoint; roomId?: string };

/**
 * Every endpoint of both instances against Postgres: each list, and each room (live or
 * deleted) by id, as a page and its messages. A pass asks again only what differed in the
 * last one (or did not answer), until nothing differs or the deadline passes (and at least
 * three passes were made).
 */
async function converge(targets: Record<Instance, Target>, sql: import("postgres").Sql, deadlineMs: number, say: (line: string) => void) {
  const start = now();
  let truth = await readTruth(sql);
  let items: Item[] = (["A", "B"] as const).flatMap((who) => [
    { who, endpoint: "api-rooms" as const },
    { who, endpoint: "home" as const },
    ...[...truth.rooms.keys()].flatMap((roomId) => (["api-room", "room-page", "api-messages"] as const).map((endpoint) => ({ who, endpoint, roomId }))),
  ]);
  let diffs: string[] = [];
  for (let pass = 1; ; pass++) {
    const found = await mapLimit(items, 12, async (item) => {
      const x = await exchange(targets[item.who], PATHS[item.endpoint](item.roomId ?? ""), { timeoutMs: 10_000 });
      const p = x.status === null ? undefined : parseResponse(item.endpoint, x.status, x.body);
      const where = `${item.who} ${item.endpoint}`;
      if (p?.markedStale) return [`${where}${item.roomId ? " " + item.roomId : ""}: marked stale`];
      if (!p?.obs) return [`${where}${item.roomId ? " " + item.roomId : ""}: no answer (${x.status ?? x.error})`];
      return differences(item.endpoint, item.roomId, p.obs, truth).map((d) => `${where}: ${d}`);
    });
    items = items.filter((_, i) => found[i]!.length > 0);
    diffs = found.flat();
    say(`convergence pass ${pass} (${((now() - start) / 1000).toFixed(1)} s): ${items.length} endpoints differ from Postgres${diffs.length ? `, e.g. ${diffs[0]}` : ""}`);
    // At least three passes: on a loaded machine one pass can outlast the deadline by itself.
    if (items.length === 0 || (now() - start > deadlineMs && pass >= 3)) break;
    await sleep(1000);
    truth = await readTruth(sql);
  }
  return { converged: items.length === 0, afterMs: now() - start, differences: diffs };
}

/** `fn` over `items`, at most `limit` at a time; results in order. */
async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

/** The cache and breaker counters of an instance (for the JSON; the report is built from the history alone). */
async function scrapeMetrics(target: Target, token: string): Promise<string[]> {
  try {
    const res = await fetch(`${target.url}/api/metrics`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(5_000) });
    const text = await res.text();
    return text.split("\n").filter((l) => /^lobby_(cache_requests_total|cache_served_total|cache_breaker_state|request_errors_total|cache_invalidations_total|cache_guard_rejections_total|db_queries_total|db_reads_total)/.test(l));
  } catch (error) {
    return [`unavailable: ${String(error)}`];
  }
}

/** An instance's routed-read and statement counters, or null when /api/metrics does not answer. */
async function scrapeDbCounters(target: Target, token: string): Promise<DbCounters | null> {
  try {
    const res = await fetch(`${target.url}/api/metrics`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(5_000) });
    if (!res.ok) return null;
    return parseDbCounters(await res.text());
  } catch {
    return null;
  }
}

async function main() {
  ensureBuilt(args.build, say);
  const stamp = new Date().toISOString().replace(/[:.]/g, "-").slice(0, 19);
  const resultsDir = args.out ?? path.join("bench/torture/results", `${stamp}-${args.mode}`);
  mkdirSync(resultsDir, { recursive: true });
  const drivers = args.driver === "both" ? (["tcp", "rest"] as const) : [args.driver];
  const lines: string[] = [];
  let failed = false;
  for (const driver of drivers) {
    try {
      const r = await runOnce(driver, args.seed, resultsDir);
      lines.push(r.line);
      failed ||= r.failed;
    } finally {
      await cleanup.run();
    }
    if (interrupted) return;
  }
  say(`results in ${resultsDir}`);
  for (const l of lines) console.log(l);
  process.exitCode = failed ? 1 : 0;
}

main().catch(async (error) => {
  if (!interrupted) console.error(error);
  await cleanup.run();
  process.exit(interrupted ? 130 : 2);
});

