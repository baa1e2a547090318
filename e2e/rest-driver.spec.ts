import { expect, test } from "@playwright/test";
import { startUpstashRestServer, type UpstashRestServer } from "../tests/support/upstash-rest-server";
import { E2E_REDIS_URL, e2ePort, operatorAuth } from "./env";
import { serverOn, uniqueName } from "./support";

/*
 * Redis over REST (@upstash/redis, as on Vercel KV or Upstash), through the project's local
 * REST server in front of the e2e Redis. The home page is a static render: the client's
 * default `no-store` fetch made Next abort that render's every Redis call ("Page changed
 * from static to dynamic at runtime"), which opened the breaker, so home-page invalidations
 * failed at once and the page cache kept serving the page from before each write.
 */

test.use({ javaScriptEnabled: false });

let rest: UpstashRestServer;
let app: ReturnType<typeof serverOn>;

test.beforeAll(async () => {
  rest = await startUpstashRestServer({ redisUrl: E2E_REDIS_URL });
  // No REDIS_URL: in production the REST variables then pick the @upstash/redis driver.
  app = serverOn(e2ePort(5), { REDIS_URL: undefined, KV_REST_API_URL: rest.url, KV_REST_API_TOKEN: rest.token });
  await app.start();
});

test.afterAll(async () => {
  await app.stop();
  await rest.close();
});

test("Redis over REST: every write is on the home page's next render, and a render never opens the breaker", async ({ request }) => {
  for (let i = 0; i < 4; i++) {
    const name = uniqueName(`REST room ${i}`);
    const created = await request.post(`${app.url}/api/rooms`, { data: { name } });
    expect(created.status()).toBe(201);
    const page = await request.get(`${app.url}/`);
    expect(page.status()).toBe(200);
    expect(await page.text()).toContain(name);
  }
  const health = await (await request.get(`${app.url}/api/health`, { headers: operatorAuth })).json();
  expect(health.redis).toMatchObject({ driver: "upstash", up: true, breaker: "closed" });
  expect(app.output()).not.toContain("static to dynamic");
});
