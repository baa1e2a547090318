import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKeys } from "../lib/cache/keys";
import { clusterNodesSchema } from "../lib/cache/redis-target";
import { createRuntime, type Runtime } from "../lib/runtime";
import type { Session } from "../lib/session/session";
import { startRedisCluster, type LocalRedisCluster } from "../scripts/local-services/redis-cluster";
import { createTestDatabase, type TestDatabase } from "./support/test-env";
import { eventually, spawnWorker, type WorkerProcess } from "./support/worker-process";

/*
 * A Redis Cluster as managed services run one (ElastiCache, Memorystore): TLS on every
 * connection (clients, the cluster bus, replication) and a password, reached through
 * `REDIS_CLUSTER_NODES=rediss://:password@host:port`. The nodes' certificate is signed by a
 * certificate authority of the test's own, which a process trusts through Node's
 * NODE_EXTRA_CA_CERTS (read at start: so the worker, a process of its own, gets it).
 */

const run = promisify(execFile);
const canRun = ["openssl", "redis-server", "redis-cli"].every((bin) => spawnSync("which", [bin]).status === 0);
const owner: Session = { id: "tls-owner-000001", name: "Owner" };
const PASSWORD = "s3cret/pass word";

async function makeCertificates(dir: string) {
  const file = (name: string) => path.join(dir, name);
  const openssl = (...args: string[]) => run("openssl", args, { timeout: 30_000 });
  await openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=Lobby test CA", "-keyout", file("ca.key"), "-out", file("ca.crt"));
  await openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", file("node.key"), "-out", file("node.csr"));
  // The nodes announce themselves as 127.0.0.1 and are first reached as localhost: both names are in the certificate.
  writeFileSync(file("san.cnf"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
  await openssl("x509", "-req", "-in", file("node.csr"), "-CA", file("ca.crt"), "-CAkey", file("ca.key"), "-CAcreateserial", "-days", "1", "-extfile", file("san.cnf"), "-out", file("node.crt"));
  return { certFile: file("node.crt"), keyFile: file("node.key"), caFile: file("ca.crt") };
}

describe.skipIf(!canRun)("a Redis Cluster with TLS and a password", () => {
  let dir = "";
  let tls: { certFile: string; keyFile: string; caFile: string };
  let cluster: LocalRedisCluster;
  let db: TestDatabase;
  const prefix = `tls:${Math.random().toString(36).slice(2, 8)}:`;
  const runtimes: Runtime[] = [];
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "lobby-tls-"));
    tls = await makeCertificates(dir);
    cluster = await startRedisCluster({ tls, password: PASSWORD });
    db = await createTestDatabase();
  }, 90_000);

  afterAll(async () => {
    for (const w of workers) {
      if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill("SIGKILL");
      await w.exited;
    }
    await Promise.all(runtimes.map((rt) => rt.close()));
    await cluster?.stop();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const redisCli = async (...args: string[]) => {
    const port = cluster.processes[0]!.port;
    const { stdout } = await run("redis-cli", ["-c", "-h", "127.0.0.1", "-p", String(port), "--tls", "--cacert", tls.caFile, "-a", PASSWORD, "--no-auth-warning", ...args]);
    return stdout.trim();
  };

  it("the worker, trusting the cluster's certificate authority, reconciles on it: the repaired list and rooms:last_sync are there", async () => {
    await db.sql`insert into rooms (name, owner_id, owner_name) values ('Over TLS', 'o', 'O')`;
    const w = spawnWorker({
      databaseUrl: db.url,
      prefix,
      extra: {
        REDIS_URL: "redis://127.0.0.1:9", // nowhere: the cluster variable wins
        REDIS_CLUSTER_NODES: cluster.nodes,
        NODE_EXTRA_CA_CERTS: tls.caFile,
        ENABLE_ROOM_RECONCILIATION: "true",
        RECONCILE_INTERVAL_MS: "1000",
      },
    });
    workers.push(w);
    const keys = createKeys(prefix);
    const lastSync = await eventually(async () => (await redisCli("GET", keys.roomsLastSync)) || undefined, 30_000, 200);
    expect(Date.parse(lastSync)).toBeGreaterThan(Date.now() - 60_000); // plain ISO-8601, written just now
    expect(await redisCli("GET", keys.roomsAll)).toContain("Over TLS");
    expect(w.output()).not.toMatch(/self[- ]signed|unable to verify|WRONGPASS|NOAUTH/i);
    w.child.kill("SIGTERM");
    expect(await w.exited).toEqual({ code: 0, signal: null });
  }, 60_000);

  it("a process that does not trust the certificate never talks to the cluster, and still answers from Postgres", async () => {
    // This test process was started without the test's authority: the nodes' certificate is refused.
    const rt = createRuntime({ databaseUrl: db.url, redis: { driver: "cluster", cluster: clusterNodesSchema.parse(cluster.nodes) }, cacheEnabled: true, keyPrefix: `${prefix}untrusted:`, mode: "test" });
    runtimes.push(rt);
    const room = await rt.roomWrites.create(owner, { name: "Written without the cache" });
    await rt.rooms.getRoom(room.id); // a miss would fill the cache here, were it reachable
    const read = await rt.rooms.getRoom(room.id);
    expect(read.data?.name).toBe("Written without the cache");
    expect(read.source).toBe("db");
    expect(await redisCli("EXISTS", createKeys(`${prefix}untrusted:`).room(room.id))).toBe("0");
  }, 30_000);
});
