import path from "node:path";
import { expect, request as playwrightRequest, test, type Browser, type BrowserContext, type Page } from "@playwright/test";
import { BASE_URL, PEER_URL } from "./env";
import { seedMessages, uniqueName } from "./support";

/**
 * The room page receives messages live (DESIGN.md, Realtime): two browsers on the two web
 * instances, sharing Postgres and Redis, see each other's messages without a reload,
 * exactly once, and a message deleted by its author leaves the other's screen.
 */

const messageList = (page: Page) => page.getByRole("list", { name: "Messages" });
const item = (page: Page, body: string) =>
  messageList(page).getByRole("listitem").filter({ has: page.getByText(body, { exact: true }) });

/** A fresh room, created through instance A as a new visitor (the per-visitor creation limit). */
async function createRoom(): Promise<string> {
  const api = await playwrightRequest.newContext({ baseURL: BASE_URL });
  try {
    const created = await api.post("/api/rooms", { data: { name: uniqueName("Live chat") } });
    expect(created.status()).toBe(201);
    return ((await created.json()) as { room: { id: string } }).room.id;
  } finally {
    await api.dispose();
  }
}

/** A browser on `origin` with the room open and its stream subscribed. */
async function openRoom(browser: Browser, origin: string, roomId: string): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("pageerror", (error) => problems.push(error.message));
  await page.goto(`${origin}/rooms/${roomId}`);
  await page.evaluate(() => ((window as unknown as { marker: number }).marker = 1));
  await expect(page.locator('.chat-body[data-stream="ready"]')).toBeAttached();
  return { context, page, problems };
}

async function send(page: Page, body: string) {
  const box = page.getByLabel("Message", { exact: true });
  await box.fill(body);
  await box.press("Enter");
  await expect(box).toHaveValue("");
}

const notReloaded = async (page: Page) => expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(1);

test("two browsers on two instances exchange messages live, exactly once; a deletion reaches the other", async ({ browser }, info) => {
  const roomId = await createRoom();
  const a = await openRoom(browser, BASE_URL, roomId);
  const b = await openRoom(browser, PEER_URL, roomId);
  try {
    const fromA = uniqueName("Hello from A");
    await send(a.page, fromA);
    // At once for the sender (the action's re-render), within seconds for the other.
    await expect(item(a.page, fromA)).toHaveCount(1);
    await expect(item(b.page, fromA)).toHaveCount(1, { timeout: 5_000 });
    await expect(item(a.page, fromA).getByText("You", { exact: true })).toBeVisible();
    await expect(item(a.page, fromA)).toHaveClass(/message-mine/);
    await expect(item(b.page, fromA)).not.toHaveClass(/message-mine/);
    // Announced politely to the other reader, not to the author.
    await expect(b.page.locator('[aria-live="polite"]')).toContainText(fromA);
    await expect(a.page.locator('[aria-live="polite"]')).not.toContainText(fromA);

    const fromB = uniqueName("Hi back from B");
    await send(b.page, fromB);
    await expect(item(b.page, fromB)).toHaveCount(1);
    await expect(item(a.page, fromB)).toHaveCount(1, { timeout: 5_000 });
    await expect(item(a.page, fromB)).toBeInViewport();

    // A's stream has delivered A's own message by now (events of a room arrive in order):
    // still exactly once on both pages, in the same order.
    for (const { page } of [a, b]) {
      await expect(messageList(page).getByRole("listitem")).toHaveCount(2);
      await expect(messageList(page).getByRole("listitem").first()).toContainText(fromA);
      await expect(messageList(page).getByRole("listitem").last()).toContainText(fromB);
      await notReloaded(page);
    }
    await a.page.screenshot({ path: path.join(info.project.testDir, "screenshots", "room-live-desktop.png"), animations: "disabled" });

    // The author deletes; the other reader sees it go.
    await item(a.page, fromA).getByRole("button", { name: /^Delete/ }).click();
    await expect(item(a.page, fromA)).toHaveCount(0);
    await expect(item(b.page, fromA)).toHaveCount(0, { timeout: 5_000 });
    await expect(item(b.page, fromB)).toHaveCount(1);
    await notReloaded(b.page);
    expect([...a.problems, ...b.problems]).toEqual([]);
  } finally {
    await a.context.close();
    await b.context.close();
  }
});

test("a reader scrolled up keeps their place and gets a “New messages” button instead", async ({ browser }, info) => {
  const roomId = await createRoom();
  await seedMessages(roomId, Array.from({ length: 40 }, (_, i) => `Earlier message ${i + 1}`));
  const writer = await openRoom(browser, BASE_URL, roomId);
  const reader = await openRoom(browser, PEER_URL, roomId);
  try {
    const scroller = reader.page.locator(".chat-scroll");
    await scroller.evaluate((el) => el.scrollTo({ top: -el.scrollHeight }));
    await expect(item(reader.page, "Earlier message 1")).toBeInViewport();

    const body = uniqueName("While you were reading");
    await send(writer.page, body);
    const jump = reader.page.getByRole("button", { name: "New messages ↓" });
    await expect(jump).toBeVisible({ timeout: 5_000 });
    await expect(item(reader.page, body)).toHaveCount(1);
    await expect(item(reader.page, "Earlier message 1")).toBeInViewport();
    await expect(item(reader.page, body)).not.toBeInViewport();
    await reader.page.screenshot({ path: info.outputPath("new-messages.png"), animations: "disabled" });

    await jump.click();
    await expect(item(reader.page, body)).toBeInViewport();
    await expect(jump).toHaveCount(0);
    expect([...writer.problems, ...reader.problems]).toEqual([]);
  } finally {
    await writer.context.close();
    await reader.context.close();
  }
});

test("a dropped stream says “Reconnecting…”, then catches up with what was missed", async ({ browser }) => {
  const roomId = await createRoom();
  const writer = await openRoom(browser, BASE_URL, roomId);
  const context = await browser.newContext();
  // Keeps the page's EventSources reachable, to drop one the way a dying connection does.
  await context.addInitScript(() => {
    const Original = window.EventSource;
    const sources: EventSource[] = [];
    (window as unknown as { sources: EventSource[] }).sources = sources;
    window.EventSource = class extends Original {
      constructor(url: string | URL, init?: EventSourceInit) {
        super(url, init);
        sources.push(this);
      }
    };
  });
  try {
    const page = await context.newPage();
    await page.goto(`${PEER_URL}/rooms/${roomId}`);
    await expect(page.locator('.chat-body[data-stream="ready"]')).toBeAttached();
    await page.evaluate(() => (window as unknown as { sources: EventSource[] }).sources.at(-1)!.close());

    const body = uniqueName("Sent while you were away");
    await send(writer.page, body);
    // The connection "fails" for good: the page shows it, then opens a new one after a pause.
    await page.evaluate(() => (window as unknown as { sources: EventSource[] }).sources.at(-1)!.dispatchEvent(new Event("error")));
    const status = page.getByRole("status").filter({ hasText: "Reconnecting…" });
    await expect(status).toBeVisible();
    await expect(status).toHaveCount(0, { timeout: 10_000 });
    await expect(item(page, body)).toHaveCount(1, { timeout: 5_000 });
    expect(await page.evaluate(() => (window as unknown as { sources: EventSource[] }).sources.at(-1)!.url)).toContain("lastEventId=");
  } finally {
    await context.close();
    await writer.context.close();
  }
});

test("the next message can be typed and sent while one is on its way; nothing typed is wiped, and both arrive in order", async ({ browser }) => {
  const roomId = await createRoom();
  const { context, page, problems } = await openRoom(browser, BASE_URL, roomId);
  // Hold the first send (a server action: a POST with a Next-Action header) until the second is typed and sent.
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let sends = 0;
  await page.route(`**/rooms/${roomId}`, async (route) => {
    const request = route.request();
    if (request.method() === "POST" && request.headers()["next-action"] && sends++ === 0) await held;
    await route.continue();
  });
  const box = page.getByLabel("Message", { exact: true });
  await box.fill("Sent first, answered late");
  await box.press("Enter");
  await expect(box).toHaveValue(""); // empty at once, while the send is on its way
  await box.fill("Sent second");
  await box.press("Enter");
  await expect(box).toHaveValue("");
  await box.fill("A draft, not sent yet");
  release();
  await expect(item(page, "Sent second")).toHaveCount(1);
  await expect(item(page, "Sent first, answered late")).toHaveCount(1);
  await expect(box).toHaveValue("A draft, not sent yet"); // the answers did not wipe it
  const texts = await messageList(page).getByRole("listitem").allTextContents();
  const first = texts.findIndex((t) => t.includes("Sent first, answered late"));
  expect(first).toBeGreaterThanOrEqual(0);
  expect(texts.findIndex((t) => t.includes("Sent second"))).toBeGreaterThan(first);
  expect(problems).toEqual([]);
  await context.close();
});
