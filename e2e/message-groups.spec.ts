import { expect, request as playwrightRequest, test, type APIRequestContext, type Locator, type Page } from "@playwright/test";
import { BASE_URL } from "./env";
import { messageCount, seedMessages, uniqueName } from "./support";

/**
 * A conversation reads in groups (one author's run of messages shows the avatar, name and
 * time once), and a message's Edit/Delete show on hover or keyboard focus, and still work
 * with JavaScript off.
 */

let other: APIRequestContext;
let roomId = "";

test.beforeAll(async () => {
  other = await playwrightRequest.newContext({ baseURL: BASE_URL });
  const response = await other.post("/api/rooms", { data: { name: uniqueName("Grouped") } });
  expect(response.status()).toBe(201);
  roomId = ((await response.json()) as { room: { id: string } }).room.id;
  await seedMessages(roomId, ["First from the bot", "Second from the bot", "Third from the bot"]);
});

test.afterAll(async () => {
  expect((await other.delete(`/api/rooms/by-id/${roomId}`)).ok()).toBe(true);
  await other.dispose();
});

const messages = (page: Page) => page.getByRole("list", { name: "Messages" }).getByRole("listitem");
const item = (page: Page, text: string) => messages(page).filter({ hasText: text });
const opacity = (tools: Locator) => tools.evaluate((el) => getComputedStyle(el).opacity);

test("one author's run shows the name and avatar once; Edit and Delete appear on hover and on keyboard focus", async ({ page }) => {
  await page.goto(`/rooms/${roomId}`);
  await expect(page.locator('.chat-body[data-stream="ready"]')).toBeAttached();
  // The bot's three messages: one group.
  await expect(item(page, "First from the bot").locator(".message-author")).toHaveText("Seed Bot");
  for (const text of ["Second from the bot", "Third from the bot"]) {
    await expect(item(page, text)).toHaveClass(/message-cont/);
    await expect(item(page, text).locator(".message-author, .avatar")).toHaveCount(0);
  }
  await expect(page.locator(".message-author", { hasText: "Seed Bot" })).toHaveCount(1);

  // Two of the visitor's own: a new group, then one more in it.
  const box = page.getByLabel("Message", { exact: true });
  for (const text of ["Mine one", "Mine two"]) {
    await box.fill(text);
    await box.press("Enter");
    await expect(item(page, text)).toHaveCount(1);
  }
  await expect(item(page, "Mine one")).toHaveClass(/message-first/);
  await expect(item(page, "Mine two")).toHaveClass(/message-cont/);

  const mine = item(page, "Mine two");
  const tools = mine.locator(".message-tools");
  await page.mouse.move(0, 0);
  await expect.poll(() => opacity(tools)).toBe("0");
  await mine.hover();
  await expect.poll(() => opacity(tools)).toBe("1");
  await page.mouse.move(0, 0);
  await expect.poll(() => opacity(tools)).toBe("0");

  // By keyboard: the buttons are in the tab order, and show when focused.
  const edit = mine.getByRole("button", { name: "Edit this message" });
  await edit.focus();
  await expect.poll(() => opacity(tools)).toBe("1");
  await page.keyboard.press("Enter");
  const editor = mine.getByLabel("Edited message");
  await editor.fill("Mine two, edited");
  await page.keyboard.press("Tab");
  await page.keyboard.press("Enter");
  await expect(item(page, "Mine two, edited")).toContainText("(edited)");
  // Others' messages have no tools with JavaScript (nothing to do there).
  await expect(item(page, "Second from the bot").getByRole("button")).toHaveCount(0);
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("each message has an Edit-or-delete link, shown on focus; its page lets the author edit and delete", async ({ page }) => {
    await page.goto(`/rooms/${roomId}`);
    // A message of the visitor's own (the send creates the session cookie).
    await page.getByLabel("Message", { exact: true }).fill("No-JS original");
    await page.getByRole("button", { name: "Send" }).click();
    await expect(item(page, "No-JS original")).toHaveCount(1);

    const link = item(page, "No-JS original").getByRole("link", { name: "Edit or delete this message" });
    const tools = item(page, "No-JS original").locator(".message-tools");
    await page.mouse.move(0, 0);
    await expect.poll(() => opacity(tools)).toBe("0");
    await link.focus();
    await expect.poll(() => opacity(tools)).toBe("1");
    await link.click();

    await expect(page.getByRole("heading", { level: 1 })).toContainText("A message in");
    await page.getByLabel("Message", { exact: true }).fill("No-JS edited");
    await page.getByRole("button", { name: "Save" }).click();
    await expect(page).toHaveURL(new RegExp(`/rooms/${roomId}#m-\\d+$`));
    await expect(item(page, "No-JS edited")).toContainText("(edited)");

    const before = await messageCount(roomId);
    await item(page, "No-JS edited").getByRole("link", { name: "Edit or delete this message" }).click();
    await page.getByRole("button", { name: "Delete message" }).click();
    await expect(page).toHaveURL(new RegExp(`/rooms/${roomId}$`));
    await expect(item(page, "No-JS edited")).toHaveCount(0);
    expect(await messageCount(roomId)).toBe(before - 1);

    // Someone else's message: its page says only the author can change it.
    await item(page, "Second from the bot").getByRole("link", { name: "Edit or delete this message" }).click();
    await expect(page.getByText("Only its author can edit or delete a message")).toBeVisible();
    await expect(page.getByRole("button", { name: "Delete message" })).toHaveCount(0);
  });
});

const shotPath = (name: string) => `e2e/screenshots/${name}.png`;

for (const viewport of [
  { name: "desktop", width: 1280, height: 800 },
  { name: "phone", width: 390, height: 844 },
] as const) {
  test(`pictures: grouped conversation and a message's page at ${viewport.name} width, JavaScript on and off`, async ({ browser }) => {
    for (const javaScriptEnabled of [true, false]) {
      const context = await browser.newContext({ javaScriptEnabled, viewport: { width: viewport.width, height: viewport.height } });
      try {
        const page = await context.newPage();
        await page.goto(`/rooms/${roomId}`);
        const suffix = `${viewport.name}${javaScriptEnabled ? "" : "-nojs"}`;
        await page.getByLabel("Message", { exact: true }).fill(`Hello from ${suffix} 👋`);
        await page.getByRole("button", { name: "Send" }).click();
        await expect(item(page, `Hello from ${suffix}`)).toHaveCount(1);
        await item(page, `Hello from ${suffix}`).hover();
        expect(await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)).toBe(0);
        await page.screenshot({ path: shotPath(`room-grouped-${suffix}`), animations: "disabled" });
        if (!javaScriptEnabled) {
          await item(page, `Hello from ${suffix}`).getByRole("link", { name: "Edit or delete this message" }).click();
          await expect(page.getByRole("button", { name: "Delete message" })).toBeVisible();
          await page.screenshot({ path: shotPath(`message-page-${suffix}`), fullPage: true, animations: "disabled" });
        }
      } finally {
        await context.close();
      }
    }
  });
}
