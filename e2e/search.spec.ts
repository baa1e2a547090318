import path from "node:path";
import { expect, request as playwrightRequest, test, type APIRequestContext, type Page } from "@playwright/test";
import { BASE_URL } from "./env";
import { uniqueName } from "./support";

/**
 * Search end to end: the GET form (with and without JavaScript), ranked results linking
 * to their rooms, a `<script>` message shown as text, the 400s, and pictures of the
 * results page at desktop and phone width (test-results/, for a human to look at).
 */

let api: APIRequestContext;
/** A word no other run has used, so the results are exactly what this spec seeded. */
const token = `zq${Date.now().toString(36)}`;
let roomName = "";
let roomId = "";

test.beforeAll(async () => {
  api = await playwrightRequest.newContext({ baseURL: BASE_URL });
  roomName = uniqueName(`Orchard ${token}`);
  const created = await api.post("/api/rooms", { data: { name: roomName, description: "Apples, pears and plans for the harvest" } });
  expect(created.status()).toBe(201);
  roomId = ((await created.json()) as { room: { id: string } }).room.id;
  for (const body of [
    `We are running the ${token} harvest on Saturday`,
    `<script>window.__pwned = 1</script> ${token} <b>not bold</b>`,
    `Ladders for the ${token} pickers are in the shed, next to the wheelbarrows and the spare baskets we bought last autumn at the market in town.`,
  ]) {
    expect((await api.post(`/api/rooms/by-id/${roomId}/messages`, { data: { body } })).status()).toBe(201);
  }
});
test.afterAll(async () => {
  await api.dispose();
});

const results = (page: Page) => page.locator(".search-results > li");

test("searching from the search page finds the room and its messages, best first, linked to the room", async ({ page }) => {
  await page.goto("/search");
  await expect(page.getByText("Type a word or two")).toBeVisible();
  await page.getByLabel("Search rooms and messages").fill(token);
  await page.getByRole("button", { name: "Search" }).click();
  await expect(page).toHaveURL(new RegExp(`/search\\?q=${token}`));
  await expect(results(page)).toHaveCount(4);
  // The room (its name weighs most) comes first, its match marked.
  await expect(results(page).first().getByRole("link")).toHaveText(roomName);
  await expect(results(page).first().locator("mark")).toHaveText(token);
  // Stemming: "runs" finds "running".
  await page.goto(`/search?q=${encodeURIComponent(`runs ${token}`)}`);
  await expect(results(page)).toHaveCount(1);
  await expect(results(page).locator("mark")).toHaveText(["running", token]);
  await results(page).getByRole("link", { name: roomName }).click();
  await expect(page).toHaveURL(`/rooms/${roomId}`);
});

test("the GET form works with JavaScript off, and a <script> message is shown as text", async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  try {
    const page = await context.newPage();
    await page.goto("/search");
    await page.getByLabel("Search rooms and messages").fill(`${token} bold`);
    await page.getByLabel("Search rooms and messages").press("Enter");
    await expect(page).toHaveURL(/\/search\?q=/);
    const hit = results(page);
    await expect(hit).toHaveCount(1);
    await expect(hit.locator("blockquote")).toHaveText(`<script>window.__pwned = 1</script> ${token} <b>not bold</b>`);
    await expect(hit.locator("script, b")).toHaveCount(0);
  } finally {
    await context.close();
  }
  // With JavaScript on, the markup in the snippet still does not run.
  const page = await browser.newPage();
  await page.goto(`/search?q=${encodeURIComponent(`${token} bold`)}`);
  await expect(results(page).locator("blockquote")).toContainText("<script>");
  expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
  await page.close();
});

test("an empty or invalid query gets a clear message on the page and a 400 from the API", async ({ page, request }) => {
  await page.goto("/search?q=%20%20");
  await expect(page.getByText("Type a word or two")).toBeVisible();
  await page.goto("/search?q=%21%21%21");
  await expect(page.locator(".search-section").getByRole("alert")).toHaveText("Search for at least one word.");
  await page.goto(`/search?q=${"a".repeat(201)}`);
  await expect(page.locator(".search-section").getByRole("alert")).toContainText("at most 200 characters");

  for (const query of ["", "q=", "q=%00", `q=${"x".repeat(201)}`, "q=ok&limit=500", "q=ok&cursor=-1"]) {
    const response = await request.get(`/api/search?${query}`);
    expect(response.status(), query).toBe(400);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("invalid_query");
  }
  const ok = await request.get(`/api/search?q=${token}&limit=2`);
  expect(ok.status()).toBe(200);
  const body = (await ok.json()) as { results: unknown[]; nextCursor: string | null };
  expect(body.results).toHaveLength(2);
  expect(body.nextCursor).toBe("2");
  const stats = await request.get("/api/stats");
  expect(stats.status()).toBe(200);
  expect(((await stats.json()) as { stats: { rooms: number } }).stats.rooms).toBeGreaterThan(0);
});

test("a next-page link pages through the results", async ({ page }) => {
  await page.goto(`/search?q=${token}&limit=3`);
  await expect(results(page)).toHaveCount(3);
  await page.getByRole("link", { name: "Next page" }).click();
  await expect(results(page)).toHaveCount(1);
  await expect(page.getByRole("link", { name: "Next page" })).toHaveCount(0);
});

for (const viewport of [
  { name: "desktop", width: 1280, height: 800 },
  { name: "phone", width: 390, height: 844 },
] as const) {
  test(`search results at ${viewport.name} width`, async ({ page }) => {
    await page.setViewportSize({ width: viewport.width, height: viewport.height });
    await page.goto(`/search?q=${token}`);
    await expect(results(page)).toHaveCount(4);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBe(0);
    await page.screenshot({ path: path.join("test-results", `search-${viewport.name}.png`), fullPage: true, animations: "disabled" });
  });
}
