import { spawn, type ChildProcess } from "node:child_process";
import { expect, request as playwrightRequest, test, type APIRequestContext } from "@playwright/test";
import postgres from "postgres";
import { createKeys } from "../lib/cache/keys";
import { runMigrations } from "../lib/db/migrate";
import { startRedisCluster, type LocalRedisCluster } from "../scripts/local-services/redis-cluster";
import { E2E_DATABASE_URL, METRICS_TOKEN, appEnv, e2ePort, operatorAuth } from "./env";
import { serverOn, uniqueName } from "./support";

/*
 * The product on a Redis Cluster (3 masters, 3 replicas of this machine's redis-server,
 * started for this spec) with REDIS_URL pointing nowhere: two web instances and a worker on
 * a database of their own, so nothing the other specs cached is involved.
 */

test.describe.configure({ mode: "serial" });

const dbUrl = (() => {
  const u = new URL(E2E_DATABASE_URL);
  u.pathname = `${u.pathname}_cluster`;
  return u.toString();
})();
const prefix = `${appEnv.REDIS_KEY_PREFIX}cluster:`;
const keys = createKeys(prefix);

let cluster: LocalRedisCluster;
/** Filled in once the cluster runs; the servers read it when they start. */
const env: Record<string, string> = {};
let worker: ChildProcess | undefined;
let workerLog = "";
const a = serverOn(e2ePort(7), env);
const b = serverOn(e2ePort(8), env);
let apiA: APIRequestContext;
let apiB: APIRequestContext;

async function recreateDatabase() {
  const admin = new URL(dbUrl);
  admin.pathname = "/postgres";
  const name = new URL(dbUrl).pathname.slice(1);
  if (!/^lobby_e2e\w*_cluster$/.test(name)) throw new Error(`refusing to drop "${name}"`);
  const sql = postgres(admin.toString(), { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe(`drop database if exists "${name}" with (force)`);
    await sql.unsafe(`create database "${name}"`);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** `npm run reconcile` with the app's environment: enqueues a forced run and waits for the worker's report. */
function reconcileNow(): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", "scripts/reconcile.ts"], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d));
    child.stderr.on("data", (d: Buffer) => (out += d));
    child.on("exit", (code) => resolve({ code, out }));
  });
}

/** A new visitor each time (the per-visitor creation limit). */
async function createRoom(baseURL: string, name: string): Promise<string> {
  const api = await playwrightRequest.newContext({ baseURL });
  try {
    const created = await api.post("/api/rooms", { data: { name } });
    expect(created.status()).toBe(201);
    return ((await created.json()) as { room: { id: string } }).room.id;
  } finally {
    await api.dispose();
  }
}

const names = async (api: APIRequestContext) => ((await (await api.get("/api/rooms")).json()) as { rooms: { name: string }[] }).rooms.map((r) => r.name);

test.beforeAll(async () => {
  test.setTimeout(180_000);
  cluster = await startRedisCluster();
  await recreateDatabase();
  await runMigrations(dbUrl);
  Object.assign(env, { ...appEnv, DATABASE_URL: dbUrl, REDIS_URL: "redis://127.0.0.1:9", REDIS_CLUSTER_NODES: cluster.nodes, REDIS_KEY_PREFIX: prefix });
  worker = spawn(process.execPath, ["--import", "tsx", "worker/index.ts"], {
    env: { ...process.env, ...env, WORKER_METRICS_PORT: "0", ENABLE_ROOM_RECONCILIATION: "true", RECONCILE_INTERVAL_MS: "600000" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  worker.stderr?.on("data", (d: Buffer) => (workerLog = (workerLog + d).slice(-10_000)));
  await Promise.all([a.start(), b.start()]);
  apiA = await playwrightRequest.newContext({ baseURL: a.url });
  apiB = await playwrightRequest.newContext({ baseURL: b.url });
});

test.afterAll(async () => {
  await apiA?.dispose();
  await apiB?.dispose();
  if (worker && worker.exitCode === null) {
    const exited = new Promise((r) => worker!.once("exit", r));
    worker.kill("SIGTERM");
    await exited;
  }
  await Promise.all([a.stop(), b.stop()]);
  await cluster?.stop();
});

test("reads hit the cache on the cluster, keys spread over the masters, a write is on the other instance's next read", async ({ page }) => {
  const ids: string[] = [];
  for (let i = 0; i < 6; i++) ids.push(await createRoom(a.url, uniqueName(`Cluster room ${i}`)));
  for (const id of ids) for (const api of [apiA, apiB]) expect((await api.get(`/api/rooms/by-id/${id}`)).status()).toBe(200);
  await names(apiB);

  // The second read of the list on B is served by the cache (Server-Timing names the source).
  const timing = (await apiB.get("/api/rooms")).headers()["server-timing"] ?? "";
  expect(timing).toContain('cache;desc="hit"');
  const owners = new Set(await Promise.all([keys.roomsAll, ...ids.map((id) => keys.room(id))].map(async (k) => (await cluster.masterOf(k)).port)));
  expect(owners.size).toBeGreaterThan(1);

  const renamed = uniqueName("Renamed on A");
  const mine = await playwrightRequest.newContext({ baseURL: a.url });
  try {
    const created = await mine.post("/api/rooms", { data: { name: uniqueName("Mine") } });
    const { room } = (await created.json()) as { room: { id: string } };
    expect((await (await apiB.get(`/api/rooms/by-id/${room.id}`)).json()).room.id).toBe(room.id); // cached on B
    expect((await mine.patch(`/api/rooms/by-id/${room.id}`, { data: { name: renamed } })).status()).toBe(200);
    expect((await (await apiB.get(`/api/rooms/by-id/${room.id}`)).json()).room.name).toBe(renamed);
    expect(await names(apiB)).toContain(renamed);
    await page.goto(`${b.url}/`);
    await expect(page.getByRole("link", { name: renamed, exact: true })).toBeVisible();
  } finally {
    await mine.dispose();
  }
});

test("a Server-Sent Events stream on one instance hears a room created through the other", async () => {
  const abort = new AbortController();
  const response = await fetch(`${b.url}/api/events`, { headers: { accept: "text/event-stream" }, signal: abort.signal });
  expect(response.status).toBe(200);
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  const until = async (needle: string) => {
    while (!text.includes(needle)) {
      const { value, done } = await reader.read();
      if (done) throw new Error("stream ended");
      text += decoder.decode(value, { stream: true });
    }
  };
  try {
    await until("event: ready");
    const name = uniqueName("Live on the cluster");
    await createRoom(a.url, name);
    await until(name);
    expect(text).toContain("event: room.created");
  } finally {
    abort.abort();
  }
});

test("the worker on the cluster repairs an out-of-band SQL change", async () => {
  const name = uniqueName("Before SQL");
  const id = await createRoom(a.url, name);
  expect((await (await apiB.get(`/api/rooms/by-id/${id}`)).json()).room.name).toBe(name); // cached
  const sql = postgres(dbUrl, { max: 1, onnotice: () => {} });
  const changed = uniqueName("Changed by SQL");
  try {
    await sql`update rooms set name = ${changed}, version = nextval('room_version_seq') where id = ${id}`;
  } finally {
    await sql.end({ timeout: 5 });
  }
  expect((await (await apiB.get(`/api/rooms/by-id/${id}`)).json()).room.name).toBe(name); // the cache does not know
  const run = await reconcileNow();
  expect(run.code, `${run.out}\nworker: ${workerLog}`).toBe(0);
  expect(JSON.parse(run.out.trim().split("\n").pop()!)).toMatchObject({ dryRun: false });
  expect((await (await apiB.get(`/api/rooms/by-id/${id}`)).json()).room.name).toBe(changed);
});

test("/api/health and the operators' dashboard show every node of the cluster", async ({ browser }) => {
  const health = (await (await apiA.get("/api/health", { headers: operatorAuth })).json()) as { status: string; redis: { topology: string; nodes: { role: string; up: boolean }[] } };
  expect(health.status).toBe("ok");
  expect(health.redis.topology).toBe("cluster");
  expect(health.redis.nodes.filter((n) => n.role === "master" && n.up)).toHaveLength(3);
  expect(health.redis.nodes.filter((n) => n.role === "replica" && n.up)).toHaveLength(3);
  const context = await browser.newContext({ javaScriptEnabled: false, httpCredentials: { username: "ops", password: METRICS_TOKEN } });
  try {
    const page = await context.newPage();
    expect((await page.goto(`${b.url}/dashboard`))?.status()).toBe(200);
    await expect(page.getByTestId("tile-redis")).toContainText("cluster of 6 nodes");
    await expect(page.getByTestId("tile-redis-node")).toHaveCount(6);
    await expect(page.getByTestId("tile-queue")).not.toContainText("Unavailable");
  } finally {
    await context.close();
  }
});

test("killing the master of rooms:all's slot costs no failed request; afterwards writes are seen fresh everywhere", async () => {
  test.setTimeout(120_000);
  const master = await cluster.masterOf(keys.roomsAll);
  const replica = await cluster.replicaOf(master.port);
  let running = true;
  const statuses: number[] = [];
  const load = (async () => {
    while (running) {
      const responses = await Promise.all([apiA.get("/api/rooms"), apiB.get("/api/rooms"), apiB.get("/")]);
      statuses.push(...responses.map((r) => r.status()));
    }
  })();
  await cluster.kill(master.port);
  await expect(async () => expect((await cluster.masterOf(keys.roomsAll)).port).toBe(replica.port)).toPass({ timeout: 60_000, intervals: [250] });
  await cluster.waitHealthy(replica.port);
  const name = uniqueName("After failover");
  await createRoom(a.url, name);
  expect(await names(apiB)).toContain(name);
  expect(await names(apiA)).toContain(name);
  running = false;
  await load;
  expect(statuses.length).toBeGreaterThan(0);
  expect(statuses.filter((s) => s !== 200)).toEqual([]);
  // And the list is served from the cache again.
  await expect(async () => expect((await apiB.get("/api/rooms")).headers()["server-timing"] ?? "").toContain('cache;desc="hit"')).toPass({ timeout: 30_000, intervals: [250] });
});
