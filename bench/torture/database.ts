import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { runMigrations } from "../../lib/db/migrate";
import { startPgPair, type PgPair } from "../../tests/support/pg-replica";
import { PG_ADMIN_URL as TEST_PG_ADMIN_URL } from "../../tests/support/services";
import { TOKEN } from "./history";
import type { Truth } from "./verify";
import type { Cleanup } from "./processes";

/**
 * The tests' Postgres (never reconfigured: the run only creates and drops its own database):
 * TORTURE_PG_ADMIN_URL, else where the tests find theirs.
 */
export const PG_ADMIN_URL = process.env.TORTURE_PG_ADMIN_URL ?? TEST_PG_ADMIN_URL;

const PREFIX = "lobby_torture_";

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

export interface RunDatabase {
  name: string;
  /** Direct URL (the harness's own reads, the out-of-band SQL); the app gets the proxy's. */
  url: string;
  /** The same database through a port (the Postgres proxy). */
  urlVia(port: number): string;
  sql: postgres.Sql;
}

/**
 * `lobby_torture_<pid>_<random>` on the shared Postgres, migrated with the project's own
 * migration code, dropped at the end. Leftovers of runs whose process is gone are dropped first.
 */
export async function createDatabase(cleanup: Cleanup): Promise<RunDatabase> {
  const admin = postgres(PG_ADMIN_URL, { max: 1, onnotice: () => {} });
  try {
    const rows = await admin<{ datname: string }[]>`select datname from pg_database where datname like ${PREFIX + "%"}`;
    for (const { datname } of rows) {
      const pid = Number(datname.slice(PREFIX.length).split("_")[0]);
      if (Number.isInteger(pid) && !alive(pid)) await admin.unsafe(`drop database if exists "${datname}" with (force)`);
    }
  } finally {
    await admin.end();
  }
  const name = `${PREFIX}${process.pid}_${randomBytes(4).toString("hex")}`;
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  cleanup.add(`database ${name}`, async () => {
    const a = postgres(PG_ADMIN_URL, { max: 1, onnotice: () => {} });
    await a.unsafe(`drop database if exists "${name}" with (force)`);
    await a.end();
  });
  await runMigrations(url.toString());
  const sql = postgres(url.toString(), { max: 2, onnotice: () => {} });
  cleanup.add("harness's Postgres client", () => sql.end({ timeout: 2 }));
  return {
    name,
    url: url.toString(),
    urlVia(port) {
      const u = new URL(url);
      u.port = String(port);
      return u.toString();
    },
    sql,
  };
}

export interface ReplicatedDatabase extends RunDatabase {
  /** The streaming replica's URL of the same database (DATABASE_REPLICA_URLS). */
  replicaUrl: string;
  /** The primary's port (the Postgres proxy's target). */
  primaryPort: number;
  /** The pair itself: apply delay, stop and start of the replica. */
  pair: PgPair;
}

/**
 * Replica mode: a primary and a streaming replica of the run's own (tests/support/pg-replica.ts,
 * the machine's PostgreSQL binaries as the postgres OS user, on free ports, in a temporary
 * folder), the database created and migrated on the primary, the replica caught up with it,
 * then held `lagMs` behind (recovery_min_apply_delay). Both servers are stopped and their
 * folder deleted at the end.
 */
export async function createReplicatedDatabase(cleanup: Cleanup, lagMs: number): Promise<ReplicatedDatabase> {
  // Two web instances (main, search and invalidation-log pools each), the worker and the harness.
  const pair = await startPgPair({ maxConnections: 120 });
  cleanup.add("primary and replica", () => pair.destroy());
  const name = "lobby_torture";
  const url = pair.primaryUrl(name);
  await runMigrations(url); // creates the database first
  // The bursts phase's diagnostic: which WAL records the primary writes while no client writes.
  const ext = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await ext`create extension if not exists pg_walinspect`;
  } finally {
    await ext.end();
  }
  await pair.caughtUp();
  await pair.setApplyDelay(lagMs);
  const sql = postgres(url, { max: 2, onnotice: () => {} });
  cleanup.add("harness's Postgres client", () => sql.end({ timeout: 2 }));
  return {
    name,
    url,
    urlVia(port) {
      const u = new URL(url);
      u.port = String(port);
      return u.toString();
    },
    sql,
    replicaUrl: pair.replicaUrl(name),
    primaryPort: Number(new URL(url).port),
    pair,
  };
}

/** Postgres as it is now: rooms, messages, each live room's newest page of tokens. */
export async function readTruth(sql: postgres.Sql): Promise<Truth> {
  const rooms = await sql<{ id: string; name: string; deleted: boolean }[]>`select id, name, deleted_at is not null as deleted from rooms`;
  const messages = await sql<{ id: string; room_id: string; deleted: boolean }[]>`select id, room_id, deleted_at is not null as deleted from messages`;
  const newest = await sql<{ room_id: string; body: string }[]>`
    select room_id, body from (
      select m.room_id, m.body, row_number() over (partition by m.room_id order by m.seq desc) as rank
      from messages m join rooms r on r.id = m.room_id
      where m.deleted_at is null and r.deleted_at is null
    ) t where rank <= 50`;
  const newestTokens = new Map<string, string[]>();
  for (const r of newest) {
    const list = newestTokens.get(r.room_id) ?? [];
    list.push(...(r.body.match(TOKEN) ?? []));
    newestTokens.set(r.room_id, list);
  }
  return {
    rooms: new Map(rooms.map((r) => [r.id, { name: r.name, deleted: r.deleted }])),
    messages: new Map(messages.map((m) => [m.id, { roomId: m.room_id, deleted: m.deleted }])),
    newestTokens,
  };
}
