import { expect, test } from "@playwright/test";
import { db, liveRoomCount, messageCount, roomIdByName, seededRooms } from "./support";

/**
 * Text limits are shown and refused, never cut: a room name (64) and a message (2000)
 * longer than the limit stay whole in the field, a counter says by how much they are
 * over, and the server refuses them with a clear message, storing nothing.
 */

test("a pasted 71-character room name stays whole; the counter warns and the server refuses it", async ({ page }) => {
  const before = await liveRoomCount();
  const tooLong = `Pasted ${"n".repeat(64)}`;
  expect([...tooLong]).toHaveLength(71);
  await page.goto("/");
  const name = page.getByLabel("Name", { exact: true });
  await expect(name).not.toHaveAttribute("maxlength");

  await name.fill("Climbing");
  await expect(page.locator("#room-name-count")).toHaveText("8/64");
  await name.fill(tooLong);
  await expect(name).toHaveValue(tooLong);
  await expect(page.locator("#room-name-count")).toHaveText("71/64 · 7 too many");
  await expect(name).toHaveAttribute("aria-invalid", "true");

  await page.getByRole("button", { name: "Create room" }).click();
  await expect(page.locator("#room-name-error")).toHaveText("Name must be at most 64 characters");
  await expect(name).toHaveValue(tooLong);
  expect(await db()`select 1 from rooms where name like ${"Pasted nnnn%"}`).toHaveLength(0);
  expect(await liveRoomCount()).toBe(before);
});

test("a 2001-character message stays whole in the box; the counter warns and the server refuses it", async ({ page }) => {
  const roomId = await roomIdByName(seededRooms()[4] ?? "");
  const before = await messageCount(roomId);
  await page.goto(`/rooms/${roomId}`);
  const box = page.getByLabel("Message", { exact: true });
  await expect(box).not.toHaveAttribute("maxlength");
  await box.fill("A short hello");
  // Quiet far from the limit.
  await expect(page.locator("#message-body-count")).toHaveCount(0);
  const tooLong = "y".repeat(2001);
  await box.fill(tooLong);
  await expect(box).toHaveValue(tooLong);
  await expect(page.locator("#message-body-count")).toHaveText("2001/2000 · 1 too many");
  await expect(box).toHaveAttribute("aria-invalid", "true");

  await page.getByRole("button", { name: "Send" }).click();
  await expect(page.locator("#message-body-error")).toHaveText("Message must be at most 2000 characters");
  await expect(box).toHaveValue(tooLong);
  expect(await messageCount(roomId)).toBe(before);
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("a 2001-character message is posted whole and refused by the server with a clear message", async ({ page }) => {
    const roomId = await roomIdByName(seededRooms()[4] ?? "");
    const before = await messageCount(roomId);
    await page.goto(`/rooms/${roomId}`);
    const box = page.getByLabel("Message", { exact: true });
    const tooLong = "z".repeat(2001);
    await box.fill(tooLong);
    await expect(box).toHaveValue(tooLong);
    await page.getByRole("button", { name: "Send" }).click();
    await expect(page.locator("#message-body-error")).toHaveText("Message must be at most 2000 characters");
    await expect(page.getByLabel("Message", { exact: true })).toHaveValue(tooLong);
    expect(await messageCount(roomId)).toBe(before);
  });
});
