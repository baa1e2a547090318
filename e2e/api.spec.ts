import { expect, request as playwrightRequest, test, type APIRequestContext } from "@playwright/test";
import { BASE_URL, operatorAuth } from "./env";
import { db, seededRooms, uniqueName } from "./support";

/** The JSON API over real HTTP: status codes, the error shape, Server-Timing, and nothing stored on a 4xx. */

let alice: APIRequestContext;
let bob: APIRequestContext;

test.beforeAll(async () => {
  // Two visitors, each with its own cookie jar (and so its own session).
  alice = await playwrightRequest.newContext({ baseURL: BASE_URL });
  bob = await playwrightRequest.newContext({ baseURL: BASE_URL });
});
test.afterAll(async () => {
  await alice.dispose();
  await bob.dispose();
});

const roomsNamed = async (name: string) =>
  (await db()<{ n: number }[]>`select count(*)::int as n from rooms where lower(name) = lower(${name})`)[0]?.n ?? 0;

test("GET /api/rooms lists every seeded room, and the second read is a cache hit with no database time", async () => {
  const first = await alice.get("/api/rooms");
  expect(first.status()).toBe(200);
  const names = ((await first.json()) as { rooms: { name: string }[] }).rooms.map((r) => r.name);
  for (const seeded of seededRooms()) expect(names).toContain(seeded);

  const second = await alice.get("/api/rooms");
  const timing = second.headers()["server-timing"] ?? "";
  expect(timing).toContain('cache;desc="hit"');
  expect(timing).not.toMatch(/\bdb;/);
});

test("POST /api/rooms: bad input is a 400 with field errors, and nothing is stored", async () => {
  // Bodies go as raw bytes: Playwright would JSON-encode a string `data`.
  const cases: { body: string; contentType?: string; status: number; code: string }[] = [
    { body: JSON.stringify({ name: "   " }), status: 400, code: "invalid_input" },
    { body: JSON.stringify({ name: "x".repeat(65) }), status: 400, code: "invalid_input" },
    { body: JSON.stringify({ name: "ok name", extra: 1 }), status: 400, code: "invalid_input" },
    { body: JSON.stringify({ name: 42 }), status: 400, code: "invalid_input" },
    { body: "{not json", status: 400, code: "invalid_json" },
    { body: JSON.stringify({ name: "Plain text" }), contentType: "text/plain", status: 415, code: "unsupported_media_type" },
  ];
  const [before] = await db()<{ n: number }[]>`select count(*)::int as n from rooms`;
  for (const c of cases) {
    const res = await alice.post("/api/rooms", { data: Buffer.from(c.body), headers: { "content-type": c.contentType ?? "application/json" } });
    expect(res.status(), c.body).toBe(c.status);
    const body = (await res.json()) as { error: { code: string; message: string; fields?: Record<string, string> } };
    expect(body.error.code).toBe(c.code);
    expect(body.error.message.length).toBeGreaterThan(0);
    if (c.code === "invalid_input") expect(Object.keys(body.error.fields ?? {}).length).toBeGreaterThan(0);
  }
  const [after] = await db()<{ n: number }[]>`select count(*)::int as n from rooms`;
  expect(after?.n).toBe(before?.n);
});

test("create, read, rename, delete: owner rules, 404/409/400, and every read is fresh at once", async () => {
  const name = uniqueName("Api room");
  const created = await alice.post("/api/rooms", { data: { name, description: "Made over HTTP" } });
  expect(created.status()).toBe(201);
  const { room } = (await created.json()) as { room: { id: string; name: string; createdAt: string; updatedAt: string } };
  expect(room).toMatchObject({ name, id: expect.any(String), createdAt: expect.any(String), updatedAt: expect.any(String) });

  expect((await (await bob.get("/api/rooms")).json()).rooms.map((r: { name: string }) => r.name)).toContain(name);
  expect((await bob.get(`/api/rooms/by-id/${room.id}`)).status()).toBe(200);

  // Names are unique ignoring case; a duplicate stores nothing.
  const dup = await bob.post("/api/rooms", { data: { name: name.toUpperCase() } });
  expect(dup.status()).toBe(409);
  expect((await dup.json()).error.code).toBe("duplicate_name");
  expect(await roomsNamed(name)).toBe(1);

  // Only the owner renames or deletes.
  expect((await bob.patch(`/api/rooms/by-id/${room.id}`, { data: { name: "Hijacked" } })).status()).toBe(403);
  expect((await bob.delete(`/api/rooms/by-id/${room.id}`)).status()).toBe(403);
  const anonymous = await playwrightRequest.newContext({ baseURL: BASE_URL });
  expect((await anonymous.patch(`/api/rooms/by-id/${room.id}`, { data: { name: "Nobody" } })).status()).toBe(403);
  await anonymous.dispose();

  const renamed = `${name} renamed`;
  const patch = await alice.patch(`/api/rooms/by-id/${room.id}`, { data: { name: renamed } });
  expect(patch.status()).toBe(200);
  expect((await (await bob.get(`/api/rooms/by-id/${room.id}`)).json()).room.name).toBe(renamed);
  expect((await (await bob.get("/api/rooms")).json()).rooms.map((r: { name: string }) => r.name)).toContain(renamed);

  expect((await alice.patch(`/api/rooms/by-id/${room.id}`, { data: {} })).status()).toBe(400);

  expect((await alice.delete(`/api/rooms/by-id/${room.id}`)).status()).toBe(204);
  expect((await bob.get(`/api/rooms/by-id/${room.id}`)).status()).toBe(404);
  expect((await (await bob.get("/api/rooms")).json()).rooms.map((r: { name: string }) => r.name)).not.toContain(renamed);
});

test("malformed ids are 400, unknown ids 404", async () => {
  for (const method of ["get", "patch", "delete"] as const) {
    const bad = await alice[method]("/api/rooms/by-id/not-a-uuid", method === "patch" ? { data: { name: "x" } } : {});
    expect(bad.status(), method).toBe(400);
    expect((await bad.json()).error.code).toBe("invalid_param");
    const unknown = "00000000-0000-4000-8000-000000000000";
    const missing = await alice[method](`/api/rooms/by-id/${unknown}`, method === "patch" ? { data: { name: "x" } } : {});
    expect(missing.status(), method).toBe(404);
  }
});

test("health reports Postgres and Redis; metrics are Prometheus text", async () => {
  const health = await alice.get("/api/health", { headers: operatorAuth });
  expect(health.status()).toBe(200);
  expect(await health.json()).toMatchObject({ status: "ok", postgres: { up: true }, redis: { up: true, enabled: true, breaker: "closed" } });
  const metrics = await alice.get("/api/metrics", { headers: operatorAuth });
  expect(metrics.status()).toBe(200);
  expect(await metrics.text()).toMatch(/lobby_cache_requests_total\{cache="rooms-all",outcome="hit"\} \d+/);
});
