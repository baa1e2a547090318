import { expect, test, type Page } from "@playwright/test";
import { db, roomCard, roomLink, seededRooms, uniqueName } from "./support";

test("creates a room and shows it at once, marked as the visitor's", async ({ page }) => {
  const name = uniqueName("Rust Pairing");
  await page.goto("/");
  await expect(page.getByTestId("viewer-name")).toBeVisible();
  const countBefore = Number((await page.locator(".count-pill").innerText()).replace(/\D/g, ""));
  // Survives only if the page is not reloaded: the form must submit in place.
  await page.evaluate(() => ((window as unknown as { marker: number }).marker = 1));

  await page.getByLabel("Name", { exact: true }).fill(name);
  await page.getByLabel("Description").fill("Weekly pairing on small Rust exercises.");
  await page.getByRole("button", { name: "Create room" }).click();

  await expect(roomLink(page, name)).toBeVisible();
  await expect(page.getByRole("status").filter({ hasText: "created" })).toContainText(`Room ${name} created.`);
  await expect(roomCard(page, name).getByText("Yours")).toBeVisible();
  await expect(page.locator(".count-pill")).toHaveText(`${countBefore + 1} rooms`);
  await expect(page.getByLabel("Name", { exact: true })).toHaveValue("");
  expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(1);

  await page.reload();
  await expect(roomLink(page, name)).toBeVisible();
  await expect(roomCard(page, name).getByText("Yours")).toBeVisible();
});

test("a duplicate name (ignoring case) gets an inline error and keeps what was typed", async ({ page }) => {
  const existing = seededRooms()[0] ?? "";
  await page.goto("/");
  const nameField = page.getByLabel("Name", { exact: true });
  await nameField.fill(existing.toUpperCase());
  await page.getByLabel("Description").fill("Same name, different case");
  await page.getByRole("button", { name: "Create room" }).click();

  await expect(page.locator("#room-name-error")).toHaveText("That name is taken");
  await expect(nameField).toHaveAttribute("aria-invalid", "true");
  await expect(nameField).toBeFocused();
  await expect(nameField).toHaveValue(existing.toUpperCase());
  await expect(page.getByLabel("Description")).toHaveValue("Same name, different case");
  const [row] = await db()<{ n: number }[]>`select count(*)::int as n from rooms where lower(name) = lower(${existing})`;
  expect(row?.n).toBe(1);
});

test("changes the display name, which sticks across reloads and goes on new rooms", async ({ page }) => {
  await page.goto("/");
  const viewerName = page.getByTestId("viewer-name");
  await expect(viewerName).toBeVisible();

  await page.getByTestId("viewer-name").click();
  const field = page.getByLabel("Display name");
  await field.fill("   ");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.locator("#display-name-error")).toHaveText("Display name is required");
  await expect(field).toHaveAttribute("aria-invalid", "true");

  await field.fill("Ada Lovelace");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(viewerName).toHaveText("Ada Lovelace");
  await expect(field).toBeHidden();

  await page.reload();
  await expect(viewerName).toHaveText("Ada Lovelace");

  const room = uniqueName("Analytical Engines");
  await page.getByLabel("Name", { exact: true }).fill(room);
  await page.getByRole("button", { name: "Create room" }).click();
  await expect(roomCard(page, room)).toContainText("Ada Lovelace");
});

/** fetch() from the page: the browser's own cookie handling (a Secure cookie on http://127.0.0.1 included). */
async function call(page: Page, method: string, body?: string, contentType = "application/json") {
  return page.evaluate(
    async ([method, body, contentType]) => {
      const response = await fetch("/api/session", { method, body, headers: body ? { "content-type": contentType } : {} });
      return { status: response.status, cacheControl: response.headers.get("cache-control"), json: (await response.json()) as unknown };
    },
    [method, body, contentType] as const,
  );
}

test("session API: GET returns the session, PATCH validates and renames", async ({ page }) => {
  await page.goto("/");
  // Let the page's own first GET settle the cookie; two concurrent first requests would
  // each mint a session.
  await expect(page.getByTestId("viewer-name")).toBeVisible();
  const me = await call(page, "GET");
  expect(me.status).toBe(200);
  expect(me.cacheControl).toContain("no-store");
  const session = me.json as { id: string; name: string };
  expect(session.id).toMatch(/^[A-Za-z0-9_-]{16,64}$/);

  const bad = await call(page, "PATCH", JSON.stringify({ name: "" }));
  expect(bad.status).toBe(400);
  expect(bad.json).toEqual({
    error: { code: "invalid_input", message: "Some fields are invalid", fields: { name: "Display name is required" } },
  });
  expect((await call(page, "PATCH", JSON.stringify({ name: "x", admin: true }))).status).toBe(400);
  expect((await call(page, "PATCH", "name=x", "text/plain")).status).toBe(415);

  const renamed = await call(page, "PATCH", JSON.stringify({ name: "  Grace Hopper " }));
  expect(renamed.status).toBe(200);
  expect(renamed.json).toEqual({ id: session.id, name: "Grace Hopper" });
  expect((await call(page, "GET")).json).toEqual({ id: session.id, name: "Grace Hopper" });
});
