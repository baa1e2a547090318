import path from "node:path";
import { expect, request as playwrightRequest, test, type Page, type TestInfo } from "@playwright/test";
import { expectNoLoadingUi, messageCount, roomIdByName, seedMessages, seededRooms } from "./support";

/**
 * The room page: the conversation in the first response, paging and sending that work
 * with JavaScript off, a real 404, and pictures at desktop and phone width.
 */

const messageList = (page: Page) => page.getByRole("list", { name: "Messages" });
const bodies = Array.from({ length: 60 }, (_, i) => `Seeded message ${i + 1}`);
let roomId = "";
let roomName = "";

test.beforeAll(async () => {
  // The oldest seeded room: no other spec writes to its conversation.
  roomName = seededRooms().at(-1) ?? "";
  roomId = await roomIdByName(roomName);
  if ((await messageCount(roomId)) === 0) await seedMessages(roomId, bodies);
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("the first response holds the newest 50 messages, oldest first, and pages back", async ({ page }) => {
    const response = await page.goto(`/rooms/${roomId}`);
    expect(response?.status()).toBe(200);
    const html = (await response?.text()) ?? "";
    expect(html).toContain("Seeded message 60");
    expect(html).toContain("Seeded message 11");
    expect(html).not.toContain("Seeded message 10<");
    await expect(page.getByRole("heading", { level: 1 })).toHaveText(roomName);
    const items = messageList(page).getByRole("listitem");
    await expect(items).toHaveCount(50);
    await expect(items.first()).toContainText("Seeded message 11");
    await expect(items.last()).toContainText("Seed Bot");
    await expectNoLoadingUi(page);

    await page.getByRole("link", { name: "Load older messages" }).click();
    await expect(page).toHaveURL(/\?before=\d+$/);
    await expect(items).toHaveCount(10);
    await expect(items.first()).toContainText("Seeded message 1");
    await expect(items.last()).toContainText("Seeded message 10");
    await expect(page.getByRole("link", { name: "Load older messages" })).toHaveCount(0);
    await page.getByRole("link", { name: "Back to newest" }).click();
    await expect(items.last()).toContainText(/Seeded message 60|No-JS hello/);
  });

  test("the form sends a message, shown at once; a blank one gets an inline error", async ({ page }) => {
    await page.goto(`/rooms/${roomId}`);
    const before = await messageCount(roomId);
    const box = page.getByLabel("Message", { exact: true });
    await box.fill("   ");
    await page.getByRole("button", { name: "Send" }).click();
    await expect(page.locator("#message-body-error")).toHaveText("Message is required");
    await expect(page.getByLabel("Message", { exact: true })).toHaveAttribute("aria-invalid", "true");
    expect(await messageCount(roomId)).toBe(before);

    await page.getByLabel("Message", { exact: true }).fill("No-JS hello\nsecond line");
    await page.getByRole("button", { name: "Send" }).click();
    await expect(messageList(page).getByRole("listitem").last()).toContainText("No-JS hello");
    await expect(page.getByLabel("Message", { exact: true })).toHaveValue("");
    expect(await messageCount(roomId)).toBe(before + 1);

    await page.goto(`/rooms/${roomId}`);
    await expect(messageList(page).getByRole("listitem").last()).toContainText("No-JS hello");
  });

  test("an unknown or malformed room id answers 404 with the site's not-found page", async ({ page }) => {
    for (const id of ["00000000-0000-4000-8000-000000000000", "not-a-room"]) {
      const response = await page.goto(`/rooms/${id}`);
      expect(response?.status()).toBe(404);
      // Markup in the server's HTML (proxy.ts), not only inside the RSC payload for the browser
      // to render, as Next 16 does for a dynamic page's notFound() (vercel/next.js#62228).
      expect((await response?.text()) ?? "").toContain("<h1>This page isn’t here</h1>");
      await expect(page).toHaveTitle("Not found · Lobby");
      await expect(page.getByRole("heading", { level: 1, name: "This page isn’t here" })).toBeVisible();
      await expect(page.getByText("The room may have been closed, or the link is mistyped.")).toBeVisible();
      await expect(page.getByRole("link", { name: "Back to all rooms" })).toHaveAttribute("href", "/");
      // The site's header, as on every page: home, the dashboard and the name menu.
      const header = page.getByRole("banner");
      await expect(header.getByRole("link", { name: "Lobby" })).toHaveAttribute("href", "/");
      await expect(header.getByRole("link", { name: "Dashboard" })).toBeVisible();
      await expect(header.locator("details.viewer summary")).toBeVisible();
    }
  });
});

test("the messages API: send, page, validate, delete only your own, rate-limit with Retry-After", async ({ baseURL }) => {
  const alice = await playwrightRequest.newContext({ baseURL });
  const bob = await playwrightRequest.newContext({ baseURL });
  try {
    const url = `/api/rooms/by-id/${roomId}/messages`;
    const sent = await alice.post(url, { data: { body: "Over HTTP" } });
    expect(sent.status()).toBe(201);
    const { message } = (await sent.json()) as { message: { id: string; body: string; authorName: string } };
    expect(message.body).toBe("Over HTTP");

    const newest = (await (await bob.get(`${url}?limit=2`)).json()) as { messages: { id: string }[]; nextCursor: string };
    expect(newest.messages.at(-1)?.id).toBe(message.id);
    expect(newest.nextCursor).toMatch(/^\d+$/);
    const older = (await (await bob.get(`${url}?before=${newest.nextCursor}&limit=100`)).json()) as { messages: { id: string }[] };
    expect(older.messages.map((m) => m.id)).not.toContain(message.id);

    const bad = await alice.post(url, { data: { body: "   " } });
    expect(bad.status()).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { code: "invalid_input", fields: { body: "Message is required" } } });
    expect((await bob.get(`${url}?limit=0`)).status()).toBe(400);
    expect((await bob.get(`/api/rooms/by-id/00000000-0000-4000-8000-000000000000/messages`)).status()).toBe(404);

    await bob.get("/api/session");
    expect((await bob.delete(`${url}/${message.id}`)).status()).toBe(403);
    expect((await alice.delete(`${url}/${message.id}`)).status()).toBe(204);
    expect((await alice.delete(`${url}/${message.id}`)).status()).toBe(404);

    // At once, not one after another: sent in sequence on a loaded machine, each post can
    // take longer than the bucket needs to refill one token (200 ms), and no burst is seen.
    const burst = await Promise.all(Array.from({ length: 30 }, (_, i) => bob.post(url, { data: { body: `burst ${i}` } })));
    const statuses = burst.map((res) => res.status());
    const retryAfter = burst.find((res) => res.status() === 429)?.headers()["retry-after"];
    expect(statuses).toContain(429);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
  } finally {
    await alice.dispose();
    await bob.dispose();
  }
});

const shot = (page: Page, info: TestInfo, name: string) =>
  page.screenshot({ path: path.join(info.project.testDir, "screenshots", `${name}.png`), animations: "disabled" });

for (const viewport of [
  { name: "desktop", width: 1280, height: 800 },
  { name: "phone", width: 390, height: 844 },
] as const) {
  test(`room page at ${viewport.name} width`, async ({ page }, info) => {
    const problems: string[] = [];
    page.on("pageerror", (error) => problems.push(error.message));
    await page.setViewportSize({ width: viewport.width, height: viewport.height });
    await page.goto(`/rooms/${roomId}`);
    const box = page.getByLabel("Message", { exact: true });
    await box.fill(`Hello from a ${viewport.name} browser`);
    await box.press("Enter");
    const mine = messageList(page).getByRole("listitem").last();
    await expect(mine).toContainText(`Hello from a ${viewport.name} browser`);
    await expect(mine.getByText("You", { exact: true })).toBeVisible();
    await expect(box).toHaveValue("");
    await expect(page.getByRole("button", { name: "Send" })).toBeInViewport();
    await expect(mine).toBeInViewport();
    expect(await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)).toBe(0);
    await shot(page, info, `room-${viewport.name}`);
    expect(problems).toEqual([]);
  });
}
