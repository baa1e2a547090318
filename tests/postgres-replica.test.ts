import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { getLiveRoom } from "../lib/db/queries/rooms";
import { runMigrations } from "../lib/db/migrate";
import { ReplicaIdentity, primarySystemIdOnce, readSystemId } from "../lib/db/replicas/identity";
import { PRIMARY_LSN_SQL, readPrimaryLsn } from "../lib/db/replicas/primary-lsn";
import { parseEnv } from "../lib/env";
import { checkHealth } from "../lib/health";
import { metrics } from "../lib/observability/metrics";
import { createRuntime, runtimeConfigFromEnv, type Runtime, type RuntimeConfig } from "../lib/runtime";
import type { Session } from "../lib/session/session";
import { CAN_REPLICATE, startPgPair, type PgPair } from "./support/pg-replica";
import { PG_ADMIN_URL, TEST_REDIS } from "./support/services";
import { createTestRedis, type TestRedis } from "./support/test-env";

const alice: Session = { id: "alice-session-0001", name: "Alice" };

/** How far behind the replica is held while a test needs it behind (recovery_min_apply_delay). */
const LAG_MS = 3_000;

/** Routed reads so far, by target and reason (lobby_db_reads_total). */
async function routes(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const v of (await metrics().dbReads.get()).values) out[`${v.labels.target}:${v.labels.reason}`] = v.value;
  return out;
}
const delta = (after: Record<string, number>, before: Record<string, number>, key: string) => (after[key] ?? 0) - (before[key] ?? 0);

async function replicaStatements(): Promise<number> {
  return (await metrics().dbQueries.get()).values.find((v) => v.labels.target === "replica")?.value ?? 0;
}

/**
 * A primary and a streaming replica of this file's own (the machine's PostgreSQL binaries,
 * run as the postgres user, on free ports), the replica held behind with
 * recovery_min_apply_delay. The promise: a cache fill never stores what an acknowledged
 * write replaced, however far the replica lags, and a replica down costs no request.
 */
describe.skipIf(!CAN_REPLICATE)("read replicas behind the fence", () => {
  let pair: PgPair;
  const redises: TestRedis[] = [];
  const runtimes: Runtime[] = [];

  function instance(overrides: Partial<RuntimeConfig> = {}): { rt: Runtime; redis: TestRedis } {
    const redis = createTestRedis();
    redises.push(redis);
    const rt = createRuntime({
      databaseUrl: pair.primaryUrl("lobby"),
      replicaUrls: [pair.replicaUrl("lobby")],
      redis: TEST_REDIS,
      cacheEnabled: true,
      keyPrefix: redis.prefix,
      mode: "test",
      ...overrides,
      // Lag alone never takes the replica out here, unless a test says so.
      replicas: { maxLagMs: 600_000, ...overrides.replicas },
    });
    runtimes.push(rt);
    return { rt, redis };
  }

  beforeAll(async () => {
    pair = await startPgPair();
    await runMigrations(pair.primaryUrl("lobby"));
    await pair.caughtUp();
  }, 120_000);

  afterAll(async () => {
    for (const rt of runtimes) await rt.close().catch(() => {});
    for (const redis of redises) await redis.close().catch(() => {});
    await pair?.destroy();
  }, 60_000);

  it("serves fills from the replica once it has replayed what the primary wrote", async () => {
    const { rt } = instance();
    const room = await rt.roomWrites.create(alice, { name: "Caught up" });
    await pair.caughtUp();
    const before = await routes();
    const statementsBefore = await replicaStatements();
    const read = await rt.rooms.getRoom(room.id);
    expect(read).toMatchObject({ source: "db", data: { name: "Caught up" } });
    const list = await rt.rooms.getAllRooms();
    expect(list.data.map((r) => r.name)).toContain("Caught up");
    const after = await routes();
    // Nothing is written meanwhile (autovacuum is off on this primary): both fills pass the fence.
    expect(delta(after, before, "replica:fenced")).toBe(2);
    // The fence and the read: two statements on the replica per fill (and a new connection's own).
    expect((await replicaStatements()) - statementsBefore).toBeGreaterThanOrEqual(4);
  });

  it("concurrent reads share one position query, but never one sent before they began", async () => {
    const sent: string[] = [];
    const { rt } = instance({ onQuery: (q) => void sent.push(q) });
    const room = await rt.roomWrites.create(alice, { name: "Crowded" });
    await pair.caughtUp();
    const positions = () => sent.filter((q) => q === PRIMARY_LSN_SQL).length;
    const first = rt.reads.read((db) => getLiveRoom(db, room.id));
    // Sent at once for the first read; these began after it was sent, so they share the next one.
    const rest = Array.from({ length: 20 }, () => rt.reads.read((db) => getLiveRoom(db, room.id)));
    const names = await Promise.all([first, ...rest]);
    expect(names.every((r) => r?.name === "Crowded")).toBe(true);
    expect(positions()).toBe(2);
    // A read after they all returned gets a query of its own.
    await rt.reads.read((db) => getLiveRoom(db, room.id));
    expect(positions()).toBe(3);
  });

  it("a rename acknowledged while the replica lags: the next fill reads the primary and caches the new name", async () => {
    const { rt, redis } = instance();
    const room = await rt.roomWrites.create(alice, { name: "Old name" });
    await pair.caughtUp();
    expect((await rt.rooms.getRoom(room.id)).data?.name).toBe("Old name");
    expect((await rt.rooms.getRoom(room.id)).source).toBe("cache");
    await pair.setApplyDelay(LAG_MS);
    try {
      await rt.roomWrites.update(alice, room.id, { name: "New name" });
      const before = await routes();
      const fill = await rt.rooms.getRoom(room.id);
      const list = await rt.rooms.getAllRooms();
      const after = await routes();
      // The replica still had the old row: the fence sent both fills to the primary.
      expect(delta(after, before, "primary:behind")).toBe(2);
      expect(fill).toMatchObject({ source: "db", data: { name: "New name" } });
      expect(list.data.find((r) => r.id === room.id)?.name).toBe("New name");
      expect(await redis.raw.get(rt.keys.room(room.id))).toContain('"New name"');
      expect(await rt.rooms.getRoom(room.id)).toMatchObject({ source: "cache", data: { name: "New name" } });
      // The replica itself is still behind: what an unfenced read would have taken.
      const replicaRow = await rt.replicas[0]!.handle.sql<{ name: string }[]>`select name from rooms where id = ${room.id}`;
      expect(replicaRow[0]?.name).toBe("Old name");
    } finally {
      await pair.setApplyDelay(0);
      await pair.caughtUp();
    }
  });

  it("without the fence (unsafeDisableFence) the same interleaving caches the old name: the test can fail", async () => {
    const { rt, redis } = instance({ replicas: { unsafeDisableFence: true } });
    const room = await rt.roomWrites.create(alice, { name: "Before" });
    await pair.caughtUp();
    expect((await rt.rooms.getRoom(room.id)).data?.name).toBe("Before");
    await pair.setApplyDelay(LAG_MS);
    try {
      await rt.roomWrites.update(alice, room.id, { name: "After" });
      const fill = await rt.rooms.getRoom(room.id);
      expect(fill).toMatchObject({ source: "db", data: { name: "Before" } });
      expect(await redis.raw.get(rt.keys.room(room.id))).toContain('"Before"');
      expect(await rt.rooms.getRoom(room.id)).toMatchObject({ source: "cache", data: { name: "Before" } });
    } finally {
      await pair.setApplyDelay(0);
      await pair.caughtUp();
    }
  });

  it("stats and message pages go through the fence too", async () => {
    const { rt } = instance();
    const room = await rt.roomWrites.create(alice, { name: "Chatty" });
    await pair.caughtUp();
    await pair.setApplyDelay(LAG_MS);
    try {
      await rt.messageWrites.send(alice, room.id, { body: "first words" });
      const page = await rt.messages.getNewest(room.id);
      expect(page.data?.messages.map((m) => m.body)).toEqual(["first words"]);
      const { stats } = await rt.stats.read();
      expect(stats.messages).toBeGreaterThanOrEqual(1);
      const hits = await rt.search.search({ q: "words", limit: 10, cursor: 0 });
      expect(hits.data.hits.map((h) => h.snippet.map((s) => s.text).join(""))).toContain("first words");
    } finally {
      await pair.setApplyDelay(0);
      await pair.caughtUp();
    }
  });

  it("a replica that stays behind longer than maxLagMs leaves the rotation, and a probe brings it back once caught up", async () => {
    const { rt } = instance({ replicas: { maxLagMs: 0, failuresToOpen: 1, halfOpenAfterMs: 200 } });
    const room = await rt.roomWrites.create(alice, { name: "Lagging" });
    await pair.caughtUp();
    await pair.setApplyDelay(LAG_MS);
    try {
      await rt.roomWrites.update(alice, room.id, { name: "Lagging more" });
      for (let i = 0; i < 3; i++) {
        expect((await rt.reads.read((db) => getLiveRoom(db, room.id)))?.name).toBe("Lagging more");
      }
      expect(rt.replicas[0]!.state.breaker).toBe("open");
      const before = await routes();
      await rt.reads.read((db) => getLiveRoom(db, room.id));
      expect(delta(await routes(), before, "primary:no_replica")).toBe(1);
    } finally {
      await pair.setApplyDelay(0);
      await pair.caughtUp();
    }
    await vi.waitFor(() => expect(rt.replicas[0]!.state.breaker).toBe("closed"), { timeout: 10_000, interval: 50 });
    const before = await routes();
    expect((await rt.reads.read((db) => getLiveRoom(db, room.id)))?.name).toBe("Lagging more");
    expect(delta(await routes(), before, "replica:fenced")).toBe(1);
  });

  it("DATABASE_REPLICA_MAX_LAG_MS=100: a replica behind for longer leaves the rotation, and no read is older than the write", async () => {
    // The replicas' options as the web process builds them from its environment.
    const fromEnv = runtimeConfigFromEnv(parseEnv({ DATABASE_REPLICA_MAX_LAG_MS: "100" })).replicas;
    const { rt } = instance({ replicas: { ...fromEnv, halfOpenAfterMs: 60_000 } });
    expect(rt.replicas[0]!.maxLagMs).toBe(100);
    const room = await rt.roomWrites.create(alice, { name: "Patient" });
    await pair.caughtUp();
    // Far longer than the test takes, so the replica is still behind at its last read.
    await pair.setApplyDelay(20_000);
    try {
      await rt.roomWrites.update(alice, room.id, { name: "Impatient" });
      const before = await routes();
      expect((await rt.reads.read((db) => getLiveRoom(db, room.id)))?.name).toBe("Impatient");
      // Behind, but not for longer than 100 ms yet: the read went to the primary, the replica stays.
      expect(delta(await routes(), before, "primary:behind")).toBe(1);
      expect(rt.replicas[0]!.state.breaker).toBe("closed");
      await new Promise((r) => setTimeout(r, 150));
      // Past 100 ms behind, each failed fence is a fault: three in a row open the circuit.
      for (let i = 0; i < 3; i++) {
        expect((await rt.reads.read((db) => getLiveRoom(db, room.id)))?.name).toBe("Impatient");
      }
      expect(delta(await routes(), before, "primary:fault")).toBe(3);
      expect(rt.replicas[0]!.state.breaker).toBe("open");
    } finally {
      await pair.setApplyDelay(0);
      await pair.caughtUp();
    }
  });

  it("a read that finds every replica connection taken goes to the primary at once, and the replica stays in rotation", async () => {
    const { rt } = instance({ replicas: { poolMax: 1, failuresToOpen: 1 } });
    const room = await rt.roomWrites.create(alice, { name: "Crowded pool" });
    await pair.caughtUp();
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let holding!: () => void;
    const isHolding = new Promise<void>((r) => (holding = r));
    const before = await routes();
    // Holds the replica pool's one connection until released.
    const first = rt.reads.read(async (db) => {
      const row = await getLiveRoom(db, room.id);
      holding();
      await held;
      return row;
    });
    await isHolding;
    expect((await rt.reads.read((db) => getLiveRoom(db, room.id)))?.name).toBe("Crowded pool");
    const during = await routes();
    // Not queued behind the held connection until the replica's deadline (a fault, which would open this circuit).
    expect(delta(during, before, "primary:busy")).toBe(1);
    expect(delta(during, before, "primary:fault")).toBe(0);
    expect(rt.replicas[0]!.state.breaker).toBe("closed");
    release();
    expect((await first)?.name).toBe("Crowded pool");
    // The connection is back: the next read is the replica's again.
    expect((await rt.reads.read((db) => getLiveRoom(db, room.id)))?.name).toBe("Crowded pool");
    expect(delta(await routes(), before, "replica:fenced")).toBe(2);
  });

  it("health reports the replica, and the replica stopped costs no read and no health", async () => {
    const { rt } = instance({ replicas: { failuresToOpen: 2, halfOpenAfterMs: 60_000 } });
    const room = await rt.roomWrites.create(alice, { name: "Survivor" });
    await pair.caughtUp();
    const healthy = await checkHealth(rt);
    expect(healthy.replicas).toEqual([expect.objectContaining({ up: true, breaker: "closed", inRecovery: true, lagBytes: 0 })]);
    expect(healthy.replicas[0]!.name).not.toContain("@");
    await pair.stopReplica();
    try {
      const before = await routes();
      for (let i = 0; i < 3; i++) {
        await rt.roomWrites.update(alice, room.id, { name: `Survivor ${i}` });
        expect(await rt.rooms.getRoom(room.id)).toMatchObject({ source: "db", data: { name: `Survivor ${i}` } });
      }
      const after = await routes();
      expect(delta(after, before, "primary:fault")).toBe(2);
      expect(delta(after, before, "primary:no_replica")).toBe(1);
      const report = await checkHealth(rt);
      expect(report.status).toBe("ok");
      expect(report.replicas).toEqual([expect.objectContaining({ up: false, breaker: "open" })]);
    } finally {
      await pair.startReplica();
    }
  });

  it("a replica URL reaching a standalone server (the shared Postgres) never serves a read, is logged once and named in health", async () => {
    // Only two read-only functions run there: the identity check.
    const { rt } = instance({ replicaUrls: [PG_ADMIN_URL] });
    const room = await rt.roomWrites.create(alice, { name: "Standalone next door" });
    const before = await routes();
    for (let i = 0; i < 5; i++) {
      expect((await rt.reads.read((db) => getLiveRoom(db, room.id)))?.name).toBe("Standalone next door");
    }
    expect(await rt.search.search({ q: "standalone", limit: 10, cursor: 0 })).toBeDefined();
    const after = await routes();
    expect(delta(after, before, "replica:fenced")).toBe(0);
    expect(delta(after, before, "replica:unfenced")).toBe(0);
    // The first read found out (a fault, to the primary); the rest, the search's pool too, never picked it.
    expect(delta(after, before, "primary:fault")).toBe(1);
    expect(delta(after, before, "primary:no_replica")).toBe(5);
    expect(rt.replicas[0]!.state.excluded).toMatch(/^not a replica of this primary: system identifier \d+, the primary's is \d+$/);
    expect(rt.replicas[0]!.available).toBe(false);
    const report = await checkHealth(rt);
    expect(report.status).toBe("ok");
    expect(report.replicas).toEqual([expect.objectContaining({ excluded: expect.stringMatching(/^not a replica of this primary/) })]);
  });

  it("the primary itself under a replica URL (its system identifier, never in recovery) is excluded as not a standby, reported once to concurrent checks", async () => {
    // The primary itself under a replica URL: the same system identifier, never a standby.
    const onExcluded = vi.fn();
    const primary = postgres(pair.primaryUrl("lobby"), { max: 2, onnotice: () => {} });
    try {
      const identity = new ReplicaIdentity({ primarySystemId: primarySystemIdOnce(primary), onExcluded });
      const checks = await Promise.all([identity.verify(primary), identity.verify(primary)]);
      expect(checks).toEqual([{ ok: false, excluded: expect.stringMatching(/^not a standby/) }, { ok: false, excluded: expect.stringMatching(/^not a standby/) }]);
      expect(await identity.verify(primary)).toEqual({ ok: false, excluded: expect.stringMatching(/^not a standby/) });
      expect(onExcluded).toHaveBeenCalledTimes(1);
      expect(identity.state).toBe("excluded");
    } finally {
      await primary.end({ timeout: 1 });
    }
  });

  it("a replica of another cluster, ahead of this primary so the fence alone would pass, never serves its rows", async () => {
    const other = await startPgPair();
    const otherPrimary = postgres(other.primaryUrl("lobby"), { max: 1, onnotice: () => {} });
    try {
      await runMigrations(other.primaryUrl("lobby"));
      const { rt } = instance({ replicaUrls: [other.replicaUrl("lobby")] });
      const room = await rt.roomWrites.create(alice, { name: "This cluster" });
      // The same room id in the other cluster, under another name: what a wrong replica would serve.
      await otherPrimary`insert into rooms (id, name, owner_id, owner_name) values (${room.id}, 'Another cluster', ${alice.id}, ${alice.name})`;
      // Move the other cluster's WAL past this primary's (a segment switch skips to the next 16 MB).
      const ours = await readPrimaryLsn(rt.db.sql);
      for (let i = 0; i < 64; i++) {
        const [{ ahead }] = await otherPrimary<[{ ahead: boolean }]>`select pg_current_wal_lsn() > ${ours}::pg_lsn + 64 * 1024 * 1024 as ahead`;
        if (ahead) break;
        await otherPrimary`select pg_switch_wal()`;
        await otherPrimary`update rooms set description = ${`filler ${i}`} where id = ${room.id}`;
      }
      await other.caughtUp();
      // The precondition that makes this test able to fail: the fence alone lets that replica serve, and it has the other row.
      const otherReplica = postgres(other.replicaUrl("lobby"), { max: 1, onnotice: () => {} });
      try {
        const current = await readPrimaryLsn(rt.db.sql);
        const [{ ok }] = await otherReplica<[{ ok: boolean }]>`select coalesce(pg_last_wal_replay_lsn() >= ${current}::pg_lsn, false) as ok`;
        expect(ok).toBe(true);
        expect((await otherReplica<{ name: string }[]>`select name from rooms where id = ${room.id}`)[0]?.name).toBe("Another cluster");
        expect((await readSystemId(otherReplica)).recovery).toBe(true);
      } finally {
        await otherReplica.end({ timeout: 1 });
      }
      const before = await routes();
      for (let i = 0; i < 5; i++) {
        expect((await rt.reads.read((db) => getLiveRoom(db, room.id)))?.name).toBe("This cluster");
      }
      expect((await rt.rooms.getRoom(room.id)).data?.name).toBe("This cluster");
      const after = await routes();
      expect(delta(after, before, "replica:fenced")).toBe(0);
      expect(rt.replicas[0]!.state.excluded).toMatch(/^not a replica of this primary/);
      expect((await checkHealth(rt)).replicas[0]!.excluded).toMatch(/^not a replica of this primary/);
    } finally {
      await otherPrimary.end({ timeout: 1 });
      await other.destroy();
    }
  }, 120_000);
});
