/*
 * `npm run app`: the whole product from a fresh clone (after `npm ci`), on a machine with
 * Node.js alone or with Postgres and Redis of its own.
 *
 * 1. Postgres and Redis: the configured ones (DATABASE_URL, REDIS_URL) when they answer;
 *    when one is local (127.0.0.1, localhost) and nothing answers, an embedded one on its
 *    address (scripts/local-services); one line says which. LOBBY_EMBEDDED=false: never.
 * 2. Migrations, then 50 seeded rooms (deterministic names: a second run inserts none).
 * 3. The production build, unless the one there is current (scripts/build-if-stale.ts),
 *    from the start, alongside 1 and 2.
 * 4. The web server and the reconciliation worker, until Ctrl-C or SIGTERM: then web and
 *    worker stop first, the services they used after, within 15 s, and nothing is left.
 *
 * Every process started here runs in a process group of its own and is stopped by this
 * one, so the order holds even though a terminal's Ctrl-C reaches only this group.
 */
import "./load-env";
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describeTcp } from "@/lib/cache/redis-target";
import { runMigrations } from "@/lib/db/migrate";
import { EnvError, env, type Env } from "@/lib/env";
import { buildIfStale } from "./build-if-stale";
import { startChild, stopChild, type Child } from "./local-services/child";
import { describeEndpoint } from "./local-services/endpoint";
import { ProcessRecord } from "./local-services/leftovers";
import { ServiceError, resolvePostgres, resolveRedis, type Service } from "./local-services/resolve";

const say = (line: string) => console.log(line);
/** Web and worker get this long to stop after SIGTERM, the services after them the rest of the 15 s. */
const APP_GRACE_MS = 8_000;
const SERVICE_GRACE_MS = 5_000;

const services: Service[] = [];
const running: Child[] = [];
let stopping: Promise<never> | undefined;
/** What this run started, on disk, for the next run should this one be SIGKILLed. */
let record: ProcessRecord | undefined;

/** Stops everything started, in order, then exits with `code`. Safe to call more than once. */
function shutdown(code: number, why?: string): Promise<never> {
  stopping ??= (async () => {
    if (why) say(why);
    await Promise.all(running.map((child) => stopChild(child, APP_GRACE_MS)));
    await Promise.all(services.map((s) => s.stop?.(SERVICE_GRACE_MS)));
    record?.clear();
    process.exit(code);
  })();
  return stopping;
}

for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143], ["SIGHUP", 129]] as const) {
  process.on(signal, () => void shutdown(code, stopping ? undefined : `${signal}: stopping everything npm run app started`));
}
// npm passes a SIGTERM to its child only: the script `exec`s this process so that child is
// this one. Should a shell stand between them after all, its death (on that SIGTERM, say)
// leaves this process orphaned and signal-less: a new parent pid means "stop".
const parentPid = process.ppid;
setInterval(() => {
  if (process.ppid !== parentPid) void shutdown(143, stopping ? undefined : "npm run app's parent is gone: stopping everything it started");
}, 500).unref();

/** SESSION_SECRET when set; else one made on the first run and kept with the data. */
function sessionSecret(config: Env): string {
  if (config.sessionSecretSet) return config.sessionSecret;
  const file = path.join(path.resolve(config.dataDir), "session-secret");
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  mkdirSync(path.dirname(file), { recursive: true });
  const secret = randomBytes(32).toString("base64url");
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return secret;
}

/** A step's process (seed, build): stopped with the rest while it runs. */
function track(child: Child): Child {
  running.push(child);
  record?.add(child.name, child.process.pid);
  void child.exited.then(() => {
    const at = running.indexOf(child);
    if (at >= 0) running.splice(at, 1);
  });
  // Started just as a stop began: the stop has its list already.
  if (stopping) void stopChild(child, APP_GRACE_MS);
  return child;
}

/** Web and worker: one that ends on its own ends the app, so nothing runs half. */
function supervise(child: Child): Child {
  track(child);
  void child.exited.then(({ code, signal }) => {
    if (!stopping) void shutdown(1, `${child.name} exited (${signal ?? `code ${code}`}): stopping everything npm run app started`);
  });
  return child;
}

/** Resolves once the web server answers (any status): it is listening and rendering. */
async function waitForWeb(port: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !stopping) {
    try {
      await fetch(`http://127.0.0.1:${port}/api/health`, { signal: AbortSignal.timeout(5_000) });
      return true;
    } catch {
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  return false;
}

async function main(): Promise<void> {
  const started = performance.now();
  let config: Env;
  try {
    config = env();
  } catch (error) {
    console.error(error instanceof EnvError ? error.message : String(error));
    process.exit(1);
  }
  if (!config.redisTcp) {
    throw new ServiceError("Redis: the worker needs Redis over TCP (BullMQ), and only the REST variables are set: set REDIS_URL or REDIS_CLUSTER_NODES too");
  }
  const options = { embedded: config.embedded, dataDir: path.resolve(config.dataDir), say };
  record = new ProcessRecord(options.dataDir);
  const leftovers = await record.stopLeftovers();
  if (leftovers.length) say(`stopped what an earlier npm run app, killed, left running: ${leftovers.join(", ")}`);

  // The build needs neither service (it renders no data): it runs while they start.
  const building = buildIfStale(track);
  building.catch(() => {}); // awaited below; a failure before then must not go unhandled

  const pg = await resolvePostgres(config.databaseUrl, options);
  services.push(pg);
  record.add("postgres", pg.pid);
  say(pg.line);
  // A cluster is the operator's own: used as configured (REDIS_CLUSTER_NODES passes on to
  // the children), never started here.
  let redisUrl: string | undefined;
  if (config.redisTcp.driver === "cluster") say(`Redis: ${describeTcp(config.redisTcp)} (REDIS_CLUSTER_NODES)`);
  else {
    const redis = await resolveRedis(config.redisTcp.url, options);
    services.push(redis);
    record.add("redis", redis.pid);
    say(redis.line);
    redisUrl = redis.url;
  }

  try {
    await runMigrations(pg.url);
  } catch (error) {
    throw new ServiceError(`Postgres at ${describeEndpoint(pg.endpoint)} (DATABASE_URL): ${error instanceof Error ? error.message : String(error)}`);
  }

  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: "production",
    DATABASE_URL: pg.url,
    ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
    SESSION_SECRET: sessionSecret(config),
    PORT: String(config.port),
  };
  if (stopping) return;
  const seed = track(
    startChild("seed", process.execPath, ["--import", "tsx", "scripts/seed.ts", "--rooms", "50"], { stdio: ["ignore", "inherit", "inherit"], env: childEnv }),
  );
  if ((await seed.exited).code !== 0) throw new ServiceError("seeding failed (above)");

  if ((await building) === "current") say("build: current (nothing changed since the last one)");
  if (stopping) return;

  supervise(startChild("worker", process.execPath, ["--enable-source-maps", "dist/worker.mjs"], { stdio: ["ignore", "inherit", "inherit"], env: childEnv }));
  // One node process (not `npx next start`), so stopping it frees the port.
  supervise(startChild("web", process.execPath, ["node_modules/next/dist/bin/next", "start"], { stdio: ["ignore", "inherit", "inherit"], env: childEnv }));
  if (await waitForWeb(config.port, 120_000)) {
    say(`Lobby is ready at http://localhost:${config.port} (${((performance.now() - started) / 1000).toFixed(1)} s). Ctrl-C stops it and everything npm run app started.`);
  } else if (!stopping) {
    await shutdown(1, `the web server did not answer on port ${config.port} within 120 s: stopping everything`);
  }
}

main().catch((error: unknown) => {
  // Known failures are one line that says what to do; anything else keeps its stack.
  const line = error instanceof ServiceError || (error instanceof Error && error.message.startsWith("npm run ")) ? error.message : error;
  if (!stopping) console.error(line);
  void shutdown(1);
});
