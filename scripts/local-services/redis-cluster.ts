import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { startChild, stopChild, type Child } from "./child";
import { redisServerOnPath } from "./embedded-redis";
import { waitForRedis } from "./probe";

const run = promisify(execFile);

/** One redis-server of a local cluster. */
export interface ClusterProcess {
  port: number;
  child: Child;
}

export interface LocalRedisCluster {
  /** `127.0.0.1:p1,...,127.0.0.1:p6`, as REDIS_CLUSTER_NODES takes it. */
  nodes: string;
  processes: ClusterProcess[];
  /** The node that serves `key`'s slot as master now (CLUSTER KEYSLOT, then CLUSTER SHARDS/NODES). */
  masterOf(key: string): Promise<ClusterProcess>;
  /** The replica of the master on `port` (CLUSTER NODES). */
  replicaOf(port: number): Promise<ClusterProcess>;
  /** SIGKILL to one node (a crash: no goodbye to the cluster); resolves once it is gone. */
  kill(port: number): Promise<void>;
  /** SIGSTOP / SIGCONT to one node: it stops reading its sockets, as a hung host would. */
  pause(port: number): void;
  resume(port: number): void;
  /** A redis-cli command against one node; its output. */
  command(port: number, ...args: string[]): Promise<string>;
  /** Resolves once every slot is served again (cluster_state:ok as `via` sees it). */
  waitHealthy(via?: number, timeoutMs?: number): Promise<void>;
  /** Stops every node it started (by PID) and removes its directory. */
  stop(): Promise<void>;
}

export interface ClusterStartOptions {
  /** Masters; each gets `replicas` replicas. Defaults 3 and 1 (six processes). */
  masters?: number;
  replicas?: number;
  /** How long a node may be silent before the others count it failed. Default 2000 ms (a failover then takes ~3-4 s). */
  nodeTimeoutMs?: number;
  /**
   * TLS only (no plaintext port), between clients and nodes and between the nodes (bus and
   * replication), with these PEM files; clients are not asked for certificates. `nodes`
   * then reads `rediss://[:password@]localhost:port`.
   */
  tls?: { certFile: string; keyFile: string; caFile: string };
  /** `requirepass` (and `masterauth`) of every node. */
  password?: string;
}

/**
 * A Redis Cluster of this machine's own `redis-server`, for tests and local runs: free ports
 * (each with its cluster bus port, +10000, free too), nothing kept on disk (`--save ""
 * --appendonly no`), config files in a temporary directory, `redis-cli --cluster create`.
 * Only the processes it started are ever stopped.
 */
export async function startRedisCluster(options: ClusterStartOptions = {}): Promise<LocalRedisCluster> {
  const binary = redisServerOnPath();
  if (!binary) throw new Error("no redis-server on PATH: a local Redis Cluster needs one (apt-get install redis-server)");
  const masters = options.masters ?? 3;
  const replicas = options.replicas ?? 1;
  const count = masters * (1 + replicas);
  const dir = mkdtempSync(path.join(tmpdir(), "lobby-redis-cluster-"));
  const processes: ClusterProcess[] = [];
  const { tls, password } = options;
  const cli = cliWith([
    ...(tls ? ["--tls", "--cacert", tls.caFile] : []),
    ...(password ? ["-a", password, "--no-auth-warning"] : []),
  ]);
  const stop = async () => {
    await Promise.all(processes.map((p) => stopChild(p.child, 3_000)));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const ports = await freePorts(count);
    for (const port of ports) {
      const args = [
        ...(tls
          ? ["--port", "0", "--tls-port", String(port), "--tls-cert-file", tls.certFile, "--tls-key-file", tls.keyFile, "--tls-ca-cert-file", tls.caFile,
             "--tls-auth-clients", "no", "--tls-cluster", "yes", "--tls-replication", "yes"]
          : ["--port", String(port)]),
        ...(password ? ["--requirepass", password, "--masterauth", password] : []),
        "--bind", "127.0.0.1",
        "--cluster-enabled", "yes",
        "--cluster-config-file", `nodes-${port}.conf`,
        "--cluster-node-timeout", String(options.nodeTimeoutMs ?? 2_000),
        "--save", "",
        "--appendonly", "no",
        "--dir", dir,
        "--daemonize", "no",
        "--logfile", path.join(dir, `redis-${port}.log`),
      ];
      processes.push({ port, child: startChild(`redis-${port}`, binary, args, { stdio: "ignore" }) });
    }
    if (tls || password) await Promise.all(ports.map((port) => answers(() => cli(port, "PING"), 10_000)));
    else await Promise.all(ports.map((port) => waitForRedis({ host: "127.0.0.1", port }, 10_000)));
    await cli(ports[0]!, "--cluster", "create", ...ports.map((p) => `127.0.0.1:${p}`), "--cluster-replicas", String(replicas), "--cluster-yes");
    const signal = (port: number, name: NodeJS.Signals) => {
      const pid = processes.find((p) => p.port === port)?.child.process.pid;
      if (pid === undefined) throw new Error(`port ${port} is not a node of this cluster`);
      process.kill(pid, name);
    };
    const cluster: LocalRedisCluster = {
      nodes: ports
        .map((p) => (tls ? `rediss://${password ? `:${encodeURIComponent(password)}@` : ""}localhost:${p}` : password ? `redis://:${encodeURIComponent(password)}@127.0.0.1:${p}` : `127.0.0.1:${p}`))
        .join(","),
      processes,
      async masterOf(key) {
        const live = processes.filter((p) => p.child.process.exitCode === null && p.child.process.signalCode === null);
        const via = live[0]!.port;
        const slot = Number((await cli(via, "CLUSTER", "KEYSLOT", key)).trim());
        for (const line of (await cli(via, "CLUSTER", "NODES")).split("\n")) {
          const [, address, flags, , , , , state, ...ranges] = line.split(" ");
          if (!address || !flags?.includes("master") || flags.includes("fail") || state !== "connected") continue;
          const port = Number(address.split("@")[0]!.split(":")[1]);
          const serves = ranges.some((r) => {
            const [from, to = from] = r.split("-").map(Number);
            return from !== undefined && to !== undefined && slot >= from && slot <= to;
          });
          const found = processes.find((p) => p.port === port);
          if (serves && found) return found;
        }
        throw new Error(`no master serves slot ${slot} of ${key}`);
      },
      async replicaOf(port) {
        const live = processes.filter((p) => p.child.process.exitCode === null && p.child.process.signalCode === null);
        const lines = (await cli(live[0]!.port, "CLUSTER", "NODES")).split("\n").map((l) => l.split(" "));
        const master = lines.find((l) => Number(l[1]?.split("@")[0]?.split(":")[1]) === port);
        const replica = master && lines.find((l) => l[3] === master[0]);
        const found = replica && processes.find((p) => p.port === Number(replica[1]?.split("@")[0]?.split(":")[1]));
        if (!found) throw new Error(`no replica of the master on port ${port}`);
        return found;
      },
      pause(port) {
        signal(port, "SIGSTOP");
      },
      resume(port) {
        signal(port, "SIGCONT");
      },
      command: cli,
      async kill(port) {
        const p = processes.find((x) => x.port === port);
        if (!p) throw new Error(`port ${port} is not a node of this cluster`);
        await stopChild(p.child, 0, "SIGKILL");
      },
      async waitHealthy(via, timeoutMs = 30_000) {
        const deadline = Date.now() + timeoutMs;
        const ask = via ?? processes.find((p) => p.child.process.exitCode === null && p.child.process.signalCode === null)!.port;
        for (;;) {
          const info = await cli(ask, "CLUSTER", "INFO").catch(() => "");
          if (/cluster_state:ok/.test(info)) return;
          if (Date.now() > deadline) throw new Error(`the cluster did not become healthy within ${timeoutMs} ms: ${info.split("\n")[0] ?? ""}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      },
      stop,
    };
    // `--cluster create` returns once the slots are assigned; every node must agree before use.
    for (const p of processes) await cluster.waitHealthy(p.port);
    await waitForReplicas(cli, processes.map((p) => p.port), masters * replicas);
    return cluster;
  } catch (error) {
    await stop();
    throw error;
  }
}

type Cli = (port: number, ...args: string[]) => Promise<string>;

/** `redis-cli` against one node, with the cluster's TLS and password arguments. */
function cliWith(auth: string[]): Cli {
  return async (port, ...args) => {
    const { stdout } = await run("redis-cli", ["-h", "127.0.0.1", "-p", String(port), ...auth, ...args], { timeout: args[0] === "--cluster" ? 30_000 : 5_000 });
    return stdout;
  };
}

/** Until `ask` answers PONG (a node that has just started). */
async function answers(ask: () => Promise<string>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ask().catch(() => "")).includes("PONG")) {
    if (Date.now() > deadline) throw new Error(`no PONG within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Until every replica has finished its first sync (a failover test needs replicas that hold the data). */
async function waitForReplicas(cli: Cli, ports: number[], expected: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let synced = 0;
    for (const port of ports) {
      const info = await cli(port, "INFO", "replication").catch(() => "");
      if (/role:slave/.test(info) && /master_link_status:up/.test(info) && /master_sync_in_progress:0/.test(info)) synced++;
    }
    if (synced >= expected) return;
    if (Date.now() > deadline) throw new Error(`${synced} of ${expected} replicas synced within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** `count` ports that are free, each with its cluster bus port (+10000) free as well. */
async function freePorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  for (let tries = 0; ports.length < count && tries < 500; tries++) {
    const port = 20_000 + Math.floor(Math.random() * 30_000);
    if (ports.includes(port) || ports.includes(port + 10_000) || ports.includes(port - 10_000)) continue;
    if ((await isFree(port)) && (await isFree(port + 10_000))) ports.push(port);
  }
  if (ports.length < count) throw new Error(`found only ${ports.length} of ${count} free ports`);
  return ports;
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}
