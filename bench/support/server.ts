import { spawn, spawnSync, type ChildProcess, type StdioOptions } from "node:child_process";
import { connect } from "node:net";
import { appendFileSync, closeSync, mkdirSync, openSync } from "node:fs";
import path from "node:path";
import { availableParallelism } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";

/** Pinning needs two cores and taskset; elsewhere everything shares the machine (said in the report). */
export const canPin = availableParallelism() >= 2 && spawnSync("taskset", ["-V"]).status === 0;

/** Moves this process (the load generator) to core 1, away from the servers on core 0. */
export function pinSelfToLoadCore(): void {
  if (canPin) spawnSync("taskset", ["-a", "-cp", "1", String(process.pid)], { stdio: "ignore" });
}

export interface AppServer {
  port: number;
  url: string;
  /** The server's process id (node itself: `next start` runs as one process). */
  pid: number | undefined;
  /** False once the process has exited. */
  alive(): boolean;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Pin the server to core 0 (default: when the machine allows it). */
  pin?: boolean;
  /** Where its output goes (default `bench/logs/server-{port}.log`). */
  logFile?: string;
  /** The environment it inherits before `env` is laid over it (default: this process's). */
  baseEnv?: NodeJS.ProcessEnv;
  /** Called with the stop function as soon as the process is spawned (a caller's cleanup, for an interrupted start). */
  onSpawn?: (stop: () => Promise<void>) => void;
}

/**
 * The bench's servers run in production mode, where /api/metrics (read below for query
 * counts) needs the operators' token, and /bench/* (the baselines) exist only with
 * BENCH_ROUTES=true.
 */
const METRICS_TOKEN = "bench-operator-token-0123456789";
export const operatorHeaders = { headers: { authorization: `Bearer ${METRICS_TOKEN}` } };

/** Where each server's output goes: `bench/logs/server-{port}.log` (git-ignored), replaced every run. */
export const LOG_DIR = "bench/logs";

/** `next start` as one node process (so stopping it frees the port), pinned to core 0. */
export async function startApp(port: number, env: Record<string, string>, options: StartOptions = {}): Promise<AppServer> {
  // A server left on the port (another run's, another checkout's) would answer the health
  // check below in place of this one, and be measured as if it were.
  if (await listening(port)) throw new Error(`port ${port} is already in use: stop what listens there, or set another BENCH_PORT_BASE`);
  const args = ["node_modules/next/dist/bin/next", "start", "-p", String(port)];
  // The load generator plays the reverse proxy: its X-Forwarded-For is the client address.
  env = { TRUSTED_PROXY_HOPS: "1", BENCH_ROUTES: "true", METRICS_TOKEN, ...env };
  // The server's log (warnings: breaker state changes, failed loads) is kept for after the run.
  const logFile = options.logFile ?? path.join(LOG_DIR, `server-${port}.log`);
  mkdirSync(path.dirname(logFile), { recursive: true });
  const log = openSync(logFile, "w");
  const stdio: StdioOptions = ["ignore", log, "pipe"];
  const childEnv = { ...(options.baseEnv ?? process.env), ...env };
  const child: ChildProcess =
    (options.pin ?? true) && canPin
      ? spawn("taskset", ["-c", "0", process.execPath, ...args], { env: childEnv, stdio })
      : spawn(process.execPath, args, { env: childEnv, stdio });
  closeSync(log);
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    await Promise.race([new Promise((r) => child.once("exit", r)), sleep(5_000)]);
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  };
  options.onSpawn?.(stop);
  let stderr = "";
  child.stderr?.on("data", (d) => {
    stderr = (stderr + d).slice(-4000);
    appendFileSync(logFile, d);
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`next start exited: ${stderr}`);
    try {
      const r = await fetch(`${url}/api/health`);
      if (r.status < 500 || r.status === 503) break;
    } catch {
      /* not listening yet */
    }
    await sleep(100);
  }
  return {
    port,
    url,
    pid: child.pid,
    alive: () => child.exitCode === null && child.signalCode === null,
    stop,
  };
}

/** A server's `/api/metrics` (Prometheus text), read with the bench's operator token. */
export async function metricsText(server: AppServer): Promise<string> {
  return (await fetch(`${server.url}/api/metrics`, operatorHeaders)).text();
}

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("error", () => resolve(false));
  });
}

/** Postgres statements a server has sent (primary and replicas), from its own Prometheus counter. */
export async function dbQueries(server: AppServer): Promise<number> {
  const text = await metricsText(server);
  const counts = [...text.matchAll(/^lobby_db_queries_total\{target="[^"]+"\} (\d+)/gm)].map((m) => Number(m[1]));
  return counts.length === 0 ? NaN : counts.reduce((a, b) => a + b, 0);
}

/**
 * A server's garbage-collection pauses so far (prom-client's default metrics), by kind:
 * how many, their total ms, and how many took over 10 ms. Subtract two readings for a span.
 */
export async function gcPauses(server: AppServer): Promise<Record<string, { count: number; ms: number; over10ms: number }>> {
  const text = await metricsText(server);
  const out: Record<string, { count: number; ms: number; over10ms: number }> = {};
  const of = (kind: string) => (out[kind] ??= { count: 0, ms: 0, over10ms: 0 });
  for (const m of text.matchAll(/^lobby_nodejs_gc_duration_seconds_(count|sum)\{kind="([^"]+)"\} ([\d.e+-]+)/gm)) {
    if (m[1] === "count") of(m[2]!).count = Number(m[3]);
    else of(m[2]!).ms = Number(m[3]) * 1000;
  }
  // Buckets are cumulative: count less those within 10 ms.
  for (const m of text.matchAll(/^lobby_nodejs_gc_duration_seconds_bucket\{([^}]*)\} (\d+)/gm)) {
    const kind = /kind="([^"]+)"/.exec(m[1]!)?.[1];
    if (kind && /le="0\.01"/.test(m[1]!)) of(kind).over10ms = -Number(m[2]);
  }
  for (const v of Object.values(out)) v.over10ms += v.count;
  return out;
}

/** Cache read outcomes a server has counted (hit, miss, error, ...), summed over caches. */
export async function cacheOutcomes(server: AppServer): Promise<Record<string, number>> {
  const text = await metricsText(server);
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^lobby_cache_requests_total\{cache="[^"]+",outcome="([^"]+)"\} (\d+)/gm)) {
    out[m[1]!] = (out[m[1]!] ?? 0) + Number(m[2]);
  }
  return out;
}
