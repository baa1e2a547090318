import { execFile } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, appendFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import postgres from "postgres";

const run = promisify(execFile);

/** The newest PostgreSQL server binaries of the machine (Debian layout), or undefined. */
export function postgresBinDir(): string | undefined {
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => /^\d+$/.test(v) && existsSync(join(root, v, "bin", "pg_basebackup")))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] && join(root, versions[0], "bin");
}

/** Postgres refuses to run as root: the servers run as this OS user, if it exists. */
const PG_USER = "postgres";

function osUser(name: string): { uid: number; gid: number } | undefined {
  const line = readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((l) => l.startsWith(`${name}:`));
  const [, , uid, gid] = line?.split(":") ?? [];
  return uid && gid ? { uid: Number(uid), gid: Number(gid) } : undefined;
}

/** True when this machine can start a primary and a streaming replica of a test's own. */
export const CAN_REPLICATE = Boolean(postgresBinDir()) && Boolean(osUser(PG_USER));

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/** A primary and one streaming replica, on free ports, in a temporary folder. */
export interface PgPair {
  primaryUrl(database?: string): string;
  replicaUrl(database?: string): string;
  /** Sets the replica's recovery_min_apply_delay (ALTER SYSTEM, reload): 0 to catch up. */
  setApplyDelay(ms: number): Promise<void>;
  /** Resolves once the replica has replayed everything the primary had written when called. */
  caughtUp(): Promise<void>;
  stopReplica(): Promise<void>;
  startReplica(): Promise<void>;
  /** Stops both servers (immediate) and deletes their folder. */
  destroy(): Promise<void>;
  /** The servers' log files (deleted with the folder). */
  logs: { primary: string; replica: string };
}

/** Options of {@link startPgPair}. */
export interface PgPairOptions {
  /** Each server's max_connections (default 40: a test's few pools). */
  maxConnections?: number;
}

export async function startPgPair(options: PgPairOptions = {}): Promise<PgPair> {
  const bin = postgresBinDir();
  const user = osUser(PG_USER);
  if (!bin || !user) throw new Error("no PostgreSQL binaries or postgres user on this machine");
  const root = mkdtempSync(join(tmpdir(), "lobby-pg-pair-"));
  chmodSync(root, 0o755);
  chownSync(root, user.uid, user.gid);
  const primaryDir = join(root, "primary");
  const replicaDir = join(root, "replica");
  const [primaryPort, replicaPort] = [await freePort(), await freePort()];
  const as = (cmd: string, args: string[]) => run("runuser", ["-u", PG_USER, "--", join(bin, cmd), ...args], { cwd: root, env: { ...process.env, LANG: "C.UTF-8", LC_ALL: "C.UTF-8" } });
  // Each server's socket goes in our folder: nothing of the machine's own Postgres is touched.
  const settings = (port: number) =>
    [
      `port = ${port}`,
      "listen_addresses = '127.0.0.1'",
      `unix_socket_directories = '${root}'`,
      "wal_level = replica",
      "max_wal_senders = 4",
      "hot_standby = on",
      // Our own throwaway cluster: no fsync, and no autovacuum writing WAL behind the tests' backs.
      "fsync = off",
      "autovacuum = off",
      "shared_buffers = 16MB",
      `max_connections = ${options.maxConnections ?? 40}`,
    ].join("\n") + "\n";
  const started: string[] = [];
  const ctl = (dir: string, action: "start" | "stop") =>
    action === "start"
      ? as("pg_ctl", ["-D", dir, "-l", join(root, `${dir === primaryDir ? "primary" : "replica"}.log`), "-w", "-t", "30", "start"])
      : as("pg_ctl", ["-D", dir, "-m", "immediate", "-w", "stop"]);
  const stopByPid = (dir: string) => {
    // pg_ctl failed to stop it: the postmaster's pid is the first line of postmaster.pid.
    const pidFile = join(dir, "postmaster.pid");
    if (!existsSync(pidFile)) return;
    const pid = Number(readFileSync(pidFile, "utf8").split("\n")[0]);
    if (Number.isInteger(pid) && pid > 0) {
      try {
        process.kill(pid, "SIGQUIT");
      } catch {}
    }
  };
  const destroy = async () => {
    for (const dir of started.reverse()) {
      await ctl(dir, "stop").catch(() => stopByPid(dir));
    }
    rmSync(root, { recursive: true, force: true });
  };
  try {
    await as("initdb", ["-D", primaryDir, "-U", PG_USER, "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8"]);
    // initdb's pg_hba.conf trusts local replication connections (--auth=trust) already.
    appendFileSync(join(primaryDir, "postgresql.conf"), settings(primaryPort));
    await ctl(primaryDir, "start");
    started.push(primaryDir);
    await as("pg_basebackup", ["-h", "127.0.0.1", "-p", String(primaryPort), "-U", PG_USER, "-D", replicaDir, "-R", "-X", "stream"]);
    appendFileSync(join(replicaDir, "postgresql.conf"), `port = ${replicaPort}\n`);
    await ctl(replicaDir, "start");
    started.push(replicaDir);
  } catch (error) {
    await destroy();
    throw error;
  }
  const url = (port: number, database = "postgres") => `postgres://${PG_USER}@127.0.0.1:${port}/${database}`;
  const once = async <T>(target: string, fn: (sql: postgres.Sql) => Promise<T>): Promise<T> => {
    const sql = postgres(target, { max: 1, onnotice: () => {} });
    try {
      return await fn(sql);
    } finally {
      await sql.end({ timeout: 1 });
    }
  };
  return {
    primaryUrl: (database) => url(primaryPort, database),
    replicaUrl: (database) => url(replicaPort, database),
    async setApplyDelay(ms) {
      await once(url(replicaPort), async (sql) => {
        await sql.unsafe(`alter system set recovery_min_apply_delay = '${Math.trunc(ms)}ms'`);
        await sql`select pg_reload_conf()`;
      });
    },
    async caughtUp() {
      const [{ lsn }] = await once(url(primaryPort), (sql) => sql<[{ lsn: string }]>`select pg_current_wal_lsn()::text as lsn`);
      await once(url(replicaPort), async (sql) => {
        for (;;) {
          const [{ ok }] = await sql<[{ ok: boolean }]>`select coalesce(pg_last_wal_replay_lsn() >= ${lsn}::pg_lsn, false) as ok`;
          if (ok) return;
          await new Promise((r) => setTimeout(r, 20));
        }
      });
    },
    async stopReplica() {
      await ctl(replicaDir, "stop");
    },
    async startReplica() {
      await ctl(replicaDir, "start");
    },
    destroy,
    logs: { primary: join(root, "primary.log"), replica: join(root, "replica.log") },
  };
}
