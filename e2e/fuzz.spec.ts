import http from "node:http";
import { expect, test } from "@playwright/test";
import { serverActions } from "./actions";
import { BASE_URL, E2E_PORT } from "./env";
import { rawRequest, databaseNow, deleteRoomsCreatedSince } from "./raw-http";
import { db } from "./support";

/**
 * A seeded, bounded fuzzer over every route and method: malformed ids, query strings,
 * bodies, media types and headers, against the built app. Two promises:
 *
 * - no 5xx, ever: bad input is the caller's error (4xx), whatever it is;
 * - nothing stored after a 4xx: the database's fingerprint (row counts, the newest room and
 *   conversation versions, which every write bumps) is the same after as before.
 *
 * `FUZZ_SEED` replays a run (a failure prints its seed and request); `FUZZ_REQUESTS` sizes it
 * (default 600: 25-50 s on a shared two-core machine). It speaks from 127.0.0.70 so its writes use
 * that address's rate-limit budget, not the other specs'.
 */

let started: Date;
test.beforeAll(async () => {
  started = await databaseNow();
});
// The specs share one database, and some count its rooms.
test.afterAll(async () => {
  await deleteRoomsCreatedSince(started);
});

const SEED = Number(process.env.FUZZ_SEED ?? 14);
const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 600);
const FROM = "127.0.0.70";

/** mulberry32: a small seeded PRNG, so a run can be replayed exactly. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  return { next, int, pick, chance: (p: number) => next() < p };
}

type Rand = ReturnType<typeof prng>;

interface Sent {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
}

const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;

function ids(r: Rand, valid: string): string {
  return r.pick([
    valid,
    valid,
    valid.toUpperCase(),
    valid.replace(/-/g, ""),
    `{${valid}}`,
    "00000000-0000-4000-8000-000000000000",
    "not-a-uuid",
    "%00",
    "..%2F..%2Fapi%2Fhealth",
    "%E2%80%AE",
    "x".repeat(r.pick([1, 37, 300, 5_000])),
    "%27%20or%201%3D1--",
    "-1",
    "%",
    "%C0%AF",
    encodeURIComponent("日本語"),
  ]);
}

function text(r: Rand): string {
  return r.pick([
    "",
    " ",
    "ok",
    "Fuzz room " + r.int(1e9),
    "\u202Eevil",
    "a\u0000b",
    "\uD800",
    "<script>alert(1)</script>",
    "x".repeat(r.pick([65, 2_001, 70_000])),
    "💬".repeat(r.int(40)),
    "line\nbreak",
  ]);
}

function jsonValue(r: Rand, depth = 0): unknown {
  const k = r.int(depth > 3 ? 5 : 8);
  if (k === 0) return null;
  if (k === 1) return r.int(2) === 0;
  if (k === 2) return r.pick([0, -1, 1e308, 3.5, Number.MAX_SAFE_INTEGER + 2]);
  if (k === 3 || k === 4) return text(r);
  if (k === 5) return Array.from({ length: r.int(4) }, () => jsonValue(r, depth + 1));
  const o: Record<string, unknown> = {};
  for (let i = r.int(4); i > 0; i--) o[r.pick(["name", "description", "body", "limit", "__proto__", "constructor", "extra", ""])] = jsonValue(r, depth + 1);
  return o;
}

function body(r: Rand): Buffer | undefined {
  switch (r.int(9)) {
    case 0:
      return undefined;
    case 1:
      return Buffer.from(JSON.stringify({ name: text(r), description: r.chance(0.5) ? text(r) : undefined }));
    case 2:
      return Buffer.from(JSON.stringify({ body: text(r) }));
    case 3:
      return Buffer.from(JSON.stringify(jsonValue(r)));
    case 4:
      return Buffer.from("[".repeat(r.pick([10, 5_000, 60_000])));
    case 5:
      return Buffer.from(Array.from({ length: r.int(2_000) }, () => r.int(256)));
    case 6:
      return Buffer.from(r.pick(["{", "null", "[]", "{}", '{"name":', "\xff\xfe", '{"name":"a","name":"b"}']));
    case 7:
      return Buffer.alloc(r.pick([64 * 1024 + 1, 200 * 1024]), 0x61);
    default:
      return Buffer.from(JSON.stringify({ name: text(r), body: text(r), extra: 1 }));
  }
}

function headers(r: Rand): Record<string, string> {
  const h: Record<string, string> = {};
  const type = r.pick([
    "application/json",
    "application/json",
    "application/json; charset=utf-8",
    "text/plain; charset=application/json",
    "text/plain;charset=UTF-8",
    "multipart/form-data; boundary=x",
    "application/x-www-form-urlencoded",
    "garbage",
    "",
    undefined,
  ]);
  if (type !== undefined) h["content-type"] = type;
  // Mostly the app's own origin or none, so requests get past the origin check and deeper.
  const origin = r.pick([undefined, undefined, undefined, BASE_URL, BASE_URL, "https://evil.example", "null", "garbage", " "]);
  if (origin !== undefined) h.origin = origin;
  if (r.chance(0.2)) h["sec-fetch-site"] = r.pick(["cross-site", "same-site", "same-origin", "none", "bogus"]);
  if (r.chance(0.2)) h["x-forwarded-for"] = r.pick(["127.0.0.1", "1.2.3.4, 5.6.7.8", "garbage", "::1", ""]);
  if (r.chance(0.2)) h["x-forwarded-host"] = r.pick(["evil.example", "127.0.0.1:1", ""]);
  if (r.chance(0.2)) h["last-event-id"] = r.pick(["0-0", "99999999999999-0", "garbage", "-1", "1-1-1"]);
  if (r.chance(0.1)) h["x-request-id"] = r.pick(["x", "a".repeat(500), "ok-12345678"]);
  if (r.chance(0.1)) h.range = "bytes=0-1";
  if (r.chance(0.1)) h.accept = r.pick(["text/x-component", "text/event-stream", "*/*", "application/json"]);
  if (r.chance(0.1)) h.rsc = "1";
  return h;
}

/** Percent-encodes every byte (encodeURIComponent refuses lone surrogates). */
const pct = (s: string) => [...Buffer.from(s, "utf8")].map((b) => `%${b.toString(16).padStart(2, "0")}`).join("");

function query(r: Rand): string {
  if (r.chance(0.6)) return "";
  const params = Array.from({ length: 1 + r.int(3) }, () => {
    const key = r.pick(["limit", "before", "q", "cursor", "page", "since", "x", "limit"]);
    const value = r.pick(["-1", "0", "1", "101", "abc", "9007199254740993", "%00", pct(text(r).slice(0, 300)), "", "1e3"]);
    return `${key}=${value}`;
  });
  return `?${params.join("&")}`;
}

/** Sends one request; reads at most 256 KB of the answer, and leaves an event stream at its head. */
function send(req: Sent): Promise<{ status: number }> {
  return new Promise((resolve, reject) => {
    const r = http.request({ host: "127.0.0.1", port: E2E_PORT, method: req.method, path: req.path, headers: req.headers, localAddress: FROM, agent: false }, (res) => {
      const done = () => {
        r.destroy();
        resolve({ status: res.statusCode ?? 0 });
      };
      if (String(res.headers["content-type"]).startsWith("text/event-stream")) return done();
      let size = 0;
      res.on("data", (c: Buffer) => {
        size += c.length;
        if (size > 256 * 1024) done();
      });
      res.on("end", done);
      res.on("error", done);
    });
    // A server may refuse and close while a large body is still going out (a 413 does).
    r.on("error", (e: NodeJS.ErrnoException) => (e.code === "EPIPE" || e.code === "ECONNRESET" ? resolve({ status: 413 }) : reject(e)));
    r.end(req.body);
  });
}

/** Every write bumps one of these: counts, or the newest room / conversation version. */
async function fingerprint(): Promise<string> {
  const [row] = await db()<{ f: string }[]>`
    select concat_ws(':',
      (select count(*) from rooms), (select count(*) from rooms where deleted_at is null),
      (select coalesce(max(version), 0) from rooms), (select coalesce(max(message_version), 0) from rooms),
      (select count(*) from messages), (select count(*) from messages where deleted_at is null)) as f`;
  return row!.f;
}

test("fuzz: every route and method, malformed input never gets a 5xx, and a 4xx stores nothing", async () => {
  test.setTimeout(120_000);
  const r = prng(SEED);
  // Something real to aim at: a room of the fuzzer's own, with a message, and its owner's cookie.
  const created = await rawRequest({ method: "POST", path: "/api/rooms", from: FROM, headers: { "content-type": "application/json" }, body: JSON.stringify({ name: `Fuzz target ${SEED}-${process.pid}` }) });
  expect(created.status).toBe(201);
  const cookie = String(created.headers["set-cookie"]?.[0]).split(";")[0]!;
  const roomId = (JSON.parse(created.text) as { room: { id: string } }).room.id;
  const sent = await rawRequest({ method: "POST", path: `/api/rooms/by-id/${roomId}/messages`, from: FROM, headers: { "content-type": "application/json", cookie }, body: JSON.stringify({ body: "fuzz" }) });
  const messageId = (JSON.parse(sent.text) as { message: { id: string } }).message.id;
  const actions = serverActions();

  const routes: ((r: Rand) => string)[] = [
    () => "/api/rooms",
    (r) => `/api/rooms/by-id/${ids(r, roomId)}`,
    (r) => `/api/rooms/by-id/${ids(r, roomId)}/messages`,
    (r) => `/api/rooms/by-id/${ids(r, roomId)}/messages/${ids(r, messageId)}`,
    (r) => `/api/rooms/by-id/${ids(r, roomId)}/read`,
    (r) => `/api/rooms/by-id/${ids(r, roomId)}/events`,
    () => "/api/events",
    () => "/api/session",
    () => "/api/session/unread",
    () => "/api/search",
    () => "/api/stats",
    () => "/api/health",
    () => "/api/metrics",
    () => "/bench/constant-rooms",
    () => "/bench/static-home",
    () => "/",
    () => "/rooms",
    (r) => `/rooms/${ids(r, roomId)}`,
    () => "/search",
    () => "/dashboard",
    () => "/no-such-page",
  ];

  const failures: string[] = [];
  const counts = new Map<number, number>();
  for (let i = 0; i < REQUESTS; i++) {
    let req: Sent;
    const kind = r.int(10);
    if (kind === 0 && actions.length) {
      // A server action called by hand: a JSON array of arguments (Next's fetch encoding).
      const action = r.pick(actions);
      const args = Array.from({ length: r.int(4) }, () => jsonValue(r));
      req = { method: "POST", path: r.pick(["/", `/rooms/${roomId}`, "/search"]), headers: { ...headers(r), "next-action": action.id, "content-type": "text/plain;charset=UTF-8" }, body: Buffer.from(JSON.stringify(args)) };
    } else {
      const route = r.pick(routes)(r) + query(r);
      const method = r.pick(METHODS);
      req = { method, path: route, headers: headers(r), body: method === "GET" || method === "HEAD" ? undefined : body(r) };
    }
    if (r.chance(0.5)) req.headers.cookie = r.pick([cookie, cookie, "lobby_session=forged.value", "lobby_session=", `lobby_session=${"a".repeat(5000)}`]);
    const label = `#${i} ${req.method} ${req.path} ${JSON.stringify(req.headers)} body=${req.body ? JSON.stringify(req.body.subarray(0, 120).toString("latin1")) + ` (${req.body.length} B)` : "none"}`;
    const before = await fingerprint();
    const { status } = await send(req);
    counts.set(status, (counts.get(status) ?? 0) + 1);
    if (status >= 500) failures.push(`${status} ${label}`);
    else if (status >= 400 && (await fingerprint()) !== before) failures.push(`stored after ${status}: ${label}`);
  }
  console.log(`fuzz seed ${SEED}, ${REQUESTS} requests, statuses ${JSON.stringify(Object.fromEntries([...counts].sort()))}`);
  expect(failures, `seed ${SEED}: replay with FUZZ_SEED=${SEED}`).toEqual([]);
});
