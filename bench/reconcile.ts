/*
 * Reconciliation at size: `npx tsx bench/reconcile.ts [--sizes 100000,1000000] [--runs 3]`.
 * Set REDIS_URL to a logical database of its own (`redis://127.0.0.1:6379/8`): at a million
 * rooms it holds three million keys, and every SCAN in that database (other tests' too)
 * walks them.
 *
 * Per size: a database of its own (dropped after), N rooms inserted with one
 * generate_series statement, every room:{id} cached through the guarded populate (the
 * protocol's own script, pipelined) plus rooms:all and rooms:count through the read path,
 * then 1% drift injected (0.4% renamed, 0.3% deleted, 0.2% inserted by SQL, 0.1% garbage
 * room:{id}; the activity order seeded for every room, then 0.1% of its scores lagging, the
 * deleted rooms left in it and the inserted ones missing). The reconciler then runs once, forced, in a child process of its own, so
 * its peak RSS (`process.resourceUsage().maxRSS`) is its own. Reported per size: wall
 * time of the run, the reconciler's CPU time and Redis's (steadier than wall time on a
 * shared 2-core machine), rooms/s, peak RSS, and whether the report's counts equal the
 * injected drift exactly. Prints a table and writes bench/results-reconcile.json.
 * With `--runs N`, each size is seeded and reconciled N times and the run of median wall
 * time is reported (with every run's time). Targets: 100k rooms under 3 s (median of 3),
 * 1M under 30 s, peak RSS at 1M at most 1.5x that at 100k.
 * `--profile` writes the reconciler's CPU profiles to /tmp/reconcile-prof.
 * `--cluster` runs it all on a Redis Cluster of this machine's redis-server (3 masters, 3
 * replicas, started for the run and stopped after it) instead of REDIS_URL; Redis's CPU and
 * commandstats are then summed over the six nodes, and the results go to
 * bench/results-reconcile-cluster.json.
 */
import "../scripts/load-env";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import os from "node:os";
import { parseArgs } from "node:util";
import postgres from "postgres";
import { CACHE_SCRIPTS, encodeEnvelope, invalidateCall, populateCall } from "../lib/cache/protocol";
import { createIoredisStore } from "../lib/cache/ioredis-store";
import { clusterNodesSchema, type TcpRedis } from "../lib/cache/redis-target";
import { connectTcp } from "../lib/cache/tcp-client";
import { startRedisCluster, type LocalRedisCluster } from "../scripts/local-services/redis-cluster";
import { lua, type CacheStore } from "../lib/cache/store";
import { listThread } from "../lib/db/queries/copy-rows-thread";
import { countLiveRooms, listLiveRoomsWithVersion, pageLiveRoomsById } from "../lib/db/queries/rooms";
import { runMigrations } from "../lib/db/migrate";
import { env } from "../lib/env";
import { RoomReconciliationService, type ReconcileReport } from "../lib/reconcile/reconciliation-service";
import { createRuntime, type Runtime } from "../lib/runtime";
import { deleteMatching } from "../tests/support/redis-keys";
import { machineCpuMs, postgresCpuMs } from "./support/proc-cpu";

const { values: args } = parseArgs({
  options: {
    sizes: { type: "string", default: "100000,1000000" },
    runs: { type: "string", default: "1" },
    cluster: { type: "boolean", default: false },
    child: { type: "boolean", default: false },
    profile: { type: "boolean", default: false },
    db: { type: "string" },
    prefix: { type: "string" },
    "cluster-nodes": { type: "string" },
  },
});
const config = env();
const redisUrl = config.redisTcp?.driver === "ioredis" ? config.redisTcp.url : "redis://127.0.0.1:6379";
/*
 * `--cluster`: a Redis Cluster of this machine's redis-server (3 masters, 3 replicas), started
 * for the run and stopped after it, instead of REDIS_URL. The child gets its nodes.
 */
const cluster: LocalRedisCluster | null = args.cluster && !args.child ? await startRedisCluster() : null;
const clusterNodes = args["cluster-nodes"] ?? cluster?.nodes;
const target: TcpRedis = clusterNodes ? { driver: "cluster", cluster: clusterNodesSchema.parse(clusterNodes) } : { driver: "ioredis", url: redisUrl };

// Long deadlines: at 100k rooms rooms:all is tens of megabytes, past the web's 50/250 ms.
const runtimeFor = (databaseUrl: string, prefix: string): Runtime =>
  createRuntime({
    databaseUrl,
    redis: target,
    cacheEnabled: true,
    keyPrefix: prefix,
    mode: "production",
    dbMax: 2,
    guard: { readDeadlineMs: 10_000, writeDeadlineMs: 10_000 },
  });

if (args.child) {
  // The measured process: one forced run, as the worker would do it.
  const rt = runtimeFor(args.db!, args.prefix!);
  const store = createIoredisStore(target, { commandTimeout: 10_000 });
  // The worker process starts the list thread when it starts (start-worker.ts), not in a run.
  await listThread.ready();
  const baseline = process.resourceUsage().maxRSS;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const report = await new RoomReconciliationService({ db: rt.db.db, store, keys: rt.keys, ttls: rt.ttls }).run({ force: true });
  const wallMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  const cpuMs = (cpu.user + cpu.system) / 1_000;
  process.stdout.write(JSON.stringify({ report, wallMs, cpuMs, baselineRssKb: baseline, peakRssKb: process.resourceUsage().maxRSS }) + "\n");
  await store.close();
  await rt.close();
  process.exit(0);
}

interface Result {
  rooms: number;
  wallMs: number;
  /** CPU time of the reconciler process during the run (user + system): steadier than wall time on a shared machine. */
  cpuMs: number;
  /** Redis server CPU (user + system) during the run. */
  redisCpuMs: number;
  /** Every Postgres process's CPU during the run (null where /proc is not readable). */
  postgresCpuMs: number | null;
  /**
   * The machine during the run (/proc/stat, every core summed, ms): busy and idle time, and
   * time the host gave to others ("steal"). Busy near wall x cores means the run was bound
   * by the machine's CPU, and only doing less work shortens it.
   */
  machine: { busyMs: number; idleMs: number; stealMs: number } | null;
  /** Redis's time per command during the run (INFO commandstats, after minus before; on a shared Redis, others' commands too), most first. */
  redisCommands: { command: string; calls: number; ms: number }[];
  roomsPerSecond: number;
  peakRssMb: number;
  baselineRssMb: number;
  drift: { renamed: number; deleted: number; inserted: number; garbage: number; activityLagging: number };
  report: ReconcileReport;
  exact: boolean;
}

async function benchSize(n: number): Promise<Result> {
  const name = `lobby_bench_reconcile_${randomBytes(4).toString("hex")}`;
  const url = new URL(config.databaseUrl);
  url.pathname = `/${name}`;
  const databaseUrl = url.toString();
  const prefix = `reconcile-perf:${randomBytes(4).toString("hex")}:`; // bench/run.ts clears `*bench:*`: stay out of its way
  await runMigrations(databaseUrl);
  const sql = postgres(databaseUrl, { max: 2, onnotice: () => {} });
  const rt = runtimeFor(databaseUrl, prefix);
  // A long timeout: at a million rooms the seed of rooms:all is one populate of ~250 MB, whose
  // script alone held Redis 5.2 s; with the transfer, 10 s failed 4 of 15 runs before the reconciler started.
  const seeder = createIoredisStore(target, { commandTimeout: 120_000 });
  try {
    await sql`insert into rooms (name, description, owner_id, owner_name)
      select 'Room ' || i, 'Benchmark room number ' || i, 'owner-' || (i % 500), 'Owner ' || (i % 500) from generate_series(1, ${n}) i`;
    await sql`analyze rooms`;
    // Every value cached as the read path leaves it: a generation (INVALIDATE makes one), then
    // the guarded populate under it, 1000 per pipeline.
    const seed = async (values: { key: string; value: string; version: number; ttlSeconds: number }[]) => {
      const gens = values.map((v) => invalidateCall(rt.keys, v.key));
      await seeder.evalMany(CACHE_SCRIPTS.invalidate, gens);
      await seeder.evalMany(
        CACHE_SCRIPTS.populate,
        values.map((v, i) => populateCall(rt.keys, { ...v, generation: String(gens[i]!.args[1]), staleTtlSeconds: rt.ttls.stale })),
      );
    };
    // A few pages in flight at once: at a million rooms, one at a time took most of the bench's time.
    const seeding: Promise<void>[] = [];
    for (let after: string | null = null; ; ) {
      const page = await pageLiveRoomsById(rt.db.db, after, 2_000);
      if (page.length === 0) break;
      seeding.push(seed(page.map((r) => ({ key: rt.keys.room(r.id), value: encodeEnvelope(r.version, r), version: r.version, ttlSeconds: rt.ttls.room }))));
      if (seeding.length >= 4) await seeding.shift();
      after = page[page.length - 1]!.id;
    }
    await Promise.all(seeding);
    // The activity order as the list's loader leaves it: every live room, scored with its last activity.
    const zadd = lua(`return redis.call('ZADD', KEYS[1], unpack(ARGV))`);
    for await (const page of sql<{ id: string; at: string }[]>`select id, floor(extract(epoch from coalesce(last_activity_at, created_at)) * 1000)::bigint as at
        from rooms where deleted_at is null`.cursor(1_000)) {
      await seeder.eval(zadd, [rt.keys.roomsActivity], page.flatMap((r) => [r.at, r.id]));
    }
    // rooms:all and rooms:count as the read path writes them (through the seeder's long timeout).
    const list = await listLiveRoomsWithVersion(rt.db.db);
    const count = await countLiveRooms(rt.db.db);
    await seed([
      { key: rt.keys.roomsAll, value: encodeEnvelope(list.version, list.rooms), version: list.version, ttlSeconds: rt.ttls.roomsAll },
      { key: rt.keys.roomsCount, value: encodeEnvelope(count.version, count.count), version: count.version, ttlSeconds: rt.ttls.roomsAll },
    ]);

    const drift = { renamed: (n * 4) / 1000, deleted: (n * 3) / 1000, inserted: (n * 2) / 1000, garbage: n / 1000, activityLagging: n / 1000 };
    // Disjoint slices of the rooms by name number: renamed, deleted, garbage.
    await sql`update rooms set name = name || ' (renamed)', version = nextval('room_version_seq'), updated_at = now()
      where split_part(name, ' ', 2)::int <= ${drift.renamed}`;
    await sql`update rooms set deleted_at = now(), version = nextval('room_version_seq')
      where split_part(name, ' ', 2)::int > ${drift.renamed} and split_part(name, ' ', 2)::int <= ${drift.renamed + drift.deleted}`;
    const garbage = await sql<{ id: string }[]>`select id from rooms
      where split_part(name, ' ', 2)::int > ${n - drift.garbage} and deleted_at is null`;
    for (const { id } of garbage) await seeder.set(rt.keys.room(id), "{garbage", rt.ttls.room);
    // Activity drift: 0.1% of the scores lag behind Postgres (a lost ZADD), and the deleted rooms
    // are still members (lost ZREMs); the inserted rooms are missing from the order.
    const lagging = await sql<{ id: string }[]>`select id from rooms
      where split_part(name, ' ', 2)::int > ${n - drift.garbage - drift.activityLagging} and split_part(name, ' ', 2)::int <= ${n - drift.garbage} and deleted_at is null`;
    await seeder.eval(zadd, [rt.keys.roomsActivity], lagging.flatMap(({ id }) => [1, id]));
    await sql`insert into rooms (name, owner_id, owner_name) select 'New room ' || i, 'o', 'O' from generate_series(1, ${drift.inserted}) i`;

    // Redis's own CPU during the run (all its clients: on a shared machine, others' too; on the cluster, every node's).
    const redisCpu = async () => {
      let total = 0;
      for (const info of await redisInfo(seeder, "cpu")) {
        const num = (k: string) => Number(new RegExp(`${k}:([\\d.]+)`).exec(info)?.[1] ?? 0);
        total += num("used_cpu_user") + num("used_cpu_sys");
      }
      return total;
    };
    const before = await redisCpu();
    const statsBefore = await commandStats(seeder);
    const [pgBefore, machineBefore] = [postgresCpuMs(), machineCpuMs()];
    const child = await runChild(databaseUrl, prefix);
    const [pgAfter, machineAfter] = [postgresCpuMs(), machineCpuMs()];
    const redisCpuMs = Math.round((await redisCpu()) * 1000 - before * 1000);
    const redisCommands = diffCommandStats(statsBefore, await commandStats(seeder));
    const { report } = child;
    const exact =
      report.modified === drift.renamed && report.removed === drift.deleted && report.added === drift.inserted &&
      report.corrupt === drift.garbage && report.scanned === n && report.listRebuilt && report.countFixed &&
      report.activityRepaired === drift.activityLagging + drift.inserted && report.activityRemoved === drift.deleted;
    if (!exact) console.error("  counts differ from the injected drift:", JSON.stringify(report), JSON.stringify(drift));
    return {
      rooms: n,
      wallMs: Math.round(child.wallMs),
      cpuMs: Math.round(child.cpuMs),
      redisCpuMs,
      postgresCpuMs: pgBefore !== null && pgAfter !== null ? pgAfter - pgBefore : null,
      machine:
        machineBefore && machineAfter
          ? { busyMs: machineAfter.busy - machineBefore.busy, idleMs: machineAfter.idle - machineBefore.idle, stealMs: machineAfter.steal - machineBefore.steal }
          : null,
      redisCommands,
      roomsPerSecond: Math.round(n / (child.wallMs / 1_000)),
      peakRssMb: Math.round(child.peakRssKb / 102.4) / 10,
      baselineRssMb: Math.round(child.baselineRssKb / 102.4) / 10,
      drift,
      report,
      exact,
    };
  } finally {
    await clearPrefix(prefix);
    await seeder.close();
    await rt.close();
    await sql.end();
    // The server's maintenance database: DATABASE_URL's own may not exist (runMigrations creates only the bench's).
    const adminUrl = new URL(config.databaseUrl);
    adminUrl.pathname = "/postgres";
    const admin = postgres(adminUrl.toString(), { max: 1, onnotice: () => {} });
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end();
  }
}

type CommandStats = Map<string, { calls: number; usec: number }>;

/** An INFO section of the Redis node, or of every node of the bench's cluster. */
async function redisInfo(store: CacheStore, section: "cpu" | "commandstats"): Promise<string[]> {
  if (cluster) return Promise.all(cluster.processes.map((p) => cluster.command(p.port, "INFO", section)));
  return [String(await store.eval(lua(`return redis.call('INFO', ARGV[1])`), [], [section]))];
}

/** INFO commandstats as command → calls and microseconds (server-wide: every database, every client; summed over a cluster's nodes). */
async function commandStats(store: CacheStore): Promise<CommandStats> {
  const stats: CommandStats = new Map();
  for (const info of await redisInfo(store, "commandstats")) {
    for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
      const seen = stats.get(m[1]!) ?? { calls: 0, usec: 0 };
      stats.set(m[1]!, { calls: seen.calls + Number(m[2]), usec: seen.usec + Number(m[3]) });
    }
  }
  return stats;
}

function diffCommandStats(before: CommandStats, after: CommandStats) {
  return [...after]
    .map(([command, a]) => ({ command, calls: a.calls - (before.get(command)?.calls ?? 0), ms: Math.round((a.usec - (before.get(command)?.usec ?? 0)) / 1000) }))
    .filter((c) => c.calls > 0)
    .sort((a, b) => b.ms - a.ms);
}

function runChild(db: string, prefix: string) {
  return new Promise<{ report: ReconcileReport; wallMs: number; cpuMs: number; peakRssKb: number; baselineRssKb: number }>((resolve, reject) => {
    const profile = args.profile ? ["--cpu-prof", "--cpu-prof-dir=/tmp/reconcile-prof"] : [];
    const onCluster = clusterNodes ? ["--cluster-nodes", clusterNodes] : [];
    const child = spawn(process.execPath, [...profile, "--import", "tsx", "bench/reconcile.ts", "--child", "--db", db, "--prefix", prefix, ...onCluster], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (out += c));
    child.on("exit", (code) => {
      const line = out.trim().split("\n").pop() ?? "";
      if (code === 0 && line.startsWith("{")) resolve(JSON.parse(line));
      else reject(new Error(`reconciler child exited ${code}: ${out}`));
    });
  });
}

/** SCAN + UNLINK under the bench's prefix (never KEYS; on the cluster, every master). */
async function clearPrefix(prefix: string) {
  const redis = connectTcp(target, {});
  await deleteMatching(redis, `*${prefix}*`);
  redis.disconnect();
}

const sizes = args.sizes.split(",").map((s) => Number(s.trim()));
const runs = Number(args.runs);
if (!Number.isInteger(runs) || runs < 1) throw new Error("--runs: a positive integer");
/** Per size, each run on a freshly seeded state; the row reported is the run of median wall time. */
const results: (Result & { runsMs: number[] })[] = [];
const topology = cluster ? "cluster (3 masters, 3 replicas)" : "one node";
try {
  for (const n of sizes) {
    const each: Result[] = [];
    for (let i = 0; i < runs; i++) {
      console.error(`reconcile bench (${topology}): ${n} rooms, run ${i + 1} of ${runs}...`);
      each.push(await benchSize(n));
    }
    const sorted = [...each].sort((a, b) => a.wallMs - b.wallMs);
    const median = sorted[Math.floor((sorted.length - 1) / 2)]!;
    results.push({ ...median, exact: each.every((r) => r.exact), peakRssMb: Math.max(...each.map((r) => r.peakRssMb)), runsMs: each.map((r) => r.wallMs) });
  }
} finally {
  await cluster?.stop();
}
console.log(`\n  Redis: ${topology}`);
console.log("\n  rooms     wall ms    cpu ms  redis ms   rooms/s   peak RSS MB   (baseline)   exact counts   runs (ms)");
for (const r of results) {
  const cells = [r.wallMs, r.cpuMs, r.redisCpuMs, r.roomsPerSecond, r.peakRssMb].map((v, i) => String(v).padStart(i === 4 ? 11 : 7));
  console.log(`  ${String(r.rooms).padEnd(9)} ${cells.join("   ")}   ${`(${r.baselineRssMb})`.padStart(10)}   ${String(r.exact).padEnd(12)}   ${r.runsMs.join(", ")}`);
}
for (const r of results) {
  // Where the median run's time went: the three processes' CPU, and the machine's.
  const three = r.cpuMs + r.redisCpuMs + (r.postgresCpuMs ?? 0);
  const cores = os.cpus().length;
  const machine = r.machine
    ? `; the machine ${r.machine.busyMs} ms busy of ${r.machine.busyMs + r.machine.idleMs} (${Math.round((r.machine.busyMs / (r.machine.busyMs + r.machine.idleMs)) * 100)}%), ${r.machine.stealMs} ms stolen by the host`
    : "";
  console.log(
    `  ${r.rooms} rooms, the median run's CPU (ms): reconciler ${r.cpuMs}, Redis ${r.redisCpuMs}, Postgres ${r.postgresCpuMs ?? "n/a"}; ` +
      `together ${three}, ${Math.round(three / cores)} on ${cores} cores against ${r.wallMs} wall${machine}`,
  );
}
for (const r of results) {
  const phases = Object.entries(r.report.phaseMs ?? {}).map(([k, v]) => `${k} ${v}`);
  console.log(`  ${r.rooms} rooms, the median run's phases (ms): ${phases.join(", ")}`);
  console.log(`  ${r.rooms} rooms, the median run's Redis time by command (ms, calls): ${r.redisCommands.slice(0, 10).map((c) => `${c.command} ${c.ms} (${c.calls})`).join(", ")}`);
}
/** Targets (issue 18): 100k rooms under 3 s (median), 1M under 30 s, peak RSS at 1M within 1.5x that at 100k. */
const at = (n: number) => results.find((r) => r.rooms === n);
const r100k = at(100_000);
const r1m = at(1_000_000);
const ratio = r100k && r1m ? Math.round((r1m.peakRssMb / r100k.peakRssMb) * 100) / 100 : undefined;
const summary = {
  // Load average at the end: these machines are shared, and other work slows the wall time.
  machine: { cpus: os.cpus().length, node: process.version, loadAverage1m: Math.round(os.loadavg()[0]! * 100) / 100 },
  runs,
  topology: cluster ? "cluster" : "node",
  results,
  targets: {
    ...(r100k ? { rooms100kUnder3s: r100k.wallMs < 3_000 } : {}),
    ...(r1m ? { rooms1mUnder30s: r1m.wallMs < 30_000 } : {}),
    ...(ratio !== undefined ? { peakRssRatio1mTo100k: ratio, peakRssRatioAtMost1_5: ratio <= 1.5 } : {}),
  },
};
const lines = [
  r100k && `100,000 rooms in ${r100k.wallMs} ms (target < 3000 ms)`,
  r1m && `1,000,000 rooms in ${r1m.wallMs} ms (target < 30000 ms)`,
  ratio !== undefined && `peak RSS 1M / 100k: ${ratio}x (target <= 1.5x)`,
].filter(Boolean);
console.log(`\n  ${[...lines, `load average ${summary.machine.loadAverage1m} on ${summary.machine.cpus} cores`].join("; ")}`);
writeFileSync(cluster ? "bench/results-reconcile-cluster.json" : "bench/results-reconcile.json", JSON.stringify(summary, null, 2) + "\n");
process.exit(0);
