import { expect, request as playwrightRequest, test } from "@playwright/test";
import { BASE_URL, PEER_URL } from "./env";
import { uniqueName } from "./support";

/** Two `next start` processes on one database and one Redis: a write through either is on the other's very next read. */

test.use({ javaScriptEnabled: false });

test("a rename through one instance is on the other's next read, API and page", async ({ page }) => {
  const a = await playwrightRequest.newContext({ baseURL: BASE_URL });
  const b = await playwrightRequest.newContext({ baseURL: PEER_URL });
  try {
    const name = uniqueName("Shared room");
    const created = await a.post("/api/rooms", { data: { name } });
    expect(created.status()).toBe(201);
    const { room } = (await created.json()) as { room: { id: string } };

    // Both instances read (and so cache) the room and the list.
    for (const ctx of [a, b]) {
      expect((await (await ctx.get(`/api/rooms/by-id/${room.id}`)).json()).room.name).toBe(name);
      expect((await (await ctx.get("/api/rooms")).json()).rooms.map((r: { name: string }) => r.name)).toContain(name);
    }
    await page.goto(`${PEER_URL}/`);
    await expect(page.getByRole("link", { name, exact: true })).toBeVisible();

    const renamed = `${name} (renamed on A)`;
    expect((await a.patch(`/api/rooms/by-id/${room.id}`, { data: { name: renamed } })).status()).toBe(200);

    // B's very next reads: no waiting, no retry loop.
    expect((await (await b.get(`/api/rooms/by-id/${room.id}`)).json()).room.name).toBe(renamed);
    const names = (await (await b.get("/api/rooms")).json()).rooms.map((r: { name: string }) => r.name);
    expect(names).toContain(renamed);
    expect(names).not.toContain(name);
    await page.goto(`${PEER_URL}/`);
    await expect(page.getByRole("link", { name: renamed, exact: true })).toBeVisible();
    await expect(page.getByRole("link", { name, exact: true })).toHaveCount(0);
  } finally {
    await a.dispose();
    await b.dispose();
  }
});
