import path from "node:path";
import { expect, test, type Page, type TestInfo } from "@playwright/test";

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
    await expectNoHorizontalOverflow(page);
    await shot(page, info, `home-${viewport.name}`);
    await shot(page, info, `home-${viewport.name}-full`, true);

    // The states a visitor meets next: a form error and the open name menu.
    await page.getByLabel("Name", { exact: true }).fill("   ");
    await page.getByRole("button", { name: "Create room" }).click();
    await expect(page.locator("#room-name-error")).toBeVisible();
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
