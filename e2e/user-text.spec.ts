import { expect, test } from "@playwright/test";
import { encodeSession, SESSION_COOKIE } from "../lib/session/session";
import { BASE_URL, appEnv } from "./env";
import { rawRequest, databaseNow, deleteRoomsCreatedSince } from "./raw-http";
import { db, uniqueName } from "./support";

/**
 * Bidi controls and invisible characters: names refuse them (they identify and sit inline
 * among other text); messages and descriptions keep them (mixed-direction writing uses the
 * marks) and every piece of user text is rendered isolated, so an override in one cannot
 * turn around the text after it: the author, the time, the next name in a list. Isolated
 * means `dir="auto"` on the element holding the text (the browser then applies
 * `unicode-bidi: isolate`), or a `<bdi>` where there is no element of its own.
 */

let started: Date;
test.beforeAll(async () => {
  started = await databaseNow();
});
// The specs share one database, and some count its rooms.
test.afterAll(async () => {
  await deleteRoomsCreatedSince(started);
});

const RLO = "\u202E";

test("names with bidi controls or invisible characters are refused with 400, and nothing is stored", async () => {
  const [before] = await db()<{ n: number }[]>`select count(*)::int as n from rooms`;
  for (const name of [`Invoice ${RLO}fdp.exe`, "Gen\u200Beral", "Lobby\u2066x\u2069"]) {
    const res = await rawRequest({ method: "POST", path: "/api/rooms", from: "127.0.0.60", headers: { "content-type": "application/json" }, body: JSON.stringify({ name }) });
    expect(res.status, JSON.stringify(name)).toBe(400);
    expect(JSON.parse(res.text).error.fields.name).toMatch(/invisible or text-direction/);
    const session = await rawRequest({ method: "PATCH", path: "/api/session", headers: { "content-type": "application/json" }, body: JSON.stringify({ name }) });
    expect(session.status, JSON.stringify(name)).toBe(400);
  }
  const [after] = await db()<{ n: number }[]>`select count(*)::int as n from rooms`;
  expect(after?.n).toBe(before?.n);
});

test("user text is rendered isolated: an override in a message or in an older name reorders nothing around it", async ({ page, context }) => {
  const created = await rawRequest({ method: "POST", path: "/api/rooms", from: "127.0.0.60", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: uniqueName("Isolated"), description: `About ${RLO}sdrawkcab` }) });
  expect(created.status).toBe(201);
  const room = (JSON.parse(created.text) as { room: { id: string } }).room;
  // A session cookie signed before names were checked: its name holds an override.
  const oldName = `Mallory${RLO}`;
  const cookie = encodeSession(appEnv.SESSION_SECRET!, { id: "e2e-old-name-session-01", name: oldName });
  const sent = await rawRequest({
    method: "POST",
    path: `/api/rooms/by-id/${room.id}/messages`,
    from: "127.0.0.60",
    headers: { "content-type": "application/json", cookie: `${SESSION_COOKIE}=${cookie}` },
    body: JSON.stringify({ body: `look ${RLO}at this` }),
  });
  expect(sent.status).toBe(201);

  await context.addCookies([{ name: SESSION_COOKIE, value: cookie, url: BASE_URL }]);
  await page.goto(`/rooms/${room.id}`);
  const message = page.getByRole("listitem").filter({ hasText: "at this" });
  const author = message.locator(".message-author");
  await expect(author).toHaveText(oldName);
  const isolation = (el: Element) => [el.tagName, getComputedStyle(el).unicodeBidi, el.getAttribute("dir")];
  expect(await author.evaluate(isolation)).toEqual(["SPAN", "isolate", "auto"]);
  // Block text gets its direction from its own content and is its own bidi paragraph.
  expect(await message.locator(".message-body").evaluate(isolation)).toEqual(["P", "isolate", "auto"]);
  expect(await page.locator(".chat-description").evaluate(isolation)).toEqual(["P", "isolate", "auto"]);
  // The time after the author is still to its right: the override stops at the name.
  const nameBox = (await author.boundingBox())!;
  const timeBox = (await message.locator(".message-meta time").first().boundingBox())!;
  expect(timeBox.x).toBeGreaterThan(nameBox.x + nameBox.width - 1);
  await message.screenshot({ path: "test-results/user-text-isolated.png" });
});
