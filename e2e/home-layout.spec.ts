import { expect, test, type Page } from "@playwright/test";
import { liveRoomCount, roomList, uniqueName } from "./support";

/**
 * The home page's shape: on a phone the rooms come first, with creating and searching one
 * tap away (JavaScript or not); its numbers agree with the list on the same page.
 */

const phone = { width: 390, height: 844 };

async function roomsFirstWithFormsOneTapAway(page: Page) {
  await page.goto("/");
  // The first room card is on the first screen.
  await expect(roomList(page).getByRole("listitem").first()).toBeInViewport();
  const newRoom = page.getByRole("link", { name: "New room" });
  const search = page.getByRole("link", { name: "Search", exact: true });
  await expect(newRoom).toBeInViewport();
  await expect(search).toBeInViewport();

  await newRoom.click();
  await expect(page).toHaveURL(/#create-room$/);
  await expect(page.getByRole("heading", { name: "Start a room" })).toBeInViewport();
  await expect(page.getByLabel("Name", { exact: true })).toBeInViewport();
  // Not hidden under the sticky header.
  const header = await page.getByRole("banner").boundingBox();
  const heading = await page.getByRole("heading", { name: "Start a room" }).boundingBox();
  expect(heading!.y).toBeGreaterThanOrEqual(header!.y + header!.height);

  await page.goto("/");
  await search.click();
  await expect(page).toHaveURL(/#search$/);
  await expect(page.getByLabel("Search rooms and messages")).toBeInViewport();
}

test.describe("on a phone", () => {
  test.use({ viewport: phone });

  test("the rooms come first; New room and Search are one tap away", async ({ page }) => {
    await roomsFirstWithFormsOneTapAway(page);
  });

  test.describe("without JavaScript", () => {
    test.use({ javaScriptEnabled: false });
    test("the rooms come first; New room and Search are one tap away", async ({ page }) => {
      await roomsFirstWithFormsOneTapAway(page);
    });
  });
});

test("on a wide screen the forms sit beside the list, with no jump links", async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.goto("/");
  await expect(page.getByRole("link", { name: "New room" })).toBeHidden();
  await expect(page.getByRole("heading", { name: "Start a room" })).toBeInViewport();
  await expect(roomList(page).getByRole("listitem").first()).toBeInViewport();
});

test("right after a create, the header, the list and “Lobby at a glance” give the same room count", async ({ page, request }) => {
  // The stats are cached (stale-while-revalidate) before the write, as on a live site.
  await page.goto("/");
  const response = await request.post("/api/rooms", { data: { name: uniqueName("Counted") } });
  expect(response.status()).toBe(201);
  const { id } = ((await response.json()) as { room: { id: string } }).room;
  try {
    const n = await liveRoomCount();
    await page.goto("/");
    await expect(page.getByRole("banner")).toContainText(`${n} rooms`);
    await expect(page.getByText(`${n} rooms, most recent activity first`)).toBeVisible();
    const stats = page.getByRole("region", { name: "Lobby at a glance" });
    await expect(stats.locator(".stats-item").filter({ hasText: /^Rooms/ }).locator("dd")).toHaveText(String(n));
    // What is counted in the background says when it was counted.
    await expect(stats).toContainText(/Messages as of \d{1,2}:\d\d [AP]M UTC/);
  } finally {
    expect((await request.delete(`/api/rooms/by-id/${id}`)).ok()).toBe(true);
  }
});
