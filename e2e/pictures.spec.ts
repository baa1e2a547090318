import path from "node:path";
import { expect, test } from "@playwright/test";
import { METRICS_TOKEN } from "./env";

/**
 * Pictures of the other pages this release changed, at desktop and phone width, with
 * JavaScript on and off (e2e/screenshots/, git-ignored), for a human to look at; each
 * also checks that nothing scrolls sideways.
 */

const pages = [
  { name: "not-found", url: "/rooms/00000000-0000-4000-8000-000000000000/nowhere", heading: "This page isn’t here" },
  { name: "all-rooms", url: "/rooms", heading: "All rooms" },
  { name: "dashboard", url: "/dashboard", heading: "Dashboard" },
];

for (const viewport of [
  { name: "desktop", width: 1280, height: 800 },
  { name: "phone", width: 390, height: 844 },
] as const) {
  for (const javaScriptEnabled of [true, false]) {
    test(`other pages at ${viewport.name} width, JavaScript ${javaScriptEnabled ? "on" : "off"}`, async ({ browser }, info) => {
      // The dashboard is for operators (the run's servers have METRICS_TOKEN): its Basic challenge gets the token.
      const context = await browser.newContext({
        javaScriptEnabled,
        viewport: { width: viewport.width, height: viewport.height },
        httpCredentials: { username: "ops", password: METRICS_TOKEN },
      });
      try {
        const page = await context.newPage();
        for (const p of pages) {
          await page.goto(p.url);
          await expect(page.getByRole("heading", { level: 1, name: p.heading })).toBeVisible();
          await expect(page.getByRole("banner").getByRole("link", { name: "Lobby" })).toBeVisible();
          expect(await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)).toBe(0);
          const file = `${p.name}-${viewport.name}${javaScriptEnabled ? "" : "-nojs"}.png`;
          await page.screenshot({ path: path.join(info.project.testDir, "screenshots", file), fullPage: true, animations: "disabled" });
        }
      } finally {
        await context.close();
      }
    });
  }
}
