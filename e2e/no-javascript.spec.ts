import { expect, test } from "@playwright/test";
import { db, expectNoLoadingUi, liveRoomCount, roomLink, roomList, seededRooms, uniqueName } from "./support";

// The room selector and its form must work for a browser that runs no scripts at all.
test.use({ javaScriptEnabled: false });

test("the first response lists every seeded room, with no loading state", async ({ page }) => {
  const response = await page.goto("/");
  expect(response?.status()).toBe(200);
  const html = (await response?.text()) ?? "";
  for (const name of seededRooms()) {
    // In the HTML of the first response itself, not added later by a script.
    expect(html).toContain(`>${name}</a>`);
    await expect(roomLink(page, name)).toHaveAttribute("href", /^\/rooms\/[0-9a-f-]{36}$/);
  }
  await expect(roomList(page).getByRole("listitem")).toHaveCount(seededRooms().length);
  await expect(page.getByRole("banner")).toContainText("Lobby");
  await expect(page.getByRole("banner")).toContainText(`${seededRooms().length} rooms`);
  await expectNoLoadingUi(page);
});

test("creates a room through the form, shown at once, after a reload and to others", async ({ page, browser }) => {
  const name = uniqueName("No-JS Book Club");
  await page.goto("/");
  await page.getByLabel("Name", { exact: true }).fill(name);
  await page.getByLabel("Description").fill("Reading one chapter a week, no scripts required.");
  await page.getByRole("button", { name: "Create room" }).click();

  await expect(page.getByRole("status").filter({ hasText: "created" })).toContainText(`Room ${name} created.`);
  await expect(roomLink(page, name)).toBeVisible();
  await expect(page.getByLabel("Name", { exact: true })).toHaveValue("");
  await expectNoLoadingUi(page);

  // A fresh GET (a browser reload of the POST result would re-submit the form).
  await page.goto("/");
  await expect(roomLink(page, name)).toBeVisible();

  const other = await browser.newContext({ javaScriptEnabled: false });
  try {
    const otherPage = await other.newPage();
    await otherPage.goto("/");
    await expect(roomLink(otherPage, name)).toBeVisible();
  } finally {
    await other.close();
  }
});

test("a blank name gets an inline error and stores nothing", async ({ page }) => {
  const before = await liveRoomCount();
  await page.goto("/");
  const nameField = page.getByLabel("Name", { exact: true });
  await nameField.fill("      ");
  await page.getByLabel("Description").fill("Kept after the error");
  await page.getByRole("button", { name: "Create room" }).click();

  await expect(nameField).toHaveAttribute("aria-invalid", "true");
  await expect(nameField).toHaveAttribute("aria-describedby", /room-name-error/);
  await expect(page.locator("#room-name-error")).toHaveText("Name is required");
  await expect(page.getByLabel("Description")).toHaveValue("Kept after the error");
  expect(await liveRoomCount()).toBe(before);
});

test("a 65-character name is posted whole and refused by the server", async ({ page }) => {
  const before = await liveRoomCount();
  const tooLong = `Long ${"x".repeat(60)}`;
  expect([...tooLong]).toHaveLength(65);
  await page.goto("/");
  const nameField = page.getByLabel("Name", { exact: true });
  // No maxlength: the browser must not cut it to 64 behind the visitor's back.
  await expect(nameField).not.toHaveAttribute("maxlength");
  await nameField.fill(tooLong);
  await page.getByRole("button", { name: "Create room" }).click();

  await expect(page.locator("#room-name-error")).toHaveText("Name must be at most 64 characters");
  await expect(nameField).toHaveAttribute("aria-invalid", "true");
  await expect(nameField).toHaveValue(tooLong);
  const stored = await db()`select 1 from rooms where name = ${tooLong}`;
  expect(stored).toHaveLength(0);
  expect(await liveRoomCount()).toBe(before);
});

test("the display-name form works as a plain form post", async ({ page }) => {
  await page.goto("/");
  await page.getByText("Your name", { exact: true }).click();
  await page.getByLabel("Display name").fill("Quiet Reader");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByTestId("viewer-name")).toHaveText("Quiet Reader");
});
