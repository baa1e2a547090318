import { expect, test } from "@playwright/test";
import { BASE_URL, METRICS_TOKEN, e2ePort, operatorAuth } from "./env";
import { serverOn } from "./support";

/**
 * What production serves to anyone, and what only to operators (README, Security): the
 * run's main server has METRICS_TOKEN set and BENCH_ROUTES unset; a second server of the
 * same build has no token and the bench's routes on.
 */

const basic = (password: string) => ({ authorization: `Basic ${Buffer.from(`ops:${password}`).toString("base64")}` });

test("production with METRICS_TOKEN: metrics and the health detail need the token, the dashboard asks for it", async ({ request }) => {
  const metrics = await request.get(`${BASE_URL}/api/metrics`);
  expect(metrics.status()).toBe(401);
  expect((await request.get(`${BASE_URL}/api/metrics`, { headers: { authorization: "Bearer wrong-token-0123456789" } })).status()).toBe(401);
  expect((await request.get(`${BASE_URL}/api/metrics`, { headers: operatorAuth })).status()).toBe(200);

  // A browser gets the Basic challenge, so an operator can sign in with the token as the password.
  const dashboard = await request.get(`${BASE_URL}/dashboard`);
  expect(dashboard.status()).toBe(401);
  expect(dashboard.headers()["www-authenticate"]).toMatch(/^Basic realm=/);
  expect(dashboard.headers()["cache-control"]).toContain("no-store");
  expect(await dashboard.text()).not.toContain("Reconciliation");
  expect((await request.get(`${BASE_URL}/dashboard`, { headers: basic("not-the-token") })).status()).toBe(401);
  const signedIn = await request.get(`${BASE_URL}/dashboard`, { headers: basic(METRICS_TOKEN) });
  expect(signedIn.status()).toBe(200);
  expect(await signedIn.text()).toContain("Reconciliation");
  expect((await request.get(`${BASE_URL}/dashboard`, { headers: operatorAuth })).status()).toBe(200);

  // A load balancer's check: the state and the status code, nothing about the insides.
  const health = await request.get(`${BASE_URL}/api/health`);
  expect(health.status()).toBe(200);
  expect(await health.json()).toEqual({ status: "ok" });
  const detail = await request.get(`${BASE_URL}/api/health`, { headers: operatorAuth });
  expect(await detail.json()).toMatchObject({ status: "ok", postgres: { up: true }, redis: { up: true } });
});

test("the bench's baseline routes do not exist without BENCH_ROUTES=true", async ({ request }) => {
  for (const path of ["/bench/static-home", "/bench/constant-rooms"]) {
    const response = await request.get(`${BASE_URL}${path}`);
    expect(response.status(), path).toBe(404);
    expect(await response.text(), path).not.toContain("Benchmark");
  }
});

test.describe("a production server without METRICS_TOKEN, with BENCH_ROUTES=true", () => {
  const server = serverOn(e2ePort(3), { METRICS_TOKEN: undefined, BENCH_ROUTES: "true" });
  test.beforeAll(async () => {
    await server.start();
  });
  test.afterAll(async () => {
    await server.stop();
  });

  test("serves no metrics and no dashboard (404), and only up/degraded/down as health", async ({ request }) => {
    expect((await request.get(`${server.url}/api/metrics`)).status()).toBe(404);
    expect((await request.get(`${server.url}/api/metrics`, { headers: operatorAuth })).status()).toBe(404);
    const dashboard = await request.get(`${server.url}/dashboard`);
    expect(dashboard.status()).toBe(404);
    expect(await dashboard.text()).not.toContain("Reconciliation");
    const health = await request.get(`${server.url}/api/health`, { headers: operatorAuth });
    expect(health.status()).toBe(200);
    expect(await health.json()).toEqual({ status: "ok" });
  });

  test("serves the bench's baseline routes", async ({ request }) => {
    const home = await request.get(`${server.url}/bench/static-home`);
    expect(home.status()).toBe(200);
    expect(await home.text()).toContain("Benchmark baseline");
    const rooms = await request.get(`${server.url}/bench/constant-rooms`);
    expect(rooms.status()).toBe(200);
    expect(((await rooms.json()) as { rooms: unknown[] }).rooms).toHaveLength(50);
  });
});
