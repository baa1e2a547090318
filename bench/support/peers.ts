/**
 * `npm run bench -- --scenario peers`: Lobby against what a team would install instead, in
 * the same run (bench/README.md, "Peers").
 *
 * Page cache: the home page through Lobby's handler and through each peer's Next.js cache
 * handler (bench/support/peers-handlers/), each peer from a build of its own
 * (`.next-peer-<name>`, BENCH_PAGE_PEER), two instances each. Each is first shown to cache
 * (its keys appear in Redis, a second request does not render), then measured A/B with the
 * others, then put through the forced races (bench/support/peers-races.ts).
 *
 * Data cache: `/api/rooms`'s query through bentocache and @epic-web/cachified
 * (bench/support/peers-data.ts).
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { Redis } from "ioredis";
import type { BenchPagePeer } from "../../lib/env";
import { deleteMatching } from "../../tests/support/redis-keys";
import type { Target } from "../torture/http";
import type { DataPeerResult } from "./peers-data";
import { homePage, passes, raceAcrossInstances, raceDuringFill, raceRoom, type RaceOutcome } from "./peers-races";
import type { AppServer } from "./server";

/** A variant as bench/run.ts's `abRuns` takes it. */
export type PeerVariant = { name: string; server: AppServer; path?: string };

/** A row as bench/run.ts's `abRuns` leaves it. */
export type PeerRow = { scenario: string; variant: string; rps: number; p99: number; ratio?: string; p99Ratio?: string; errors: number };

export interface PeersContext {
  abRuns: (scenario: string, path: string, variants: PeerVariant[], baseline: string) => Promise<void>;
  rows: readonly PeerRow[];
  /** Starts a server on a port with the bench's base environment under `env` (run.ts's own). */
  startServer: (port: number, env: Record<string, string>) => Promise<AppServer>;
  /** The bench's n-th port. */
  port: (n: number) => number;
  redisUrl: string;
  /** Lobby's two cached instances (the bench's `cached` and its second). */
  lobby: [AppServer, AppServer];
  /** Forced iterations of each race per variant. */
  races: number;
  /** Rebuild the peers' builds even if they are current. */
  rebuild: boolean;
}

const PAGE_PEERS: { peer: BenchPagePeer; label: string; prefix: string; ports: [number, number]; env?: Record<string, string> }[] = [
  { peer: "fortedigital", label: "fortedigital", prefix: "benchpeer-forte:", ports: [10, 11] },
  // The bench never reconfigures the Redis it is given (it may be shared): no keyspace notifications (see the handler file).
  { peer: "trieb", label: "trieb", prefix: "benchpeer-trieb:", ports: [12, 13], env: { SKIP_KEYSPACE_CONFIG_CHECK: "true" } },
];

export const LOBBY_PAGE = "lobby-page";
export const DATA_SCENARIO = "GET /api/rooms, data cache peers";
const PAGE_SCENARIO = "home page, page cache peers";

/** The environment that selects a peer, at build and at start. */
const peerEnv = (p: (typeof PAGE_PEERS)[number], redisUrl: string) => ({
  NODE_ENV: "production" as const,
  BENCH_ROUTES: "true",
  BENCH_PAGE_PEER: p.peer,
  BENCH_PEER_REDIS_URL: redisUrl,
  BENCH_PEER_KEY_PREFIX: p.prefix,
  ...p.env,
});

/**
 * Builds a peer into `.next-peer-<name>` unless that build is newer than Lobby's `.next`.
 * `next build` adds its build directory's type folders to tsconfig.json: put back as it was.
 */
function ensurePeerBuild(p: (typeof PAGE_PEERS)[number], redisUrl: string, rebuild: boolean) {
  const id = `.next-peer-${p.peer}/BUILD_ID`;
  if (!rebuild && existsSync(id) && statSync(id).mtimeMs > statSync(".next/BUILD_ID").mtimeMs) return;
  console.log(`building the app with the ${p.label} page cache handler into .next-peer-${p.peer} ...`);
  // next-env.d.ts (git-ignored) is rewritten to point at the build directory's types: put back too.
  const kept = ["tsconfig.json", "next-env.d.ts"].filter((f) => existsSync(f)).map((f) => [f, readFileSync(f, "utf8")] as const);
  try {
    const r = spawnSync(process.execPath, ["node_modules/next/dist/bin/next", "build"], { stdio: "inherit", env: { ...process.env, ...peerEnv(p, redisUrl) } });
    if (r.status !== 0) throw new Error(`the ${p.label} build failed (exit ${r.status})`);
  } finally {
    for (const [f, text] of kept) if (readFileSync(f, "utf8") !== text) writeFileSync(f, text);
  }
}

/** Keys matching `pattern`, leaving out the handlers' bookkeeping (`__sharedTags__` and the like). */
export async function keysUnder(redisUrl: string, pattern: string): Promise<number> {
  const r = new Redis(redisUrl);
  try {
    let n = 0;
    let cursor = "0";
    do {
      const [next, keys] = await r.scan(cursor, "MATCH", pattern, "COUNT", 1000);
      cursor = next;
      n += keys.filter((k) => !/__[A-Za-z_]+__$/.test(k)).length;
    } while (cursor !== "0");
    return n;
  } finally {
    r.disconnect();
  }
}

/** Deletes the peers' keys (their prefixes only, in the bench's database). */
export async function clearPeerKeys(redisUrl: string) {
  const r = new Redis(redisUrl);
  for (const p of PAGE_PEERS) await deleteMatching(r, `${p.prefix}*`);
  r.disconnect();
}

/**
 * Before measuring a page cache: its keys are in Redis and a second request does not
 * render (the render probe's count, lib/bench/render-probe.ts). Returns what was seen.
 */
async function verifyCaches(server: AppServer, redisUrl: string, pattern: string): Promise<string> {
  // Warm until five requests in a row render nothing (at most five rounds): a server up for
  // longer than the page's revalidate time refreshes it first, in the background.
  for (let round = 0; round < 5; round++) {
    const start = await passes(server.url, "render");
    for (let i = 0; i < 5; i++) await (await fetch(`${server.url}/`)).arrayBuffer();
    await new Promise((resolve) => setTimeout(resolve, 200)); // a background render's store
    if ((await passes(server.url, "render")) === start) break;
  }
  const before = await passes(server.url, "render");
  for (let i = 0; i < 5; i++) await (await fetch(`${server.url}/`)).arrayBuffer();
  const rendered = (await passes(server.url, "render")) - before;
  const keys = await keysUnder(redisUrl, pattern);
  if (rendered > 0 || keys === 0) throw new Error(`${server.url} does not cache the home page: ${rendered} renders for 5 requests, ${keys} keys matching ${pattern}`);
  return `${keys} keys matching ${pattern}, 0 renders for 5 requests after the first`;
}

export interface PagePeerResult {
  name: string;
  verified: string;
  regeneration: RaceOutcome;
  acrossInstances: RaceOutcome;
}

/** The page cache peers: servers, verification, A/B throughput, races. */
export async function pagePeers(ctx: PeersContext): Promise<PagePeerResult[]> {
  for (const p of PAGE_PEERS) ensurePeerBuild(p, ctx.redisUrl, ctx.rebuild);
  await clearPeerKeys(ctx.redisUrl);
  const variants: { name: string; a: AppServer; b: AppServer; pattern: string }[] = [{ name: LOBBY_PAGE, a: ctx.lobby[0], b: ctx.lobby[1], pattern: "bench:{pages}*" }];
  for (const p of PAGE_PEERS) {
    const env = { REDIS_URL: ctx.redisUrl, CACHE_ENABLED: "true", ...peerEnv(p, ctx.redisUrl) };
    const [a, b] = [await ctx.startServer(ctx.port(p.ports[0]), env), await ctx.startServer(ctx.port(p.ports[1]), env)];
    variants.push({ name: p.label, a, b, pattern: `${p.prefix}*` });
  }
  const verified = new Map<string, string>();
  for (const v of variants) verified.set(v.name, await verifyCaches(v.a, ctx.redisUrl, v.pattern));

  await ctx.abRuns(PAGE_SCENARIO, "/", variants.map((v) => ({ name: v.name, server: v.a })), LOBBY_PAGE);

  const results: PagePeerResult[] = [];
  for (const [i, v] of variants.entries()) {
    const [a, b]: Target[] = [{ name: "A", url: v.a.url }, { name: "B", url: v.b.url }];
    const room = await raceRoom(a!, v.name, `10.66.0.${i + 1}`);
    const regeneration = await raceDuringFill(homePage, a!, a!, room, ctx.races);
    const acrossInstances = await raceAcrossInstances(homePage, a!, b!, room, ctx.races);
    results.push({ name: v.name, verified: verified.get(v.name)!, regeneration, acrossInstances });
  }
  return results;
}

/** The scenario's table and its last line (`peers: ...`), from the rows abRuns left and the races. */
export function peersReport(rows: readonly PeerRow[], pages: PagePeerResult[], data: DataPeerResult[] = []): { table: Record<string, string | number>[]; summary: string } {
  const table: Record<string, string | number>[] = [];
  const summary: string[] = [];
  /** One variant: (a) the write acknowledged during a fill or render, (b) the write on A read on B. */
  const add = (cache: "page" | "data", scenario: string, name: string, a: RaceOutcome, b: RaceOutcome, extra: Record<string, string> = {}) => {
    const r = rows.find((x) => x.scenario === scenario && x.variant === name);
    table.push({
      cache,
      variant: name,
      "req/s": r?.rps ?? "",
      "p99 ms": r?.p99 ?? "",
      "vs lobby": r?.ratio ?? "",
      "p99 vs lobby": r?.p99Ratio ?? "",
      "stale (a) write during a fill": `${a.stale}/${a.forced}${a.unforced ? ` (${a.unforced} unforced)` : ""}`,
      "stale (b) A→B": `${b.stale}/${b.forced}`,
      "still stale 1 s on": a.stillStaleAfter1s + b.stillStaleAfter1s,
      "failed iterations": a.failed.length + b.failed.length,
      ...extra,
      errors: r?.errors ?? "",
    });
    summary.push(`${name} ${r?.rps ?? "?"} req/s stale ${a.stale + b.stale}/${a.forced + b.forced}`);
  };
  for (const p of pages) add("page", PAGE_SCENARIO, p.name, p.regeneration, p.acrossInstances);
  for (const d of data) add("data", DATA_SCENARIO, d.name, d.fill, d.acrossInstances, { "stampede queries": `${d.stampede.queries} (${d.stampede.ok}/500 ok)` });
  return { table, summary: `peers: ${summary.join("; ")}` };
}
