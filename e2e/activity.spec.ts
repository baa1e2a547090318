import { expect, request as playwrightRequest, test, type APIRequestContext } from "@playwright/test";
import { BASE_URL } from "./env";
import { roomCard, roomList, uniqueName } from "./support";

/** The room list by last activity, and the unread dots, over real HTTP and a real browser. */

let other: APIRequestContext;
/** Rooms this file created: deleted afterwards, so later specs still see only the seeded ones. */
const created: string[] = [];

test.beforeAll(async () => {
  other = await playwrightRequest.newContext({ baseURL: BASE_URL });
});
test.afterAll(async () => {
  for (const id of created) expect((await other.delete(`/api/rooms/by-id/${id}`)).ok()).toBe(true);
  await other.dispose();
});

async function createRoom(name: string): Promise<string> {
  const response = await other.post("/api/rooms", { data: { name } });
  expect(response.status()).toBe(201);
  const { id } = ((await response.json()) as { room: { id: string } }).room;
  created.push(id);
  return id;
}

async function send(roomId: string, body: string): Promise<string> {
  const response = await other.post(`/api/rooms/by-id/${roomId}/messages`, { data: { body } });
  expect(response.status()).toBe(201);
  return ((await response.json()) as { message: { id: string } }).message.id;
}

test("lists rooms by last activity, API and page alike", async ({ page }) => {
  const older = uniqueName("Activity older");
  const newer = uniqueName("Activity newer");
  const olderId = await createRoom(older);
  await createRoom(newer);
  await send(olderId, "Bump");

  const body = (await (await other.get("/api/rooms")).json()) as { rooms: { name: string; lastActivityAt: string }[] };
  const names = body.rooms.map((r) => r.name);
  expect(names.indexOf(older)).toBeLessThan(names.indexOf(newer));
  const times = body.rooms.map((r) => Date.parse(r.lastActivityAt));
  expect([...times].sort((a, b) => b - a)).toEqual(times);

  await page.goto("/");
  await expect(page.getByText(/most recent activity first/)).toBeVisible();
  const shown = await roomList(page).getByRole("listitem").allInnerTexts();
  const at = (name: string) => shown.findIndex((text) => text.includes(name));
  expect(at(older)).toBeGreaterThanOrEqual(0);
  expect(at(older)).toBeLessThan(at(newer));
});

test("marks rooms with new activity unread, live, until the visitor opens them", async ({ page }) => {
  const name = uniqueName("Unread");
  const roomId = await createRoom(name);
  const firstLook = page.waitForResponse((r) => r.url().endsWith("/api/session/unread"));
  await page.goto("/");
  await expect(page.locator('section[data-stream="ready"]')).toBeVisible();
  // The visitor's first look is recorded: nothing unread yet.
  expect((await firstLook).status()).toBe(200);
  await expect(roomCard(page, name)).not.toHaveAttribute("data-unread", "true");

  await send(roomId, "Anyone here?");
  // Live: the dot appears and the room moves to the top (the pointer is not over the list).
  await expect(roomCard(page, name)).toHaveAttribute("data-unread", "true");
  await expect(roomCard(page, name).getByText("New messages", { exact: true })).toBeVisible();
  await expect(roomList(page).getByRole("listitem").first()).toContainText(name);

  // Still unread after a reload (from GET /api/session/unread).
  await page.reload();
  await expect(roomCard(page, name)).toHaveAttribute("data-unread", "true");

  // Opening the room marks it read.
  const marked = page.waitForResponse((r) => r.url().endsWith(`/api/rooms/by-id/${roomId}/read`) && r.request().method() === "POST");
  await page.goto(`/rooms/${roomId}`);
  expect((await marked).status()).toBe(204);
  const marks = page.waitForResponse((r) => r.url().endsWith("/api/session/unread"));
  await page.goto("/");
  expect(((await (await marks).json()) as { roomIds: string[] }).roomIds).not.toContain(roomId);
  await expect(roomCard(page, name)).not.toHaveAttribute("data-unread", "true");
});

test("a room card shows its last message (author and a line, as text) and when, live; a new room says it has none", async ({ page, browser }) => {
  const name = uniqueName("Preview");
  const roomId = await createRoom(name);
  const author = ((await (await other.get("/api/session")).json()) as { name: string }).name;
  await page.goto("/");
  await expect(page.locator('section[data-stream="ready"]')).toBeVisible();
  const card = roomCard(page, name);
  await expect(card).toContainText("No messages yet");

  const markup = "<b>not bold</b> & <script>alert(1)</script>";
  const messageId = await send(roomId, `${markup}\nsecond line`);
  // Live, from the stream: the author and the message as typed (text, not markup), and when.
  await expect(card.locator(".room-preview")).toContainText(`${author}`);
  await expect(card.locator(".room-preview-body")).toContainText(markup);
  await expect(card.locator("b, script")).toHaveCount(0);
  await expect(card).not.toContainText("No messages yet");
  await expect(card.locator("time")).toHaveText("just now");

  // An edit and a delete change the preview too.
  expect((await other.patch(`/api/rooms/by-id/${roomId}/messages/${messageId}`, { data: { body: "Edited hello" } })).ok()).toBe(true);
  await expect(card.locator(".room-preview-body")).toHaveText("Edited hello");
  expect((await other.delete(`/api/rooms/by-id/${roomId}/messages/${messageId}`)).ok()).toBe(true);
  await expect(card).toContainText("No messages yet");

  // The server's render says the same, with JavaScript off too (the time as a date, not "ago").
  await send(roomId, "Back again");
  const context = await browser.newContext({ javaScriptEnabled: false });
  try {
    const plain = await context.newPage();
    await plain.goto("/");
    const plainCard = roomCard(plain, name);
    await expect(plainCard.locator(".room-preview")).toContainText(`${author}`);
    await expect(plainCard.locator(".room-preview-body")).toHaveText("Back again");
    await expect(plainCard.locator("time")).toHaveAttribute("datetime", /^\d{4}-\d\d-\d\dT/);
    await expect(plainCard.locator("time")).not.toHaveText(/ago|just now/);
  } finally {
    await context.close();
  }
});
