import { expect, test } from "@playwright/test";
import { Redis } from "ioredis";
import { pageCacheKeys } from "../lib/page-cache/page-cache";
import { HOME_PAGE_TAGS } from "../lib/page-cache/page-tags";
import { PAGE_INVALIDATE, pageInvalidateCall } from "../lib/page-cache/protocol";
import { E2E_KEY_PREFIX, E2E_REDIS_URL, NO_DB_URL } from "./env";
import { expectNoLoadingUi, roomLink, seededRooms } from "./support";

/**
 * Postgres down, Redis up: the page still paints the whole list from the last-known-good
 * copy, marked by a banner, instead of an error page (DESIGN.md read path, step 5).
 */
test.use({ javaScriptEnabled: false });

/*
 * The live keys go, and the home page's cached render is expired, as a write's
 * invalidation would (lib/page-cache): otherwise that render, still current, is served.
 */
const pageKeys = pageCacheKeys(E2E_KEY_PREFIX);
const dropLiveKeys = async (redis: Redis) => {
  await redis.unlink(`${E2E_KEY_PREFIX}rooms:all`, `${E2E_KEY_PREFIX}rooms:count`);
  const mark = pageInvalidateCall(pageKeys, HOME_PAGE_TAGS, "hard");
  await redis.eval(PAGE_INVALIDATE.source, mark.keys.length, ...mark.keys, ...mark.args);
};

test("with the database unreachable, the saved list is served with a banner", async ({ page }) => {
  await page.goto("/");
  // Warm the second instance while the list is cached: its first Redis read also opens
  // the connection, which can outlast the 50 ms read deadline on a busy box (reported).
  await expect.poll(async () => (await page.request.get(NO_DB_URL)).status(), { timeout: 15_000 }).toBe(200);

  const redis = new Redis(E2E_REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    // A load through the healthy instance writes the last-known-good copy...
    await dropLiveKeys(redis);
    await page.goto("/");
    await expect(page.locator(".stale-banner")).toHaveCount(0);
    // ...then the live keys go, so the instance without a database must fall back to it.
    await dropLiveKeys(redis);
  } finally {
    redis.disconnect();
  }

  const response = await page.goto(NO_DB_URL);
  expect(response?.status()).toBe(200);
  await expect(page.getByRole("status").filter({ hasText: "Showing saved data" })).toHaveText(
    /Showing saved data: the database is unreachable/,
  );
  for (const name of seededRooms()) await expect(roomLink(page, name)).toBeVisible();
  await expectNoLoadingUi(page);
  // A page made from the saved copy is not kept: the healthy instance renders current data.
  await page.goto("/");
  await expect(page.locator(".stale-banner")).toHaveCount(0);
});
