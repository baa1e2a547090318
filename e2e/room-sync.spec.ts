import { expect, request as playwrightRequest, test, type APIRequestContext, type Browser, type Page } from "@playwright/test";
import { BASE_URL, PEER_URL } from "./env";
import { uniqueName } from "./support";

/**
 * What keeps an open page exact beyond the live stream itself: the room list beside a
 * conversation in activity order; the stream starting from the id the page was rendered
 * at (`?since=`), so nothing sent between render and connection is lost; `reset` when
 * that id is older than the capped log (the page re-fetches); and edits, shown in place.
 */

let owner: APIRequestContext;
/** Rooms this file created: deleted afterwards, so later specs still see only the seeded ones. */
const created: string[] = [];

test.beforeAll(async () => {
  owner = await playwrightRequest.newContext({ baseURL: BASE_URL });
});
test.afterAll(async () => {
  for (const id of created) expect((await owner.delete(`/api/rooms/by-id/${id}`)).ok()).toBe(true);
  await owner.dispose();
});

async function createRoom(label: string): Promise<{ id: string; name: string }> {
  const name = uniqueName(label);
  const response = await owner.post("/api/rooms", { data: { name } });
  expect(response.status()).toBe(201);
  const { id } = ((await response.json()) as { room: { id: string } }).room;
  created.push(id);
  return { id, name };
}

async function post(roomId: string, body: string) {
  expect((await owner.post(`/api/rooms/by-id/${roomId}/messages`, { data: { body } })).status()).toBe(201);
}

const messageList = (page: Page) => page.getByRole("list", { name: "Messages" });
const item = (page: Page, body: string) => messageList(page).getByRole("listitem").filter({ has: page.getByText(body, { exact: true }) });

/**
 * Holds the page's first EventSource request until `release` is called, optionally
 * rewriting its URL; resolves `held` with the URL the page asked for.
 */
async function holdStream(page: Page, pattern: RegExp, rewrite?: (url: URL) => void) {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let seen!: (url: string) => void;
  const held = new Promise<string>((r) => (seen = r));
  let first = true;
  await page.route(pattern, async (route) => {
    if (!first) return route.continue();
    first = false;
    seen(route.request().url());
    await released;
    const url = new URL(route.request().url());
    rewrite?.(url);
    await route.continue({ url: url.toString() });
  });
  return { held, release };
}

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("the room page lists the rooms beside the conversation by last activity", async ({ page }) => {
    const older = await createRoom("Side list older");
    const newer = await createRoom("Side list newer");
    await post(older.id, "Bump the older room");
    await page.goto(`/rooms/${newer.id}`);
    const links = page.getByRole("navigation", { name: "All rooms" }).getByRole("list").getByRole("link");
    await expect(links.nth(0)).toHaveText(older.name);
    await expect(links.nth(1)).toHaveText(newer.name);
  });
});

test("a message sent between the render and the stream's connection is replayed from the page's id", async ({ page }) => {
  const room = await createRoom("Render window");
  const stream = await holdStream(page, /\/api\/rooms\/by-id\/[^/]+\/events/);
  await page.goto(`/rooms/${room.id}`);
  const url = new URL(await stream.held);
  expect(url.searchParams.get("since")).toMatch(/^\d+-\d+$/);
  const body = uniqueName("Sent before the stream opened");
  await post(room.id, body);
  stream.release();
  await expect(item(page, body)).toHaveCount(1, { timeout: 5_000 });
});

test("a room page whose id the log no longer reaches gets `reset` and re-fetches the conversation", async ({ page }) => {
  const room = await createRoom("Reset conversation");
  // An id older than anything the log holds, as after ~1000 newer events trimmed it.
  const stream = await holdStream(page, /\/api\/rooms\/by-id\/[^/]+\/events/, (url) => url.searchParams.set("since", "1-0"));
  await page.goto(`/rooms/${room.id}`);
  await stream.held;
  const body = uniqueName("Missed, then re-fetched");
  await post(room.id, body);
  stream.release();
  await expect(item(page, body)).toHaveCount(1, { timeout: 5_000 });
  await expect(page.locator('.chat-body[data-stream="ready"]')).toBeAttached();
});

test("the room list whose id the log no longer reaches gets `reset` and re-fetches GET /api/rooms", async ({ page }) => {
  const stream = await holdStream(page, /\/api\/events(\?|$)/, (url) => url.searchParams.set("since", "1-0"));
  await page.goto("/");
  await stream.held;
  const room = await createRoom("Missed room");
  stream.release();
  // The re-fetched list holds it; new rooms wait behind the "show" button (a cached render may hold back more than one).
  const show = page.getByRole("button", { name: /new rooms? — show/ });
  await expect(show).toBeVisible({ timeout: 5_000 });
  await show.click();
  await expect(page.getByRole("region", { name: "Rooms" }).getByRole("link", { name: room.name, exact: true })).toBeVisible();
});

async function openRoom(browser: Browser, origin: string, roomId: string) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(`${origin}/rooms/${roomId}`);
  await page.evaluate(() => ((window as unknown as { marker: number }).marker = 1));
  await expect(page.locator('.chat-body[data-stream="ready"]')).toBeAttached();
  return { context, page };
}

test("the author edits a message in place; the other reader sees the edit live, marked (edited)", async ({ browser }) => {
  const room = await createRoom("Edits");
  const a = await openRoom(browser, BASE_URL, room.id);
  const b = await openRoom(browser, PEER_URL, room.id);
  try {
    const original = uniqueName("Teh original");
    const box = a.page.getByLabel("Message", { exact: true });
    await box.fill(original);
    await box.press("Enter");
    await expect(item(b.page, original)).toHaveCount(1, { timeout: 5_000 });

    await item(a.page, original).getByRole("button", { name: /^Edit/ }).click();
    const editor = a.page.getByLabel("Edited message");
    await editor.fill("   ");
    await a.page.getByRole("button", { name: "Save" }).click();
    await expect(a.page.getByRole("alert").filter({ hasText: /required/i })).toBeVisible();

    const fixed = original.replace("Teh", "The");
    await editor.fill(fixed);
    await a.page.getByRole("button", { name: "Save" }).click();
    await expect(item(a.page, fixed)).toContainText("(edited)");
    await expect(item(b.page, fixed)).toContainText("(edited)", { timeout: 5_000 });
    await expect(item(b.page, original)).toHaveCount(0);
    expect(await b.page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(1);

    // Anyone, JavaScript or not, gets the edited text from the server.
    const c = await browser.newContext({ javaScriptEnabled: false });
    const plain = await c.newPage();
    await plain.goto(`${BASE_URL}/rooms/${room.id}`);
    await expect(item(plain, fixed)).toContainText("(edited)");
    await c.close();
  } finally {
    await a.context.close();
    await b.context.close();
  }
});
