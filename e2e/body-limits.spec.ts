import { expect, test } from "@playwright/test";
import { rawRequest, streamBody, databaseNow, deleteRoomsCreatedSince } from "./raw-http";
import { db, uniqueName } from "./support";

/**
 * Bodies are limited while they are read (64 KB of JSON), not after: a 20 MB upload is
 * answered 413 long before its last byte, whether it declares its length or streams it
 * chunked; `POST .../read` takes no body at all. The measure is how much the client had
 * sent when the answer came: a server that reads the whole body first cannot answer
 * before the last byte. The 413 closes the connection (the server stops reading), so a
 * client still sending may see the connection closed before it reads the 413: both count,
 * as long as they come early.
 */

let started: Date;
test.beforeAll(async () => {
  started = await databaseNow();
});
// The specs share one database, and some count its rooms.
test.afterAll(async () => {
  await deleteRoomsCreatedSince(started);
});

const MB = 1024 * 1024;
const TOTAL = 20 * MB;
/** Far below 20 MB, far above 64 KB plus what the kernel's socket buffers hold on loopback. */
const EARLY = 8 * MB;

async function room(): Promise<{ id: string; cookie: string; messageId: string }> {
  const created = await rawRequest({ method: "POST", path: "/api/rooms", from: "127.0.0.40", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: uniqueName("Bodies") }) });
  expect(created.status).toBe(201);
  const cookie = String(created.headers["set-cookie"]?.[0]).split(";")[0]!;
  const id = (JSON.parse(created.text) as { room: { id: string } }).room.id;
  const sent = await rawRequest({ method: "POST", path: `/api/rooms/by-id/${id}/messages`, from: "127.0.0.40", headers: { "content-type": "application/json", cookie }, body: JSON.stringify({ body: "hi" }) });
  expect(sent.status).toBe(201);
  return { id, cookie, messageId: (JSON.parse(sent.text) as { message: { id: string } }).message.id };
}

test("a 20 MB body is refused with 413 before it is sent, on every route that reads one", async () => {
  const { id, cookie, messageId } = await room();
  const routes = [
    { method: "POST", path: "/api/rooms" },
    { method: "PATCH", path: `/api/rooms/by-id/${id}` },
    { method: "POST", path: `/api/rooms/by-id/${id}/messages` },
    { method: "PATCH", path: `/api/rooms/by-id/${id}/messages/${messageId}` },
    { method: "PATCH", path: "/api/session" },
    { method: "POST", path: `/api/rooms/by-id/${id}/read` },
  ];
  const [before] = await db()<{ n: number }[]>`select (select count(*) from rooms) + (select count(*) from messages) as n`;
  for (const r of routes) {
    for (const declareLength of [true, false]) {
      const label = `${r.method} ${r.path} ${declareLength ? "Content-Length" : "chunked"}`;
      const res = await streamBody({ ...r, total: TOTAL, declareLength, headers: { cookie } });
      expect(res.bytesWritten, label).toBeLessThan(EARLY);
      if (!res.closed) {
        expect(res.status, label).toBe(413);
        expect(JSON.parse(res.text).error.code, label).toMatch(/^(too_large|body_not_allowed)$/);
      }
    }
  }
  const [after] = await db()<{ n: number }[]>`select (select count(*) from rooms) + (select count(*) from messages) as n`;
  expect(after?.n).toBe(before?.n);
});

test("a body over the limit that the client has finished sending gets a 413 to read", async () => {
  const { id, cookie } = await room();
  for (const size of [64 * 1024 + 1, 512 * 1024]) {
    const res = await rawRequest({ method: "POST", path: `/api/rooms/by-id/${id}/messages`, from: "127.0.0.40", headers: { cookie, "content-type": "application/json" }, body: Buffer.alloc(size, 0x61) });
    expect(res.status, String(size)).toBe(413);
    expect(JSON.parse(res.text).error.code).toBe("too_large");
  }
});

test("POST .../read takes no body; bodies up to 64 KB still work elsewhere", async () => {
  const { id, cookie } = await room();
  const read = await rawRequest({ method: "POST", path: `/api/rooms/by-id/${id}/read`, headers: { cookie, "content-type": "application/json" }, body: "{}" });
  expect(read.status).toBe(413);
  expect((await rawRequest({ method: "POST", path: `/api/rooms/by-id/${id}/read`, headers: { cookie } })).status).toBe(204);
  // A body just under the limit is read and judged on its content (a too-long message: 400).
  const big = JSON.stringify({ body: "x".repeat(60 * 1024) });
  const res = await rawRequest({ method: "POST", path: `/api/rooms/by-id/${id}/messages`, from: "127.0.0.40", headers: { cookie, "content-type": "application/json" }, body: big });
  expect(res.status).toBe(400);
  expect(JSON.parse(res.text).error.code).toBe("invalid_input");
});
