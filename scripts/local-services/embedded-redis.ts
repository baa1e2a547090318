import { accessSync, closeSync, constants, mkdirSync, openSync, readFileSync } from "node:fs";
import path from "node:path";
import { startChild, stopChild, type Child } from "./child";
import type { Endpoint } from "./endpoint";
import { waitForRedis } from "./probe";

export interface RedisBinary {
  path: string;
  /** For the one line `npm run app` prints: "redis-server from PATH", ... */
  source: string;
}

/** The first executable `redis-server` on PATH, as a shell would find it. */
export function redisServerOnPath(searchPath = process.env.PATH ?? ""): string | null {
  for (const dir of searchPath.split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, "redis-server");
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/**
 * `redis-server` from PATH; else the one redis-memory-server builds: it downloads Redis's
 * source from download.redis.io and compiles it with `make` once (a minute or two), then
 * keeps it under node_modules/.cache. Rejects with a one-line reason and what to do.
 */
export async function findRedisServer(say: (line: string) => void, searchPath = process.env.PATH ?? ""): Promise<RedisBinary> {
  const onPath = redisServerOnPath(searchPath);
  if (onPath) return { path: onPath, source: "redis-server from PATH" };
  say("Redis: no redis-server on PATH; redis-memory-server downloads and builds one (once, a minute or two)");
  try {
    const { RedisBinary } = await import("redis-memory-server");
    const built = await RedisBinary.getPath();
    return { path: built, source: "redis-server built by redis-memory-server" };
  } catch (error) {
    const reason = (error instanceof Error ? error.message : String(error)).split("\n")[0];
    throw new Error(
      `no redis-server on PATH, and redis-memory-server could not build one (${reason}): install Redis (apt-get install redis-server, brew install redis) or point REDIS_URL at one`,
    );
  }
}

/** This start's warnings from the (appended) log, without their prefixes: why it stopped. */
function lastWarnings(logFile: string): string {
  const lines = readFileSync(logFile, "utf8").split("\n");
  const start = lines.findLastIndex((l) => l.includes("Redis is starting"));
  const warnings = lines
    .slice(Math.max(start + 1, 0))
    .filter((l) => / # /.test(l))
    .map((l) => l.replace(/^.*? # (Warning: )?/, ""));
  return warnings.slice(-2).join("; ") || "no reason in its log";
}

export interface RunningRedis {
  child: Child;
  stop(graceMs?: number): Promise<boolean>;
}

/**
 * Starts `redis-server` on the endpoint, keeping nothing on disk (it is a cache, a queue
 * and a bus: Postgres holds the data), and resolves once it answers PING.
 */
export async function startEmbeddedRedis(binary: RedisBinary, endpoint: Endpoint, dir: string, logFile: string): Promise<RunningRedis> {
  mkdirSync(dir, { recursive: true });
  const log = openSync(logFile, "a");
  // "localhost" may mean ::1 or 127.0.0.1; clients try both, and 127.0.0.1 always exists.
  const bind = endpoint.host === "::1" ? "::1" : "127.0.0.1";
  const args = ["--port", String(endpoint.port), "--bind", bind, "--save", "", "--appendonly", "no", "--dir", dir, "--daemonize", "no"];
  const child = startChild("redis", binary.path, args, { stdio: ["ignore", log, log] });
  closeSync(log);
  const stop = (graceMs = 5_000) => stopChild(child, graceMs);
  const exitedEarly = child.exited.then(({ code, signal }) => {
    throw new Error(`redis-server exited (${signal ?? `code ${code}`}) while starting: ${lastWarnings(logFile)}`);
  });
  const giveUp = new AbortController();
  try {
    await Promise.race([waitForRedis({ host: bind, port: endpoint.port }, 15_000, giveUp.signal), exitedEarly]);
  } catch (error) {
    giveUp.abort();
    await stop(1_000);
    throw error;
  }
  exitedEarly.catch(() => {}); // a later exit is the supervisor's business
  return { child, stop };
}
