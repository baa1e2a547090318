import path from "node:path";
import { expect, request as playwrightRequest, test, type APIRequestContext, type Page, type TestInfo } from "@playwright/test";
import { BASE_URL } from "./env";
import { roomCard, roomIdByName, seedMessages, seededRooms } from "./support";

/**
 * Pictures of the home page for a human to look at (git-ignored, in e2e/screenshots/),
 * plus the layout checks that catch the usual breakage: sideways scrolling and clipped
 * cards at phone width.
 */

const shot = (page: Page, info: TestInfo, name: string, fullPage = false) =>
  page.screenshot({ path: path.join(info.project.testDir, "screenshots", `${name}.png`), fullPage, animations: "disabled" });

async function expectNoHorizontalOverflow(page: Page) {
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  expect(overflow).toBe(0);
}

/*
 * What a visitor meets on a lived-in site: rooms with messages (one with markup in it, one
 * long), a room with the longest name allowed, rooms with none; deleted again afterwards.
 */
let other: APIRequestContext;
const created: string[] = [];
const longName = `The longest room name allowed here ${"x".repeat(28)}`.slice(0, 64);
let busyId = "";

test.beforeAll(async () => {
  other = await playwrightRequest.newContext({ baseURL: BASE_URL });
  const response = await other.post("/api/rooms", {
    data: { name: longName, description: "A description long enough to wrap onto a third line of the card, and then some more words to be cut." },
  });
  expect(response.status()).toBe(201);
  busyId = ((await response.json()) as { room: { id: string } }).room.id;
  created.push(busyId);
  const rooms = seededRooms();
  await seedMessages(await roomIdByName(rooms[2]!), ["Anyone up for Saturday? <b>bring snacks</b> & water"]);
  await seedMessages(await roomIdByName(rooms[5]!), [`A long one: ${"words that go on and on ".repeat(12).trim()}`]);
  const sent = await other.post(`/api/rooms/by-id/${busyId}/messages`, { data: { body: "Welcome! Say hi 👋" } });
  expect(sent.status()).toBe(201);
});

test.afterAll(async () => {
  for (const id of created) expect((await other.delete(`/api/rooms/by-id/${id}`)).ok()).toBe(true);
  await other.dispose();
});

const viewports = [
  { name: "desktop", width: 1280, height: 800 },
  { name: "phone", width: 390, height: 844 },
] as const;

for (const viewport of viewports) {
  test(`home page at ${viewport.name} width`, async ({ page }, info) => {
    // A hydration mismatch or a failed request shows up here, not on the screen.
    const problems: string[] = [];
    page.on("pageerror", (error) => problems.push(error.message));
    page.on("console", (message) => {
      if (message.type() === "error" || message.type() === "warning") problems.push(message.text());
    });
    await page.setViewportSize({ width: viewport.width, height: viewport.height });
    await page.goto("/");
    // Attached, not visible: on phones only the avatar shows in the header.
    await expect(page.getByTestId("viewer-name")).toBeAttached();
    await expect(page.locator('section[data-stream="ready"]')).toBeVisible();
    // New activity while the page is open: the card goes unread, live.
    expect((await other.post(`/api/rooms/by-id/${busyId}/messages`, { data: { body: "Still there? I posted the plan." } })).status()).toBe(201);
    await expect(roomCard(page, longName)).toHaveAttribute("data-unread", "true");
    await expectNoHorizontalOverflow(page);
    await shot(page, info, `home-${viewport.name}`);
    await shot(page, info, `home-${viewport.name}-full`, true);

    // The states a visitor meets next: a form error and the open name menu.
    await page.getByLabel("Name", { exact: true }).fill(`${longName} and more`);
    await page.getByRole("button", { name: "Create room" }).click();
    await expect(page.locator("#room-name-error")).toBeVisible();
    await page.locator("#create-room").scrollIntoViewIfNeeded();
    await shot(page, info, `home-${viewport.name}-too-long`);
    await page.locator("summary").click();
    await expect(page.getByLabel("Display name")).toBeVisible();
    await expectNoHorizontalOverflow(page);
    await shot(page, info, `home-${viewport.name}-states`);

    await page.emulateMedia({ colorScheme: "dark" });
    await page.goto("/");
    await expect(page.getByTestId("viewer-name")).toBeAttached();
    await shot(page, info, `home-${viewport.name}-dark`);
    expect(problems).toEqual([]);
  });

  test(`home page at ${viewport.name} width without JavaScript`, async ({ browser }, info) => {
    const context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: viewport.width, height: viewport.height } });
    try {
      const page = await context.newPage();
      await page.goto("/");
      await expectNoHorizontalOverflow(page);
      await shot(page, info, `home-${viewport.name}-nojs`);
    } finally {
      await context.close();
    }
  });
}
