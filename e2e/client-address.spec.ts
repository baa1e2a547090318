import { randomInt } from "node:crypto";
import { expect, test } from "@playwright/test";
import { openStream, rawRequest, type OpenStream, databaseNow, deleteRoomsCreatedSince } from "./raw-http";
import { db } from "./support";

/**
 * Per-IP limits key on the address the connection comes from (TRUSTED_PROXY_HOPS=0, the
 * default: no proxy in front), never on an `X-Forwarded-For` the client wrote. The loopback
 * network is a /8, so each test speaks from addresses of its own: 127.0.0.x is "another
 * client" to the server.
 */

let started: Date;
test.beforeAll(async () => {
  started = await databaseNow();
});
// The specs share one database, and some count its rooms.
test.afterAll(async () => {
  await deleteRoomsCreatedSince(started);
});

const randomIp = () => `${randomInt(1, 224)}.${randomInt(256)}.${randomInt(256)}.${randomInt(1, 255)}`;
const STREAM_CAP = 20;

async function openMany(n: number, from: string, headers: () => Record<string, string>): Promise<OpenStream[]> {
  const streams: OpenStream[] = [];
  for (let i = 0; i < n; i++) streams.push(await openStream("/api/events", { from, headers: headers() }));
  return streams;
}

test("a random X-Forwarded-For per request does not bypass the per-IP stream cap", async () => {
  const streams = await openMany(STREAM_CAP + 5, "127.0.0.31", () => ({ "x-forwarded-for": randomIp() }));
  try {
    expect(streams.slice(0, STREAM_CAP).map((s) => s.status)).toEqual(Array(STREAM_CAP).fill(200));
    expect(streams.slice(STREAM_CAP).map((s) => s.status)).toEqual(Array(5).fill(429));
  } finally {
    for (const s of streams) s.close();
  }
});

test("streams sent as X-Forwarded-For: 127.0.0.32 from elsewhere do not lock out the client at 127.0.0.32", async () => {
  const spoofed = await openMany(STREAM_CAP, "127.0.0.33", () => ({ "x-forwarded-for": "127.0.0.32" }));
  try {
    expect(spoofed.every((s) => s.status === 200)).toBe(true);
    const real = await openStream("/api/events", { from: "127.0.0.32" });
    expect(real.status).toBe(200);
    real.close();
  } finally {
    for (const s of spoofed) s.close();
  }
});

test("a random X-Forwarded-For per request does not bypass the per-IP room-creation limit", async () => {
  // 60 rooms per 10 minutes per address; without a cookie every request is a new session,
  // so only the per-IP limit stands between a script and a flood of rooms.
  const statuses: number[] = [];
  const cookies: string[] = [];
  for (let i = 0; i < 62; i++) {
    const res = await rawRequest({
      method: "POST",
      path: "/api/rooms",
      from: "127.0.0.34",
      headers: { "content-type": "application/json", "x-forwarded-for": randomIp() },
      body: JSON.stringify({ name: `Flood ${process.pid} ${i}` }),
    });
    statuses.push(res.status);
    if (res.status === 201) cookies.push(String(res.headers["set-cookie"]?.[0]).split(";")[0]! + `|${(JSON.parse(res.text) as { room: { id: string } }).room.id}`);
  }
  // Leave the shared e2e database as the other specs expect it.
  for (const c of cookies) {
    const [cookie, id] = c.split("|");
    await rawRequest({ method: "DELETE", path: `/api/rooms/by-id/${id}`, from: "127.0.0.34", headers: { cookie: cookie! } });
  }
  expect(statuses.filter((s) => s === 201).length).toBe(60);
  expect(statuses.slice(60)).toEqual([429, 429]);
  const [left] = await db()<{ n: number }[]>`select count(*)::int as n from rooms where name like ${`Flood ${process.pid} %`} and deleted_at is null`;
  expect(left?.n).toBe(0);
});
