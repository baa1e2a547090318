import { expect, test } from "@playwright/test";
import { PEER_URL } from "./env";
import { uniqueName } from "./support";

/*
 * The home page through the proxy's slots (lib/page-cache/render-gate.ts): one shared,
 * cached page that no visitor's query string gets into, and slots that cannot be asked for
 * from outside.
 */

test("a query string never enters the shared home page", async ({ request }) => {
  const token = `probe${Date.now()}`;
  // A write expires the page, so the next request renders it: here, one with a query. (The
  // room is deleted again, which expires the page too: other specs count the rooms.)
  const created = await request.post("/api/rooms", { data: { name: uniqueName("Query probe") } });
  expect(created.status()).toBe(201);
  const { room } = (await created.json()) as { room: { id: string } };
  expect((await request.delete(`/api/rooms/by-id/${room.id}`)).status()).toBe(204);
  expect((await request.get(`/?utm_source=${token}&x=${"y".repeat(2000)}`)).status()).toBe(200);
  // Everyone else, on this instance and the other, gets the page without it.
  for (const url of ["/", `${PEER_URL}/`]) {
    const page = await request.get(url);
    expect(page.status()).toBe(200);
    expect(await page.text()).not.toContain(token);
  }
});

test("the slots exist only behind the proxy: /home/... from outside is a 404", async ({ request }) => {
  for (const path of ["/home/1", "/home/0", "/home"]) expect((await request.get(path)).status()).toBe(404);
});
