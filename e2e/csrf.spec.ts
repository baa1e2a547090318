import http from "node:http";
import { expect, test } from "@playwright/test";
import { formPost, hiddenActionFields, serverAction } from "./actions";
import { BASE_URL, e2ePort } from "./env";
import { rawRequest as raw, type RawRequest, databaseNow, deleteRoomsCreatedSince } from "./raw-http";
import { db, uniqueName } from "./support";

/**
 * Cross-site request forgery: every state-changing request checks where it comes from
 * (`Origin`, else `Sec-Fetch-Site`) and, when it carries JSON, its exact media type.
 * `text/plain; charset=application/json` is a "simple" content type a foreign page may
 * send without a preflight; it used to pass a substring check and create rooms.
 */

let started: Date;
test.beforeAll(async () => {
  started = await databaseNow();
});
// The specs share one database, and some count its rooms.
test.afterAll(async () => {
  await deleteRoomsCreatedSince(started);
});

const EVIL = "https://evil.example";
/** From an address of this spec's own, so its rooms do not use up 127.0.0.1's per-IP budget. */
const rawRequest = (req: RawRequest) => raw({ from: "127.0.0.20", ...req });
const rows = async () => (await db()<{ n: number }[]>`select (select count(*) from rooms) + (select count(*) from messages) as n`)[0]?.n;

async function ownRoom(): Promise<{ id: string; cookie: string }> {
  const res = await rawRequest({ method: "POST", path: "/api/rooms", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: uniqueName("Csrf") }) });
  expect(res.status).toBe(201);
  const cookie = String(res.headers["set-cookie"]?.[0]).split(";")[0]!;
  return { id: (JSON.parse(res.text) as { room: { id: string } }).room.id, cookie };
}

test("a foreign Origin cannot write through the API: 403 on every state-changing route, nothing stored", async () => {
  const { id, cookie } = await ownRoom();
  const before = await rows();
  const json = { "content-type": "text/plain; charset=application/json", cookie };
  const cases = [
    { method: "POST", path: "/api/rooms", body: JSON.stringify({ name: uniqueName("Forged") }) },
    { method: "POST", path: `/api/rooms/by-id/${id}/messages`, body: JSON.stringify({ body: "forged" }) },
    { method: "PATCH", path: `/api/rooms/by-id/${id}`, body: JSON.stringify({ name: uniqueName("Hijacked") }) },
    { method: "DELETE", path: `/api/rooms/by-id/${id}` },
    { method: "POST", path: `/api/rooms/by-id/${id}/read` },
    { method: "PATCH", path: "/api/session", body: JSON.stringify({ name: "Forged Name" }) },
  ];
  for (const origin of [EVIL, "null", "http://127.0.0.1.evil.example", "garbage"]) {
    for (const c of cases) {
      const res = await rawRequest({ ...c, headers: { ...json, origin } });
      expect(res.status, `${c.method} ${c.path} from ${origin}`).toBe(403);
      expect(JSON.parse(res.text).error.code).toBe("cross_origin");
    }
  }
  // A browser that sends no Origin still says where the request came from.
  for (const c of cases) {
    const res = await rawRequest({ ...c, headers: { ...json, "sec-fetch-site": "cross-site" } });
    expect(res.status, `${c.method} ${c.path} cross-site`).toBe(403);
  }
  expect(await rows()).toBe(before);
  expect((await rawRequest({ path: `/api/rooms/by-id/${id}` })).status).toBe(200);
});

test("only application/json is JSON: other media types are 415, from the app's own origin too", async () => {
  const before = await rows();
  for (const type of ["text/plain; charset=application/json", "application/jsonp", "application/json-patch+json", "text/application/json", "multipart/form-data; x=application/json", "application/json; charset=latin1", ""]) {
    const res = await rawRequest({ method: "POST", path: "/api/rooms", headers: { "content-type": type, origin: BASE_URL }, body: JSON.stringify({ name: uniqueName("Typed") }) });
    expect(res.status, type).toBe(415);
  }
  expect(await rows()).toBe(before);
  for (const type of ["application/json", "Application/JSON; charset=UTF-8", 'application/json;charset="utf-8"']) {
    const res = await rawRequest({ method: "POST", path: "/api/rooms", headers: { "content-type": type, origin: BASE_URL }, body: JSON.stringify({ name: uniqueName("Typed") }) });
    expect(res.status, type).toBe(201);
  }
});

test("the app's own origin, and clients that send neither Origin nor Sec-Fetch-Site (curl, the bench), still write", async () => {
  for (const headers of [{ origin: BASE_URL }, { "sec-fetch-site": "same-origin" }, {}, { origin: BASE_URL, "sec-fetch-site": "same-origin" }] as Record<string, string>[]) {
    const res = await rawRequest({ method: "POST", path: "/api/rooms", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify({ name: uniqueName("Own") }) });
    expect(res.status, JSON.stringify(headers)).toBe(201);
  }
});

test("server actions: a hand-made cross-site post is refused with 403 and runs nothing", async () => {
  const html = (await rawRequest({ path: "/" })).text;
  const create = serverAction("createRoom");
  const name = uniqueName("Forged action");
  const fields = { ...hiddenActionFields(html, create.id), name, description: "" };
  const before = await rows();
  for (const headers of [{ origin: EVIL }, { origin: "garbage" }, { "sec-fetch-site": "cross-site" }, { "sec-fetch-site": "same-site" }] as Record<string, string>[]) {
    // As a form posts it (no JavaScript) and as the client runtime calls it (Next-Action header).
    const mpa = formPost(fields);
    const a = await rawRequest({ method: "POST", path: "/", headers: { "content-type": mpa.contentType, ...headers }, body: mpa.body });
    expect(a.status, `form post ${JSON.stringify(headers)}`).toBe(403);
    const b = await rawRequest({
      method: "POST",
      path: "/",
      headers: { "next-action": create.id, "content-type": "text/plain;charset=UTF-8", ...headers },
      body: JSON.stringify([{ status: "idle", values: { name: "", description: "" } }, { name }]),
    });
    expect(b.status, `fetch action ${JSON.stringify(headers)}`).toBe(403);
  }
  expect(await rows()).toBe(before);
});

test("a foreign page that auto-submits the create-room form in the visitor's browser creates nothing", async ({ page }) => {
  const html = (await rawRequest({ path: "/" })).text;
  const create = serverAction("createRoom");
  const name = uniqueName("Csrf browser");
  const fields = { ...hiddenActionFields(html, create.id), name, description: "" };
  const inputs = Object.entries(fields)
    .map(([k, v]) => `<input type="hidden" name="${k}" value="${v.replaceAll("&", "&amp;").replaceAll('"', "&quot;")}">`)
    .join("");
  // "localhost" is another site than 127.0.0.1 to the browser: a real cross-site post.
  const attacker = http.createServer((_req, res) => {
    res.setHeader("content-type", "text/html");
    res.end(`<form method="POST" enctype="multipart/form-data" action="${BASE_URL}/">${inputs}</form><script>document.forms[0].submit()</script>`);
  });
  const port = e2ePort(7);
  await new Promise<void>((resolve) => attacker.listen(port, "127.0.0.1", resolve));
  try {
    const answered = page.waitForResponse((r) => r.url().startsWith(BASE_URL) && r.request().method() === "POST");
    await page.goto(`http://localhost:${port}/`);
    expect((await answered).status()).toBe(403);
  } finally {
    await new Promise((resolve) => attacker.close(resolve));
  }
  const [row] = await db()<{ n: number }[]>`select count(*)::int as n from rooms where name = ${name}`;
  expect(row?.n).toBe(0);
});
