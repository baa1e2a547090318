import path from "node:path";
import { expect, test, type Page, type TestInfo } from "@playwright/test";
import { createIoredisStore } from "../lib/cache/ioredis-store";
import { Redis } from "ioredis";
import { createKeys, ttlsFor } from "../lib/cache/keys";
import { minuteId } from "../lib/observability/minute-counters";
import { createDb } from "../lib/db/client";
import { RoomReconciliationService } from "../lib/reconcile/reconciliation-service";
import { E2E_DATABASE_URL, E2E_KEY_PREFIX, E2E_REDIS_URL, METRICS_TOKEN, e2ePort } from "./env";
import { serverOn } from "./support";

/**
 * /dashboard with JavaScript off: server-rendered SVG charts and tables carrying real
 * numbers (cache hits counted from this run's own requests, a reconciliation run), the
 * kill switch on a server of its own, and screenshots at desktop and phone width
 * (test-results/dashboard-*.png) for a human to look at.
 */

// The run's servers are production ones with METRICS_TOKEN set: the dashboard's Basic challenge gets the token.
test.use({ javaScriptEnabled: false, httpCredentials: { username: "ops", password: METRICS_TOKEN } });

/** One reconciliation, as the worker runs it, so the history has a row (the e2e run starts no worker). */
async function reconcileOnce() {
  const db = createDb(E2E_DATABASE_URL, { max: 1 });
  const store = createIoredisStore(E2E_REDIS_URL, { commandTimeout: 10_000 });
  try {
    const service = new RoomReconciliationService({ db: db.db, store, keys: createKeys(E2E_KEY_PREFIX), ttls: ttlsFor("production") });
    return await service.run({ force: true, reason: "e2e" });
  } finally {
    await store.close();
    await db.close();
  }
}

/** The rooms-all hit count in the cache table; 0 while the row is absent (nothing counted yet). */
async function hits(page: Page): Promise<number> {
  const cell = page.getByTestId("hits-rooms-all");
  if ((await cell.count()) === 0) return 0;
  return Number((await cell.textContent())?.replace(/,/g, "") ?? 0);
}

async function expectNoHorizontalOverflow(page: Page) {
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  expect(overflow).toBe(0);
}

/** Counts for the few minutes before this one, as the web instances would have flushed them: a history to chart. */
async function seedEarlierMinutes(minutes: number) {
  const redis = new Redis(E2E_REDIS_URL, { maxRetriesPerRequest: 1 });
  const keys = createKeys(E2E_KEY_PREFIX);
  try {
    for (let i = 1; i <= minutes; i++) {
      const key = keys.metricsMinute(minuteId(Date.now() - i * 60_000));
      await redis.hincrby(key, "rooms-all:hit", 3);
      await redis.hincrby(key, "rooms-all:miss", 1);
      await redis.hincrby(key, "served:cache", 3);
      await redis.hincrby(key, "served:db", 1);
      await redis.expire(key, 7_200);
    }
  } finally {
    redis.disconnect();
  }
}

/** Every box in `selector` holds its content: nothing sticks out of its card. */
async function expectContained(page: Page, selector: string) {
  const spills = await page.locator(selector).evaluateAll((boxes) =>
    boxes.flatMap((box) => {
      const outer = box.getBoundingClientRect();
      return [...box.querySelectorAll("*")]
        .filter((el) => {
          const r = el.getBoundingClientRect();
          return r.width > 0 && (r.right > outer.right + 0.5 || r.left < outer.left - 0.5);
        })
        .map((el) => `${box.getAttribute("data-testid")}: ${el.textContent}`);
    }),
  );
  expect(spills).toEqual([]);
}

const shot = (page: Page, info: TestInfo, name: string) =>
  page.screenshot({ path: path.join(info.project.outputDir, `${name}.png`), fullPage: true, animations: "disabled" });

test("renders charts and tables with real values without JavaScript", async ({ page, request }, info) => {
  for (let i = 0; i < 5; i++) expect((await request.get("/api/rooms")).ok()).toBe(true);
  await seedEarlierMinutes(5);
  const report = await reconcileOnce();
  expect(report.skipped).toBe(false);
  // A second run: one run is a dot, and the run charts wait for two.
  expect((await reconcileOnce()).skipped).toBe(false);

  // Counts reach Redis within a flush period (5 s): reload until they show.
  await expect(async () => {
    const response = await page.goto("/dashboard");
    expect(response?.status()).toBe(200);
    expect(await hits(page)).toBeGreaterThan(0);
  }).toPass({ timeout: 20_000, intervals: [1_000] });

  await expect(page.getByRole("heading", { name: "Dashboard", level: 1 })).toBeVisible();
  await expect(page.locator("figure.chart svg").first()).toBeVisible();
  await expect(page.getByRole("img", { name: /Hit rate per cache/ })).toBeVisible();
  await expect(page.locator("figure.chart .chart-line").first()).toBeAttached();
  await expect(page.getByText(/Collecting data/)).toHaveCount(0);
  await expect(page.getByTestId("cache-table").getByRole("row", { name: /rooms-all/ })).toBeVisible();
  const runs = page.getByTestId("reconcile-table").locator("tbody tr");
  expect(await runs.count()).toBeGreaterThanOrEqual(1);
  await expect(runs.filter({ hasText: "e2e" }).first()).toBeVisible();
  await expect(page.getByTestId("tile-postgres")).toContainText("Up");
  await expect(page.getByTestId("tile-redis")).toContainText("Up");
  await expect(page.getByTestId("tile-breaker")).toContainText("Closed");
  await expect(page.getByTestId("tile-queue")).toContainText("waiting");
  // Without JavaScript the page still refreshes itself.
  expect(await page.locator('noscript').innerHTML()).toContain('http-equiv="refresh"');

  await page.setViewportSize({ width: 1280, height: 900 });
  await expectNoHorizontalOverflow(page);
  await shot(page, info, "dashboard-desktop");
  await page.setViewportSize({ width: 390, height: 844 });
  await expectNoHorizontalOverflow(page);
  await shot(page, info, "dashboard-phone");
});

test("the dashboard has the site's header, marked as the current page", async ({ page }) => {
  await page.goto("/dashboard");
  const header = page.getByRole("banner");
  await expect(header.getByRole("link", { name: "Lobby" })).toHaveAttribute("href", "/");
  await expect(header.getByRole("link", { name: "Dashboard" })).toHaveAttribute("aria-current", "page");
  // The same header as the home page's: its name menu works without JavaScript too.
  await expect(header.locator("details.viewer summary")).toBeVisible();
});

test("the site header links to the dashboard", async ({ page }, info) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto("/");
  await expectNoHorizontalOverflow(page);
  await page.screenshot({ path: path.join(info.project.outputDir, "header-phone.png"), clip: { x: 0, y: 0, width: 390, height: 120 } });
  await page.getByRole("link", { name: "Dashboard" }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
});

test.describe("a fresh app", () => {
  // A key prefix of its own, so no minute has been counted yet (started on its own: the
  // degraded block's two servers already load a small machine).
  const fresh = serverOn(e2ePort(9), { REDIS_KEY_PREFIX: `${E2E_KEY_PREFIX}fresh:` });
  test.beforeAll(async () => {
    await fresh.start();
  });
  test.afterAll(async () => {
    await fresh.stop();
  });

  test("the charts say they are collecting data instead of squeezing a minute into the hour", async ({ page, request }, info) => {
    for (let i = 0; i < 3; i++) expect((await request.get(`${fresh.url}/api/rooms`)).ok()).toBe(true);
    // Counts reach Redis within a flush period (5 s).
    await expect(async () => {
      await page.goto(`${fresh.url}/dashboard`);
      expect(await hits(page)).toBeGreaterThan(0);
    }).toPass({ timeout: 20_000, intervals: [1_000] });
    await expect(page.getByRole("img", { name: /Hit rate per cache\. Collecting data/ })).toBeVisible();
    await expect(page.getByRole("img", { name: /Requests served from cache vs Postgres\. Collecting data/ })).toBeVisible();
    await expect(page.locator("figure.chart .chart-bar, figure.chart .chart-line, figure.chart .chart-dot")).toHaveCount(0);
    await page.setViewportSize({ width: 1280, height: 900 });
    await shot(page, info, "dashboard-fresh-desktop");
  });
});

/**
 * A 200 whose Postgres tile says Up. A fresh server's first health check opens its first
 * Postgres connection inside the check's 1 s deadline; on a loaded machine that can miss,
 * and the page then says so (correctly). The page refreshes itself; so does this.
 */
async function loadWithPostgresUp(page: Page, url: string) {
  await expect(async () => {
    const response = await page.goto(url);
    expect(response?.status()).toBe(200);
    await expect(page.getByTestId("tile-postgres")).toContainText("Up", { timeout: 1_000 });
  }).toPass({ timeout: 20_000, intervals: [1_000] });
}

test.describe("degraded", () => {
  // No configured e2e server runs with the cache off or Redis down: these two start their own.
  const cacheOff = serverOn(e2ePort(7), { CACHE_ENABLED: "false" });
  const redisDown = serverOn(e2ePort(8), { REDIS_URL: "redis://127.0.0.1:1" });
  test.beforeAll(async () => {
    await Promise.all([cacheOff.start(), redisDown.start()]);
  });
  test.afterAll(async () => {
    await Promise.all([cacheOff.stop(), redisDown.stop()]);
  });

  test("kill switch: says the cache is off, with no errors", async ({ page }, info) => {
    await loadWithPostgresUp(page, `${cacheOff.url}/dashboard`);
    await expect(page.getByTestId("cache-off")).toContainText("Cache is off: every read goes to Postgres");
    await expect(page.getByTestId("tile-redis")).toContainText("Not used");
    await expect(page.getByTestId("traffic-unavailable")).toContainText("Cache is off");
    await page.setViewportSize({ width: 1280, height: 900 });
    await shot(page, info, "dashboard-cache-off");
  });

  test("Redis down: renders with Redis unreachable states, not an error page", async ({ page }, info) => {
    await loadWithPostgresUp(page, `${redisDown.url}/dashboard`);
    await expect(page.getByTestId("tile-redis")).toContainText("Redis unreachable");
    await expect(page.getByTestId("traffic-unavailable")).toContainText("Redis unreachable");
    await expect(page.getByTestId("tile-queue")).toContainText("Unavailable");
    await page.setViewportSize({ width: 1280, height: 900 });
    await expectContained(page, ".dash-tile");
    await shot(page, info, "dashboard-redis-down-desktop");
    await page.setViewportSize({ width: 390, height: 844 });
    await expectContained(page, ".dash-tile");
    await expectNoHorizontalOverflow(page);
    await shot(page, info, "dashboard-redis-down-phone");
  });
});
