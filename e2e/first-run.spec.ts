import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect, test } from "@playwright/test";
import { generateRooms } from "../scripts/seed-data";
import { createNamespace, fetchIn, namespacePids, netnsUnavailable, removeNamespace } from "./netns";

/*
 * "Node.js alone is enough", proved the hard way: `npm run app` from this checkout inside
 * a network namespace where nothing listens on 127.0.0.1, with an environment as bare as
 * `env -i` (no locale). It must start an embedded Postgres and Redis, migrate and seed,
 * serve the seeded home page with Redis healthy and the worker up, keep a created room
 * across a SIGTERM and a restart, and leave no process behind after SIGTERM or Ctrl-C.
 *
 * The build is the slow part: the e2e web server ran `npm run build:if-stale` for this
 * checkout's files already, so `npm run app` finds it current and skips its own.
 */

const unavailable = netnsUnavailable();
test.skip(unavailable !== null, `first run in a network namespace: ${unavailable}`);
test.describe.configure({ mode: "serial" });

const STOP_LIMIT_MS = 15_000;
const METRICS_TOKEN = "first-run-operator-token-0123456789";
const PORT = 3000; // the default: nothing else is in this namespace

interface AppRun {
  child: ChildProcess;
  output: () => string;
  readyMs: number;
}

let ns = "";
let dataDir = "";
const transcript: string[] = [];

test.beforeAll(() => {
  ns = createNamespace("app");
  dataDir = mkdtempSync(path.join(tmpdir(), "lobby-first-run-"));
  // mkdtemp makes it 0700; a project folder is 0755, which root's `postgres` user can reach.
  chmodSync(dataDir, 0o755);
});

test.afterAll(async ({}, testInfo) => {
  await testInfo.attach("npm-run-app.log", { body: transcript.join("\n"), contentType: "text/plain" });
  removeNamespace(ns);
  rmSync(dataDir, { recursive: true, force: true });
});

/** `npm run app` inside the namespace; resolves when it prints that it is ready. */
async function startApp(label: string): Promise<AppRun> {
  const started = Date.now();
  // `ip netns exec` execs npm, so the child's pid is npm's; its own process group, so a
  // Ctrl-C can be sent to the group as a terminal would.
  const child = spawn("ip", ["netns", "exec", ns, "npm", "run", "app"], {
    cwd: process.cwd(),
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    // As bare as `env -i`: no locale, no NODE_ENV.
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: process.env.HOME ?? "/root",
      // The defaults, spelled out so a developer's .env cannot point elsewhere.
      DATABASE_URL: "postgres://postgres@127.0.0.1:5432/lobby",
      REDIS_URL: "redis://127.0.0.1:6379",
      LOBBY_EMBEDDED: "true",
      LOBBY_DATA_DIR: dataDir,
      PORT: String(PORT),
      NEXT_TELEMETRY_DISABLED: "1",
      // Production serves /api/health's detail (Redis, the worker) to operators only.
      METRICS_TOKEN,
    } as Partial<NodeJS.ProcessEnv> as NodeJS.ProcessEnv,
  });
  let out = "";
  const collect = (chunk: Buffer) => {
    out += chunk.toString("utf8");
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const ready = await new Promise<boolean>((resolve) => {
    const timer = setInterval(() => {
      if (out.includes("Lobby is ready at")) resolve(true);
      if (child.exitCode !== null || child.signalCode !== null) resolve(false);
    }, 100);
    // Room for a build when the e2e server's is not current (a local run with a reused server).
    setTimeout(() => resolve(false), 420_000).unref();
    void new Promise((r) => child.once("exit", r)).then(() => setTimeout(() => clearInterval(timer), 200));
  });
  transcript.push(`--- ${label} ---`, out);
  expect(ready, `npm run app did not get ready:\n${out}`).toBe(true);
  return { child, output: () => out, readyMs: Date.now() - started };
}

/** Signals, then waits until the namespace holds no process at all; returns how long that took. */
async function stopApp(run: AppRun, how: "SIGTERM to npm" | "Ctrl-C to the group"): Promise<number> {
  const pid = run.child.pid!;
  const started = Date.now();
  if (how === "SIGTERM to npm") process.kill(pid, "SIGTERM");
  else process.kill(-pid, "SIGINT");
  while (namespacePids(ns).length > 0 && Date.now() - started < STOP_LIMIT_MS + 5_000) {
    await new Promise((r) => setTimeout(r, 100));
  }
  const tookMs = Date.now() - started;
  transcript.push(`--- stopped (${how}) after ${tookMs} ms ---`, run.output());
  expect(namespacePids(ns), `processes left in the namespace ${tookMs} ms after ${how}`).toEqual([]);
  expect(tookMs).toBeLessThan(STOP_LIMIT_MS);
  return tookMs;
}

const url = (p: string) => `http://127.0.0.1:${PORT}${p}`;

test("npm run app on a machine with nothing on 127.0.0.1: embedded Postgres and Redis, seeded, survives a restart", async ({}, testInfo) => {
  test.setTimeout(900_000);
  const roomName = `Café Zürich 東京 ${process.pid}`;

  const first = await startApp("first run");
  expect(first.output()).toContain(`Postgres: embedded, data in ${path.join(dataDir, "postgres")}`);
  expect(first.output()).toMatch(/Redis: embedded, redis-server (from PATH|built by redis-memory-server) on port 6379/);

  // The seeded home page, server-rendered.
  const home = fetchIn(ns, url("/"));
  expect(home.status).toBe(200);
  const seeded = [...generateRooms(50, 42)].map((r) => r.name).filter((n) => /^[A-Za-z0-9 ]+$/.test(n));
  expect(seeded.length).toBeGreaterThan(0);
  for (const name of seeded.slice(0, 3)) expect(home.body).toContain(name);

  // Redis healthy, and the worker's heartbeat seen through it.
  await expect
    .poll(() => JSON.parse(fetchIn(ns, url("/api/health"), { authorization: `Bearer ${METRICS_TOKEN}` }).body) as { status: string; redis: { up: boolean }; worker: { up: boolean } }, {
      timeout: 60_000,
      intervals: [500],
    })
    .toMatchObject({ status: "ok", redis: { up: true }, worker: { up: true } });

  // A room made through the API, with text that a SQL_ASCII cluster would mangle.
  const created = fetchIn(ns, url("/api/rooms"), { method: "POST", json: { name: roomName, description: "made on the first run" } });
  expect(created.status, created.body).toBe(201);
  // The migrations' tsvector search works on the embedded server.
  const found = fetchIn(ns, url(`/api/search?q=${encodeURIComponent("Zürich 東京")}`));
  expect(found.status, found.body).toBe(200);
  expect(found.body).toContain(roomName);

  const firstStopMs = await stopApp(first, "SIGTERM to npm");

  const second = await startApp("second run");
  expect(second.output()).toContain("Postgres: embedded");
  expect(second.output()).toContain("0 rooms inserted, 50 already existed");
  const rooms = JSON.parse(fetchIn(ns, url("/api/rooms")).body) as { rooms: { name: string }[] };
  expect(rooms.rooms.map((r) => r.name)).toContain(roomName);
  expect(rooms.rooms.length).toBe(51);
  const secondStopMs = await stopApp(second, "Ctrl-C to the group");

  const timings = `ready: first ${first.readyMs} ms, second ${second.readyMs} ms; stopped: ${firstStopMs} ms (SIGTERM), ${secondStopMs} ms (Ctrl-C)`;
  testInfo.annotations.push({ type: "timings", description: timings });
  console.log(`first run in a network namespace: ${timings}`);
});
