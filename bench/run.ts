/**
 * `npm run bench [-- --scenario home,api,room,redis-down,queries,stampede,fanout,stats,search,cluster,replica,peers,size --seconds 8 --rounds 3 --fanout-seconds 30 --fanout-clients 1000]`
 *
 * Starts the built app (`next start`, pinned to core 0) against the local Postgres and
 * Redis, seeds its own database, and measures with autocannon from this process (pinned
 * to core 1). Every scenario measures its baseline in the same run, alternating A/B per
 * round; the table shows medians and ratios. Method: bench/README.md.
 */
import "../scripts/load-env";
import { spawnSync } from "node:child_process";
import { once } from "node:events";
import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { Cluster, Redis } from "ioredis";
import postgres from "postgres";
import { z } from "zod";
import { runMigrations } from "../lib/db/migrate";
import { blackhole } from "../tests/support/net-faults";
import { deleteMatching } from "../tests/support/redis-keys";
import { startRedisCluster, type LocalRedisCluster } from "../scripts/local-services/redis-cluster";
import { fanout } from "./support/fanout";
import { INSIGHT_MESSAGES, INSIGHT_SCENARIOS, SEARCH_PATH, queriesPerThousand, queryCountNote, seedInsight } from "./support/insight";
import { load, median, type LoadResult } from "./support/load";
import { replicaScenario } from "./support/replica";
import { pagePeers, peersReport, type PagePeerResult } from "./support/peers";
import { machineCpuMs, postgresCpuMs, processCpuMs, runQueueWaitMs } from "./support/proc-cpu";
import { dataPeers, type DataPeerResult } from "./support/peers-data";
import type { RaceOutcome } from "./support/peers-races";
import { LOG_DIR, cacheOutcomes, canPin, dbQueries, gcPauses, pinSelfToLoadCore, startApp, type AppServer } from "./support/server";
import { sizeScenario, type SizeRow } from "./support/size";
import { checkTargets, dayRanges, type BenchFacts, type TargetRun } from "./support/targets";

const SCENARIOS = ["home", "api", "room", "redis-down", "queries", "stampede", "fanout", ...INSIGHT_SCENARIOS, "cluster", "replica", "peers", "size"] as const;
const args = z
  .object({
    scenario: z.string().default(SCENARIOS.join(",")).transform((s) => s.split(",")).pipe(z.array(z.enum(SCENARIOS))),
    seconds: z.coerce.number().int().min(1).max(60).default(8),
    rounds: z.coerce.number().int().min(1).max(9).default(3),
    rooms: z.coerce.number().int().min(2).max(100_000).default(50),
    "fanout-seconds": z.coerce.number().int().min(1).max(300).default(30),
    "fanout-clients": z.coerce.number().int().min(2).max(5_000).default(1_000),
    build: z.boolean().default(false),
    /** Forced iterations of each race per variant in the peers scenario. */
    races: z.coerce.number().int().min(1).max(200).default(20),
  })
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

const benchEnv = z
  .object({
    BENCH_PG_URL: z.url().default("postgres://postgres@127.0.0.1:5432/lobby_bench"),
    BENCH_REDIS_URL: z.url().default("redis://127.0.0.1:6379"),
    /** The servers listen on BENCH_PORT_BASE + 1..9 (default 3201-3209); bench/compression.ts on + 20. */
    BENCH_PORT_BASE: z.coerce.number().int().min(1024).max(65_000).default(3200),
  })
  .parse(process.env);
const PG = benchEnv.BENCH_PG_URL;
const REDIS = benchEnv.BENCH_REDIS_URL;
/** The port of the bench's n-th server. */
const port = (n: number) => benchEnv.BENCH_PORT_BASE + n;
const PREFIX = "bench:";
/** Every run's targets, one JSON line per run (git-ignored): the day's ranges. */
const HISTORY = "bench/results-history.jsonl";
const base = { NODE_ENV: "production", DATABASE_URL: PG, REDIS_KEY_PREFIX: PREFIX, SESSION_SECRET: "bench-".repeat(8), LOG_LEVEL: "warn" };

/** Rounds at least for the scenarios whose target is a p99 ratio (Redis down). */
const P99_ROUNDS = 5;

/** Messages seeded in the room-page scenario's room. */
const ROOM_MESSAGES = 50;

/** Seeds the database; returns the room of the room-page scenario (with its messages) and the fan-out's room. */
async function prepare(): Promise<{ pageRoom: string; fanoutRoom: string }> {
  if (args.build || !existsSync(".next/BUILD_ID")) {
    console.log("building the app (npm run build)...");
    if (spawnSync("npm", ["run", "build"], { stdio: "inherit" }).status !== 0) throw new Error("build failed");
  }
  const admin = postgres(PG.replace(/\/[^/]+$/, "/postgres"), { max: 1, onnotice: () => {} });
  // The database BENCH_PG_URL names (lobby_bench by default), never another: it is dropped.
  const name = decodeURIComponent(new URL(PG).pathname.slice(1));
  if (!/^lobby_bench\w*$/.test(name)) throw new Error(`refusing to drop "${name}": bench databases are named lobby_bench*`);
  await admin.unsafe(`drop database if exists "${name}" with (force)`);
  await admin.end();
  await runMigrations(PG);
  const sql = postgres(PG, { max: 1, onnotice: () => {} });
  await sql`insert into rooms (name, description, owner_id, owner_name)
    select 'Bench room ' || i, 'A room for measuring, number ' || i, 'bench-owner-000001', 'Bench'
    from generate_series(1, ${args.rooms}) i`;
  const [pageRoom, fanoutRoom] = (await sql<{ id: string }[]>`select id from rooms order by name limit 2`).map((r) => r.id);
  await sql`insert into messages (room_id, author_id, author_name, body, created_at)
    select ${pageRoom!}, 'bench-author-' || (i % 5), 'Bencher ' || (i % 5),
      'Seeded message number ' || i || ', long enough to look like a line of chat.', now() - (${ROOM_MESSAGES} - i) * interval '1 minute'
    from generate_series(1, ${ROOM_MESSAGES}) i`;
  // As a send would: a new conversation version and the room's activity time.
  await sql`update rooms set message_version = nextval('message_version_seq'), last_activity_at = now() where id = ${pageRoom!}`;
  if (args.scenario.some((s) => (INSIGHT_SCENARIOS as readonly string[]).includes(s) || s === "replica")) await seedInsight(sql, [pageRoom!, fanoutRoom!]);
  await sql.end();
  await clearRedis();
  return { pageRoom: pageRoom!, fanoutRoom: fanoutRoom! };
}

async function clearRedis() {
  const r = new Redis(REDIS);
  await deleteMatching(r, `*${PREFIX}*`);
  r.disconnect();
}

type Row = {
  scenario: string;
  variant: string;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  ratio?: string;
  vsNoCache?: string;
  /** p99 against the baseline, paired by round like `ratio`. */
  p99Ratio?: string;
  /** Throughput as the ratio of the two medians (results.json only; `ratio` pairs rounds). */
  ratioOfMedians?: string;
  /** Each round's figures, in the order run (results.json only). */
  rounds?: { rps: number; p99: number }[];
};
/** A variant of a scenario: a server, and the path it is asked for (default: the scenario's). */
type Variant = { name: string; server: AppServer; path?: string };
const NO_CACHE = "CACHE_ENABLED=false";
const rows: Row[] = [];
const notes: string[] = [];
let fanoutRow: Awaited<ReturnType<typeof fanout>> | undefined;
let sizeRows: SizeRow[] | undefined;
const facts: BenchFacts = { queriesPer1000: {} };
let peers: { pages: PagePeerResult[]; data: DataPeerResult[] } | undefined;

/** Server URLs with path that have had their first, long warm-up. */
const warmed = new Set<string>();

/**
 * Unmeasured load before a scenario. A server's first load on a path gets 6 s at 50
 * connections: measured, a fresh server's first 8 s round after a 2 s warm-up served a
 * fifth fewer requests, at 1.5x the p99, than its later rounds (JIT, lazily loaded
 * chunks), which counted against whichever variant had not served the path in an earlier
 * scenario (the Redis-blackholed server, in a full run). A server already warm on the
 * path gets 2 s at 10 connections.
 */
async function warm(url: string) {
  if (warmed.has(url)) return load(url, 2, 10);
  warmed.add(url);
  return load(url, 6);
}

/**
 * Runs each variant once per round, the order reversed every other round (A/B, B/A, ...:
 * no variant always runs first after a scenario's warm-up or another's load). Records each
 * variant's medians, and its ratios to the baseline paired by round. `minRounds` raises
 * the round count for a scenario judged on p99, the noisiest figure: in one run of two
 * warm servers, each round's p99 ratio between them ranged over 0.86-1.36x.
 */
async function abRuns(scenario: string, path: string, variants: Variant[], baseline: string, minRounds = 1) {
  const results = new Map<string, LoadResult[]>(variants.map((v) => [v.name, []]));
  const url = (v: Variant) => v.server.url + (v.path ?? path);
  for (const v of variants) await warm(url(v));
  const rounds = Math.max(args.rounds, minRounds);
  for (let round = 0; round < rounds; round++) {
    for (const v of round % 2 ? [...variants].reverse() : variants) results.get(v.name)!.push(await load(url(v), args.seconds));
  }
  const med = (name: string, k: keyof LoadResult) => median(results.get(name)!.map((r) => r[k]));
  /**
   * A variant against another: the median over rounds of the two runs' ratio in the same
   * round. The runs of a round are next to each other in time, so a slow spell of the
   * machine (minutes long here) divides out; a ratio of the two columns' medians can pair a
   * fast round of one with a slow round of the other.
   */
  const paired = (name: string, other: string, k: "rps" | "p99") => {
    const of = results.get(other)!;
    return median(results.get(name)!.map((r, i) => r[k] / of[i]![k]));
  };
  const x = (n: number) => `${n.toFixed(2)}x`;
  const hasNoCache = variants.some((v) => v.name === NO_CACHE) && baseline !== NO_CACHE;
  for (const v of variants) {
    const runs = results.get(v.name)!;
    rows.push({
      scenario,
      variant: v.name,
      rps: Math.round(med(v.name, "rps")),
      p50: med(v.name, "p50"),
      p99: med(v.name, "p99"),
      errors: runs.reduce((n, r) => n + r.errors + r.non2xx, 0),
      ratio: v.name === baseline ? "1.00x" : x(paired(v.name, baseline, "rps")),
      ...(v.name === baseline ? {} : { p99Ratio: x(paired(v.name, baseline, "p99")), ratioOfMedians: x(med(v.name, "rps") / med(baseline, "rps")) }),
      ...(hasNoCache && v.name !== NO_CACHE ? { vsNoCache: x(paired(v.name, NO_CACHE, "rps")) } : {}),
      rounds: runs.map((r) => ({ rps: Math.round(r.rps), p99: r.p99 })),
    });
  }
}

/** The server's CPU time so far (user + system), in ms, from /proc. */
function cpuMs(server: AppServer): number {
  const ms = server.pid === undefined ? null : processCpuMs(server.pid);
  if (ms === null) throw new Error(`${server.url}: no CPU time in /proc (the server is gone)`);
  return ms;
}

/** This process's CPU time so far (user + system), in ms. */
function ownCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** A server's resident set size (Linux /proc), in bytes. */
/** What the fan-out scenario reads at the streams' opening and again after the drain. */
async function fanoutCounters(instances: AppServer[]) {
  const waited = (mainOnly: boolean) => instances.reduce((sum, s) => sum + (s.pid ? (runQueueWaitMs(s.pid, mainOnly) ?? NaN) : NaN), 0);
  return {
    at: performance.now(),
    serverCpu: instances.reduce((sum, s) => sum + cpuMs(s), 0),
    ownCpu: ownCpuMs(),
    gc: await Promise.all(instances.map(gcPauses)),
    waited: waited(false),
    mainWaited: waited(true),
    machine: machineCpuMs(),
    postgres: postgresCpuMs(),
  };
}
type FanoutCounters = Awaited<ReturnType<typeof fanoutCounters>>;

/** Server-Timing phases as `tx 12.3, invalidate 4.5, …` (ms). */
const phaseText = (phases: Record<string, number>) =>
  Object.entries(phases)
    .map(([name, ms]) => `${name} ${ms}`)
    .join(", ");

function residentBytes(server: AppServer): number {
  const status = readFileSync(`/proc/${server.pid}/status`, "utf8");
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN) * 1024;
}

/**
 * The cold-cache stampede: `clear` empties the cache, then 500 concurrent `GET /api/rooms`
 * over the two instances; returns the Postgres statements they made (target: 1).
 */
async function coldStampede(pair: AppServer[], where: string, clear: () => Promise<void>): Promise<number> {
  for (const s of pair) await fetch(`${s.url}/api/health`); // postgres.js type bootstrap, not a load
  await clear();
  const before = await Promise.all(pair.map(dbQueries));
  const outcomesBefore = await Promise.all(pair.map(cacheOutcomes));
  const responses = await Promise.all(
    Array.from({ length: 500 }, (_, i) => fetch(`${pair[i % 2]!.url}/api/rooms`).then((r) => r.status)),
  );
  const each = (await Promise.all(pair.map(dbQueries))).map((n, i) => n - before[i]!);
  // How each instance's reads ended during the burst: a query too many comes with its cause.
  const outcomes = (await Promise.all(pair.map(cacheOutcomes))).map((after, i) =>
    Object.entries(after)
      .map(([k, n]) => [k, n - (outcomesBefore[i]![k] ?? 0)] as const)
      .filter(([, n]) => n > 0)
      .map(([k, n]) => `${k} ${n}`)
      .join(", "),
  );
  const made = each[0]! + each[1]!;
  notes.push(
    `cold-cache stampede${where}, 500 concurrent GET /api/rooms over 2 instances: ${made} Postgres queries ` +
      `(${each[0]} by the instance that served the earlier scenarios, ${each[1]} by the fresh one; ` +
      `cache reads: ${outcomes[0]} | ${outcomes[1]}; logs in ${LOG_DIR}/), ` +
      `${responses.filter((s) => s === 200).length}/500 answered 200`,
  );
  return made;
}

async function main() {
  pinSelfToLoadCore();
  const { pageRoom, fanoutRoom } = await prepare();
  const hole = await blackhole();
  const servers: AppServer[] = [];
  let cluster: LocalRedisCluster | undefined;
  const app = async (port: number, env: Record<string, string>) => {
    const s = await startApp(port, { ...base, ...env });
    servers.push(s);
    return s;
  };
  try {
    const cached = await app(port(1), { REDIS_URL: REDIS, CACHE_ENABLED: "true" });
    const nocache = await app(port(2), { CACHE_ENABLED: "false" });
    // The limit for a page: Next's own in-memory cache serving a prerendered page of the same markup.
    const staticLimit = args.scenario.includes("home") ? await app(port(5), { CACHE_ENABLED: "false", PAGE_CACHE: "process" }) : undefined;
    const needsDown = args.scenario.includes("redis-down");
    let secondCached: AppServer | undefined;
    const second = async () => (secondCached ??= await app(port(4), { REDIS_URL: REDIS, CACHE_ENABLED: "true" }));
    const down = needsDown ? await app(port(3), { REDIS_URL: `redis://127.0.0.1:${hole.port}`, CACHE_ENABLED: "true" }) : undefined;

    if (args.scenario.includes("home")) {
      const limit = { name: "static page (limit)", server: staticLimit!, path: "/bench/static-home" };
      await abRuns("home page", "/", [{ name: "cached", server: cached }, { name: NO_CACHE, server: nocache }, limit], limit.name);
    }
    if (args.scenario.includes("api")) {
      const limit = { name: "constant route (limit)", server: cached, path: "/bench/constant-rooms" };
      await abRuns("GET /api/rooms", "/api/rooms", [{ name: "cached", server: cached }, { name: NO_CACHE, server: nocache }, limit], limit.name);
    }
    if (args.scenario.includes("room")) {
      await abRuns(`room page (${ROOM_MESSAGES} messages)`, `/rooms/${pageRoom}`, [{ name: "cached", server: cached }, { name: "CACHE_ENABLED=false", server: nocache }], "CACHE_ENABLED=false");
    }
    if (down) {
      for (const [label, path] of [["home page, Redis blackholed", "/"], ["GET /api/rooms, Redis blackholed", "/api/rooms"]] as const) {
        await abRuns(label, path, [{ name: "Redis blackholed", server: down }, { name: "CACHE_ENABLED=false", server: nocache }], "CACHE_ENABLED=false", P99_ROUNDS);
      }
    }
    if (args.scenario.includes("queries")) {
      for (const path of ["/api/rooms", "/"]) {
        const count = await queriesPerThousand(cached, path);
        facts.queriesPer1000[path] = count.reads;
        notes.push(queryCountNote(path, count));
      }
    }
    if (args.scenario.includes("stampede")) {
      const made = await coldStampede([cached, await second()], "", clearRedis);
      facts.stampedeQueries = made;
    }
    const ab = [{ name: "cached", server: cached }, { name: "CACHE_ENABLED=false", server: nocache }];
    if (args.scenario.includes("stats")) {
      await abRuns(`GET /api/stats (${INSIGHT_MESSAGES.toLocaleString("en-US")} messages)`, "/api/stats", ab, "CACHE_ENABLED=false");
      notes.push(queryCountNote("/api/stats", await queriesPerThousand(cached, "/api/stats")));
    }
    if (args.scenario.includes("search")) {
      await abRuns(`GET /api/search (${INSIGHT_MESSAGES.toLocaleString("en-US")} messages)`, SEARCH_PATH, ab, "CACHE_ENABLED=false");
      notes.push(queryCountNote(SEARCH_PATH, await queriesPerThousand(cached, SEARCH_PATH)));
    }
    if (args.scenario.includes("fanout")) {
      const instances = [cached, await second()];
      const clients = args["fanout-clients"];
      // Memory per open stream: each server's resident set with the streams open, less before.
      const before = instances.map(residentBytes);
      let open: number[] = [];
      let start: FanoutCounters | undefined;
      const f = await fanout({
        urls: instances.map((s) => s.url),
        roomId: fanoutRoom,
        clients,
        rate: 20,
        seconds: args["fanout-seconds"],
        onStreamsOpen: async () => {
          await new Promise((r) => setTimeout(r, 1_000)); // the servers settle after the burst of connects
          open = instances.map(residentBytes);
          start = await fanoutCounters(instances);
        },
      });
      // Every counter from the streams' opening to the drain.
      const end = await fanoutCounters(instances);
      const wallMs = end.at - start!.at;
      const perSecond = (ms: number) => Math.round(ms / (wallMs / 1000));
      // Both servers' CPU per frame delivered (sends, heartbeats and all), and the same for this
      // process (the 1,000 readers and the senders); each side's share of its core.
      const serverMs = end.serverCpu - start!.serverCpu;
      const clientMs = end.ownCpu - start!.ownCpu;
      const usPerFrame = (serverMs * 1000) / Math.max(1, f.received);
      // Time the servers' threads were runnable but waited for their core (both together).
      const waitedMs = end.waited - start!.waited;
      const mainWaitedMs = end.mainWaited - start!.mainWaited;
      // The whole machine's busy share (both cores), and Postgres's CPU (every backend).
      const [m0, m1] = [start!.machine, end.machine];
      const machineBusy = m0 && m1 ? `${Math.round((100 * (m1.busy - m0.busy)) / (m1.busy + m1.idle - m0.busy - m0.idle))}%` : "not measured";
      const postgresShare = start!.postgres !== null && end.postgres !== null ? `${Math.round((100 * (end.postgres - start!.postgres)) / wallMs)}% of a core` : "not measured";
      // The servers' collections: a pause stalls every stream and send of its process.
      const gcText = Object.keys(end.gc[0] ?? {})
        .map((kind) => {
          const d = (k: "count" | "ms" | "over10ms") => end.gc.reduce((sum, g, i) => sum + (g[kind]?.[k] ?? 0) - (start!.gc[i]?.[kind]?.[k] ?? 0), 0);
          return d("count") ? `${kind} ${d("count")} (${Math.round(d("ms"))} ms, ${d("over10ms")} over 10 ms)` : "";
        })
        .filter(Boolean)
        .join(", ");
      fanoutRow = f;
      facts.fanout = { clients, p99: f.p99, lost: f.lost, duplicates: f.duplicates, sendErrors: f.sendErrors };
      const perStreamKb = (open.reduce((a, b) => a + b, 0) - before.reduce((a, b) => a + b, 0)) / clients / 1024;
      notes.push(
        `fan-out, ${clients.toLocaleString("en-US")} SSE clients (${clients / 2} per instance) on 2 cached instances, 20 msg/s for ${args["fanout-seconds"]} s alternating instances: ` +
          `${f.accepted}/${f.sent} sends accepted, delivery p50 ${f.p50} ms, p99 ${f.p99} ms, max ${f.max} ms; ` +
          `${f.lost} lost of ${f.expected} expected, ${f.duplicates} duplicates, ${f.streamErrors} streams failed (POST p99 ${f.postP99} ms; the warm-up's ${f.warmupMax} ms at most, not counted); ` +
          `the slowest ${f.slowSends.count} sends (sent at ${f.slowSends.at.join(", ")} s) ${f.slowSends.clientMs} ms on average, by phase ${phaseText(f.slowSends.phases)}; the median send ${f.typicalSend.clientMs} ms, ${phaseText(f.typicalSend.phases)}; ` +
          `the servers' GC pauses meanwhile: ${gcText}; ` +
          `memory per open stream ${perStreamKb.toFixed(1)} KB (resident set with the streams open less before, both instances); ` +
          `server CPU ${usPerFrame.toFixed(0)} µs per frame delivered (both instances, from the streams' opening to the drain; compare bench/frame-cost.ts), ` +
          `${Math.round((100 * serverMs) / wallMs)}% of their core, and waited runnable for it ${Number.isNaN(waitedMs) ? "(not measured)" : `${perSecond(waitedMs)} ms a second (all threads; their main threads ${perSecond(mainWaitedMs)})`}; the readers' and senders' process ${((clientMs * 1000) / Math.max(1, f.received)).toFixed(0)} µs per frame, ${Math.round((100 * clientMs) / wallMs)}% of its core, its event loop delayed ${f.ownLagP99} ms p99, ${f.ownLagMax} ms at most; ` +
          `the machine ${machineBusy} busy over both cores, Postgres ${postgresShare}`,
      );
    }
    if (args.scenario.includes("cluster")) {
      // The same app on a Redis Cluster of this machine's redis-server (3 masters, 3 replicas):
      // the cluster's own round trips (slot routing, a WAIT per write) against one node's.
      cluster = await startRedisCluster();
      const clustered = await app(port(6), { REDIS_URL: "redis://127.0.0.1:9", REDIS_CLUSTER_NODES: cluster.nodes, CACHE_ENABLED: "true" });
      await abRuns("GET /api/rooms on a Redis Cluster", "/api/rooms", [{ name: "Redis Cluster", server: clustered }, { name: "one Redis node", server: cached }], "one Redis node");
      await abRuns("home page on a Redis Cluster", "/", [{ name: "Redis Cluster", server: clustered }, { name: "one Redis node", server: cached }], "one Redis node");
      // The cold stampede again, both instances on the cluster: single flight across instances there too.
      const clusteredToo = await app(port(7), { REDIS_URL: "redis://127.0.0.1:9", REDIS_CLUSTER_NODES: cluster.nodes, CACHE_ENABLED: "true" });
      const nodes = cluster.nodes.split(",").map((n) => ({ host: n.split(":")[0]!, port: Number(n.split(":")[1]) }));
      facts.clusterStampedeQueries = await coldStampede([clustered, clusteredToo], " on the Redis Cluster", async () => {
        const c = new Cluster(nodes);
        await once(c, "ready"); // its list of masters is empty until then
        const removed = await deleteMatching(c, `*${PREFIX}*`);
        if (removed === 0) throw new Error("deleted no keys on the cluster, where the runs above cached some: the stampede would not start cold");
        c.disconnect();
      });
    }
    if (args.scenario.includes("replica")) {
      // Its own primary and streaming replica, seeded with a copy of this database (bench/support/replica.ts).
      notes.push(...(await replicaScenario({ sourceUrl: PG, pageRoom, ports: [port(8), port(9)], env: base, abRuns })));
    }
    if (args.scenario.includes("peers")) {
      const ctx = { abRuns, rows, startServer: app, port, redisUrl: REDIS, lobby: [cached, await second()] as [AppServer, AppServer], races: args.races, rebuild: args.build, clearLobbyCache: clearRedis };
      peers = { pages: await pagePeers(ctx), data: await dataPeers(ctx) };
      // Both races of a variant together: (a) a write during a fill or render, (b) a write on A read on B.
      const races = (cache: "page" | "data", variant: string, a: RaceOutcome, b: RaceOutcome) => ({ cache, variant, stale: a.stale + b.stale, forced: a.forced + b.forced });
      facts.peerStale = [
        ...peers.pages.map((p) => races("page", p.name, p.regeneration, p.acrossInstances)),
        ...peers.data.map((d) => races("data", d.name, d.fill, d.acrossInstances)),
      ];
    }
    if (args.scenario.includes("size")) {
      // Last: it adds rooms. Cache cleared before each size, then warmed by the first request.
      sizeRows = await sizeScenario({ pgUrl: PG, url: `${cached.url}/`, seconds: args.seconds, rounds: args.rounds, clearCache: clearRedis });
      for (const r of sizeRows) {
        rows.push({ scenario: "home page by size", variant: `${r.rooms.toLocaleString("en-US")} rooms (${Math.round(r.htmlBytes / 1024)} KB)`, rps: r.rps, p50: r.p50, p99: r.p99, errors: r.errors, ratio: `${(r.rps / sizeRows[0]!.rps).toFixed(2)}x` });
      }
    }
  } catch (error) {
    // What the earlier scenarios measured is printed before the failure ends the run.
    console.log("\nThe run failed; measured before the failure:");
    console.table(rows);
    throw error;
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    await hole.close();
    await cluster?.stop();
  }

  console.log(`\nLobby benchmark: ${args.rooms} rooms, ${args.seconds} s x ${args.rounds} rounds per variant (at least ${P99_ROUNDS} for Redis down), 50 connections, medians, ratios paired by round; ${canPin ? "server pinned to core 0, load generator to core 1" : "no core pinning (fewer than 2 cores or no taskset)"}`);
  console.table(rows.map((r) => ({ scenario: r.scenario, variant: r.variant, "req/s": r.rps, "p50 ms": r.p50, "p99 ms": r.p99, "vs baseline": r.ratio, "p99 vs baseline": r.p99Ratio ?? "", "vs no cache": r.vsNoCache ?? "", errors: r.errors })));
  for (const n of notes) console.log(`- ${n}`);
  const targets = checkTargets(rows, facts);
  // Every run's targets are kept (git-ignored), so each one is printed with its range over the day's runs.
  const run = { at: new Date().toISOString(), targets };
  const history = existsSync(HISTORY)
    ? readFileSync(HISTORY, "utf8").split("\n").filter(Boolean).flatMap((line) => { try { return [JSON.parse(line) as TargetRun]; } catch { return []; } })
    : [];
  appendFileSync(HISTORY, `${JSON.stringify(run)}\n`);
  const ranges = dayRanges(run, history);
  console.log("\nTargets (range: this run and the day's earlier runs that measured it, bench/results-history.jsonl):");
  for (const t of targets) console.log(`- ${t.met ? "met" : "NOT met"}: ${t.target} (measured ${t.measured}${ranges.has(t.target) ? `; ${ranges.get(t.target)}` : ""})`);
  const peersOut = peers && peersReport(rows, peers.pages, peers.data);
  writeFileSync("bench/results.json", JSON.stringify({ at: new Date().toISOString(), args, pinned: canPin, rows, fanout: fanoutRow, size: sizeRows, targets, notes, peers }, null, 2));
  console.log("written to bench/results.json");
  if (peersOut) {
    console.log("\nPeers (bench/README.md, Peers):");
    console.table(peersOut.table);
    console.log(peersOut.summary);
  }
}

await main();
