import { fork, spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { findRedisServer } from "../../scripts/local-services/embedded-redis";
import { closedPort } from "../../tests/support/net-faults";
import type { DistributiveOmit } from "./history";
import type { ProxyFault, ProxyReply, ProxyRequest } from "./proxy-host";

/*
 * The run's own processes, each started here and stopped by its PID: a private
 * redis-server, the proxy host, the REST servers and the worker (the web instances use
 * bench/support/server.ts). Every start registers its stop with a Cleanup, which runs in
 * reverse order on success, failure and Ctrl-C.
 */

/** Stops everything registered, newest first; each step is bounded and its failure logged, never thrown. */
export class Cleanup {
  private steps: { name: string; run: () => Promise<void> | void }[] = [];
  private running: Promise<void> | undefined;
  /** Set once an interruption began: nothing new may start. */
  closed = false;

  add(name: string, run: () => Promise<void> | void): void {
    this.steps.push({ name, run });
    // Registered while stopping (a start that was under way): stopped with the rest.
    if (this.running) void this.running.then(() => this.run());
  }

  /** Stops everything and refuses new starts (Ctrl-C). */
  close(): Promise<void> {
    this.closed = true;
    return this.run();
  }

  run(): Promise<void> {
    this.running ??= (async () => {
      while (this.steps.length) {
        const step = this.steps.pop()!;
        const started = performance.now();
        try {
          await Promise.race([step.run(), sleep(10_000).then(() => Promise.reject(new Error("timed out")))]);
        } catch (error) {
          console.error(`cleanup: ${step.name}: ${String(error)}`);
        }
        const took = performance.now() - started;
        if (took > 3_000) console.error(`cleanup: ${step.name} took ${(took / 1000).toFixed(1)} s`);
      }
    })().finally(() => (this.running = undefined));
    return this.running;
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the process has exited. */
export async function stopChild(child: ChildProcess, graceMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await Promise.race([exited, sleep(graceMs)]);
  if (child.exitCode === null && child.signalCode === null) {
    child.kill("SIGKILL");
    await Promise.race([exited, sleep(2_000)]);
  }
}

/** A free port outside 3000-3199 (the OS's ephemeral range). */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await closedPort();
    if (port < 3000 || port > 3199) return port;
  }
}

export interface PrivateRedis {
  port: number;
  url: string;
  pid: number | undefined;
  /** A direct client (not through a proxy): FLUSHDB and inspection. */
  direct: Redis;
}

/**
 * `redis-server` of the run's own on a free port, no persistence: the one on PATH, else the
 * one the embedded Redis uses (a machine with Node.js alone).
 */
export async function startRedis(cleanup: Cleanup, logDir: string): Promise<PrivateRedis> {
  const port = await freePort();
  const binary = await findRedisServer(() => {});
  const log = openSync(path.join(logDir, "redis.log"), "w");
  const child = spawn(binary.path, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
    stdio: ["ignore", log, log],
  });
  closeSync(log);
  cleanup.add(`redis-server ${port}`, () => stopChild(child));
  const direct = new Redis({ port, host: "127.0.0.1", lazyConnect: true, maxRetriesPerRequest: 1 });
  direct.on("error", () => {}); // refused until the server listens; commands still fail loudly
  for (let i = 0; ; i++) {
    try {
      await direct.connect();
      await direct.ping();
      break;
    } catch (error) {
      if (i > 50 || child.exitCode !== null) throw new Error(`redis-server on ${port} did not start: ${String(error)}`);
      direct.disconnect();
      await sleep(100);
    }
  }
  cleanup.add("redis client", () => direct.disconnect());
  return { port, url: `redis://127.0.0.1:${port}`, pid: child.pid, direct };
}

const TSX = ["--import", "tsx"];

/** Forks a TypeScript entry with IPC; resolves with its first message. */
async function forkTs<T>(cleanup: Cleanup, name: string, file: string, env: NodeJS.ProcessEnv, logFile: string): Promise<{ child: ChildProcess; first: T }> {
  const log = openSync(logFile, "w");
  const child = fork(file, [], { execArgv: TSX, env, stdio: ["ignore", log, log, "ipc"] });
  closeSync(log);
  cleanup.add(name, () => stopChild(child));
  const first = await new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start in 20 s (see ${logFile})`)), 20_000);
    child.once("message", (m) => {
      clearTimeout(timer);
      resolve(m as T);
    });
    child.once("exit", (code) => reject(new Error(`${name} exited with ${code} (see ${logFile})`)));
  });
  return { child, first };
}

export interface ProxyHost {
  pid: number | undefined;
  create(name: string, targetPort: number): Promise<number>;
  fault(name: string, fault: ProxyFault, everyMs?: number): Promise<void>;
  stats(): Promise<NonNullable<ProxyReply["stats"]>>;
}

export async function startProxyHost(cleanup: Cleanup, logDir: string): Promise<ProxyHost> {
  const { child } = await forkTs<ProxyReply>(cleanup, "proxy host", "bench/torture/proxy-host.ts", process.env, path.join(logDir, "proxies.log"));
  let next = 1;
  const waiting = new Map<number, (r: ProxyReply) => void>();
  child.on("message", (r: ProxyReply) => waiting.get(r.id)?.(r));
  // A proxy host that is gone answers nothing: fail what waits on it rather than hang.
  child.on("exit", () => {
    for (const [id, answer] of waiting) answer({ id, ok: false, error: "the proxy host exited" });
  });
  const ask = (req: DistributiveOmit<ProxyRequest, "id">) =>
    new Promise<ProxyReply>((resolve, reject) => {
      const id = next++;
      waiting.set(id, (r) => {
        waiting.delete(id);
        if (r.ok) resolve(r);
        else reject(new Error(r.error));
      });
      if (!child.connected) return reject(new Error("the proxy host exited"));
      child.send({ ...req, id });
    });
  return {
    pid: child.pid,
    create: async (name, targetPort) => (await ask({ op: "create", name, targetPort })).port!,
    fault: async (name, fault, everyMs) => void (await ask({ op: "fault", name, fault, everyMs })),
    stats: async () => (await ask({ op: "stats" })).stats!,
  };
}

/** A local Upstash REST server in its own process, in front of `redisUrl`. */
export async function startRestServer(cleanup: Cleanup, name: string, redisUrl: string, logDir: string): Promise<{ url: string; token: string; pid: number | undefined }> {
  const { child, first } = await forkTs<{ url: string; token: string }>(
    cleanup,
    `REST server ${name}`,
    "bench/torture/rest-host.ts",
    { ...process.env, REDIS_URL: redisUrl },
    path.join(logDir, `rest-${name}.log`),
  );
  return { ...first, pid: child.pid };
}

export interface WorkerProcess {
  pid(): number | undefined;
  /** SIGKILL: the process dies mid-run, holding whatever it held. */
  kill(): Promise<void>;
  start(): Promise<void>;
  alive(): boolean;
}

/** `node dist/worker.mjs`; restartable (the log is appended to). */
export function workerProcess(cleanup: Cleanup, env: NodeJS.ProcessEnv, logFile: string): WorkerProcess {
  let child: ChildProcess | undefined;
  let starts = 0;
  cleanup.add("worker", () => (child ? stopChild(child, 8_000) : undefined));
  return {
    pid: () => child?.pid,
    alive: () => Boolean(child && child.exitCode === null && child.signalCode === null),
    async start() {
      if (cleanup.closed) return;
      const log = openSync(logFile, starts++ ? "a" : "w");
      child = spawn(process.execPath, ["--enable-source-maps", "dist/worker.mjs"], { env, stdio: ["ignore", log, log] });
      closeSync(log);
      await sleep(300);
      if (child.exitCode !== null) throw new Error(`the worker exited at once (see ${logFile})`);
    },
    async kill() {
      if (!child || child.exitCode !== null) return;
      const exited = new Promise((resolve) => child!.once("exit", resolve));
      child.kill("SIGKILL");
      await exited;
    },
  };
}
