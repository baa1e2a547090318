import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import postgres from "postgres";
import { ensureDatabase } from "../../lib/db/migrate";
import { z } from "zod";
import { postgresBinDir, startPgPair, type PgPair } from "../../tests/support/pg-replica";
import { SEARCH_PATH } from "./insight";
import { metricsText, operatorHeaders, startApp, type AppServer } from "./server";

const run = promisify(execFile);

/**
 * The replica scenario (`--scenario replica`): the standard reads on an instance with a
 * streaming read replica (`DATABASE_REPLICA_URLS`) against an instance without one, on the
 * same data, alternated round by round like every other scenario.
 *
 * - **Its own pair**: a primary and a streaming replica of the bench's own
 *   (tests/support/pg-replica.ts: the machine's PostgreSQL binaries as the postgres OS user,
 *   free ports, a temporary folder), stopped and deleted at the end. The shared Postgres only
 *   gives the bench's seeded database, copied to the primary (pg_dump/pg_restore), so both
 *   scenarios read the same rows.
 * - **Reads that reach Postgres**: both instances run with `CACHE_ENABLED=false`, so every
 *   request reads Postgres (with the cache on and no writes, a read is a hit: about nothing
 *   reaches Postgres, and the replica would have nothing to serve), while a writer sends
 *   {@link WRITES_PER_SECOND} message writes a second to the primary by SQL throughout, so
 *   the WAL moves and the fence has something to check (without writes every fence passes).
 * - **Reported**: the paired throughput and p99 ratios (abRuns), and from each instance's own
 *   `/api/metrics`: the share of its statements that went to the replica, and its routed
 *   reads by target and reason (`lobby_db_reads_total`), per path (warm-up included).
 */

/** Message writes a second on the primary while the scenario runs. */
export const WRITES_PER_SECOND = 10;

/** The variant names in the table. */
export const WITH_REPLICA = "DATABASE_REPLICA_URLS";
export const PRIMARY_ONLY = "primary only";

/** `abRuns` of bench/run.ts: one scenario's variants alternated round by round, rows recorded there. */
export type AbRuns = (scenario: string, path: string, variants: { name: string; server: AppServer; path?: string }[], baseline: string) => Promise<void>;

export interface ReplicaScenarioOptions {
  /** The bench's seeded database (BENCH_PG_URL), copied to the pair's primary. */
  sourceUrl: string;
  /** The room seeded with messages: its older history is the paging read. */
  pageRoom: string;
  /** Ports of the two instances. */
  ports: [number, number];
  /** The environment the bench's servers share (NODE_ENV, SESSION_SECRET, ...). */
  env: Record<string, string>;
  abRuns: AbRuns;
}

/** Counters of one instance, from its /api/metrics. */
interface DbCounters {
  statements: Record<string, number>;
  reads: Record<string, number>;
}

async function dbCounters(server: AppServer): Promise<DbCounters> {
  const text = await metricsText(server);
  const statements: Record<string, number> = {};
  for (const m of text.matchAll(/^lobby_db_queries_total\{target="([^"]+)"\} (\d+)/gm)) statements[m[1]!] = Number(m[2]);
  const reads: Record<string, number> = {};
  for (const m of text.matchAll(/^lobby_db_reads_total\{target="([^"]+)",reason="([^"]+)"\} (\d+)/gm)) reads[`${m[1]}:${m[2]}`] = Number(m[3]);
  if (Object.keys(statements).length === 0) throw new Error(`${server.url}/api/metrics has no lobby_db_queries_total`);
  return { statements, reads };
}

const diff = (after: Record<string, number>, before: Record<string, number>) =>
  Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)] as const).filter(([, v]) => v > 0));

const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);

/** The replica's share of an instance's statements, e.g. "41.2% (12,034 of 29,210)". */
function share(statements: Record<string, number>): string {
  const all = sum(statements);
  const replica = statements.replica ?? 0;
  return `${all === 0 ? "n/a" : `${((100 * replica) / all).toFixed(1)}%`} (${replica.toLocaleString("en-US")} of ${all.toLocaleString("en-US")})`;
}

/** Copies the bench's seeded database to `target` (an empty database): the same rows, ids and sequences. */
async function copyDatabase(sourceUrl: string, targetUrl: string): Promise<void> {
  const bin = postgresBinDir();
  if (!bin) throw new Error("no PostgreSQL binaries on this machine");
  const dir = mkdtempSync(join(tmpdir(), "lobby-bench-dump-"));
  try {
    const file = join(dir, "bench.dump");
    await run(join(bin, "pg_dump"), ["--format=custom", "--no-owner", "--file", file, "--dbname", sourceUrl]);
    await run(join(bin, "pg_restore"), ["--no-owner", "--exit-on-error", "--dbname", targetUrl, file]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Message writes on the primary as the app makes them (the message, and the room's
 * conversation version and activity in the same transaction), at a steady rate until stopped.
 */
function startWriter(url: string, roomId: string, perSecond: number): { stop(): Promise<number> } {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  let running = true;
  let written = 0;
  const loop = (async () => {
    const interval = 1000 / perSecond;
    let next = performance.now();
    while (running) {
      await sql.begin(async (tx) => {
        await tx`insert into messages (room_id, author_id, author_name, body)
          values (${roomId}, 'bench-author-writer', 'Bench writer', ${`Interleaved write number ${written}`})`;
        await tx`update rooms set message_version = nextval('message_version_seq'), last_activity_at = now() where id = ${roomId}`;
      });
      written++;
      next += interval;
      const wait = next - performance.now();
      if (wait > 0) await sleep(wait);
      else next = performance.now();
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      await sql.end({ timeout: 2 });
      return written;
    },
  };
}

/** Runs the scenario; returns its notes (the replica's share per path, the writes made). */
export async function replicaScenario(options: ReplicaScenarioOptions): Promise<string[]> {
  const notes: string[] = [];
  const servers: AppServer[] = [];
  let pair: PgPair | undefined;
  let writer: ReturnType<typeof startWriter> | undefined;
  const cleanup = async () => {
    await writer?.stop().catch(() => 0);
    writer = undefined;
    await Promise.all(servers.splice(0).map((s) => s.stop()));
    await pair?.destroy();
    pair = undefined;
  };
  // An interrupted run stops the pair it started (its servers run detached from this process).
  const onSignal = () => void cleanup().finally(() => process.exit(130));
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    // Two instances: main and search pools on the primary, the same again on the replica.
    pair = await startPgPair({ maxConnections: 100 });
    const database = "lobby_bench";
    const primaryUrl = pair.primaryUrl(database);
    await ensureDatabase(primaryUrl);
    await copyDatabase(options.sourceUrl, primaryUrl);
    const sql = postgres(primaryUrl, { max: 1, onnotice: () => {} });
    let olderPage: string;
    let writeRoom: string;
    try {
      // A page of history 20 messages back from the newest: `?before=` never comes from a cache.
      const [cursor] = await sql<{ seq: string }[]>`select seq::text from messages where room_id = ${options.pageRoom} order by seq desc offset 20 limit 1`;
      if (!cursor) throw new Error("the page room has fewer than 21 messages");
      olderPage = `/api/rooms/by-id/${options.pageRoom}/messages?before=${cursor.seq}&limit=20`;
      // The writes go to another room, so the pages read stay the same size round after round.
      const [room] = await sql<{ id: string }[]>`select id from rooms where id <> ${options.pageRoom} order by name desc limit 1`;
      writeRoom = z.uuid().parse(room?.id);
    } finally {
      await sql.end();
    }
    await pair.caughtUp();

    const env = { ...options.env, DATABASE_URL: primaryUrl, CACHE_ENABLED: "false" };
    const start = async (port: number, extra: Record<string, string>) => {
      const s = await startApp(port, { ...env, ...extra });
      servers.push(s);
      return s;
    };
    const withReplica = await start(options.ports[0], { DATABASE_REPLICA_URLS: pair.replicaUrl(database) });
    // Empty is none, whatever this process inherited.
    const primaryOnly = await start(options.ports[1], { DATABASE_REPLICA_URLS: "" });
    // postgres.js's one-time type lookup, not a load; and the replica in rotation before measuring.
    const health = z
      .object({ replicas: z.array(z.object({ name: z.string(), up: z.boolean(), breaker: z.string(), inRecovery: z.boolean().optional() })) })
      .parse(await (await fetch(`${withReplica.url}/api/health`, operatorHeaders)).json());
    await fetch(`${primaryOnly.url}/api/health`);
    const replica = health.replicas[0];
    if (!replica?.up || replica.breaker !== "closed" || !replica.inRecovery) throw new Error(`the replica is not in rotation: ${JSON.stringify(health.replicas)}`);

    writer = startWriter(primaryUrl, writeRoom, WRITES_PER_SECOND);
    const paths = [
      ["GET /api/rooms", "/api/rooms"],
      ["home page", "/"],
      ["GET /api/stats", "/api/stats"],
      ["GET /api/search", SEARCH_PATH],
      ["older history page (20 messages)", olderPage],
    ] as const;
    const total = { replica: { statements: {}, reads: {} } as DbCounters, primary: { statements: {}, reads: {} } as DbCounters };
    const add = (into: Record<string, number>, from: Record<string, number>) => {
      for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
    };
    for (const [label, path] of paths) {
      const before = await Promise.all([dbCounters(withReplica), dbCounters(primaryOnly)]);
      await options.abRuns(`${label}, no cache, read replica`, path, [{ name: WITH_REPLICA, server: withReplica }, { name: PRIMARY_ONLY, server: primaryOnly }], PRIMARY_ONLY);
      const after = await Promise.all([dbCounters(withReplica), dbCounters(primaryOnly)]);
      const statements = diff(after[0].statements, before[0].statements);
      const reads = diff(after[0].reads, before[0].reads);
      add(total.replica.statements, statements);
      add(total.replica.reads, reads);
      add(total.primary.statements, diff(after[1].statements, before[1].statements));
      notes.push(
        `replica, ${label}: the replica served ${share(statements)} of the replica instance's statements; ` +
          `its routed reads ${JSON.stringify(reads)}; the primary-only instance sent ${sum(diff(after[1].statements, before[1].statements)).toLocaleString("en-US")} statements`,
      );
    }
    const written = await writer.stop();
    writer = undefined;
    notes.push(
      `replica, all paths: the replica served ${share(total.replica.statements)} of the replica instance's statements ` +
        `(primary-only instance: ${sum(total.primary.statements).toLocaleString("en-US")}); routed reads ${JSON.stringify(total.replica.reads)}; ` +
        `${written.toLocaleString("en-US")} message writes on the primary meanwhile (${WRITES_PER_SECOND}/s); both instances CACHE_ENABLED=false, ` +
        `the pair's Postgres servers not pinned (they share both cores with the rest)`,
    );
    return notes;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await cleanup();
  }
}
