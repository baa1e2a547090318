import { defineConfig, devices } from "@playwright/test";
import { BASE_URL, E2E_PORT, NO_DB_PORT, NO_DB_URL, PEER_PORT, PEER_URL, appEnv, noDbAppEnv } from "./e2e/env";

const CI = Boolean(process.env.CI);

/** Another `next start` of the build the first web server made, as one node process. */
function nextStart(port: number, url: string, env: Record<string, string>) {
  return {
    command: `node node_modules/next/dist/bin/next start -p ${port}`,
    url: `${url}/api/session`,
    reuseExistingServer: !CI,
    timeout: 60_000,
    env,
    stdout: "pipe" as const,
    stderr: "pipe" as const,
  };
}

export default defineConfig({
  testDir: "e2e",
  // One worker: the specs share one app and database, and this box has two cores that
  // the server and the browser already use.
  fullyParallel: false,
  workers: 1,
  forbidOnly: CI,
  retries: CI ? 1 : 0,
  reporter: CI ? [["list"], ["html", { open: "never" }]] : "list",
  globalSetup: "./e2e/global-setup.ts",
  use: {
    baseURL: BASE_URL,
    trace: "on-first-retry",
  },
  projects: [
    {
      name: "chromium",
      use: {
        ...devices["Desktop Chrome"],
        launchOptions: {
          // Debian's Chromium; never `npx playwright install` here. Without the networking
          // flags Chromium keeps trying to reach the (closed) network.
          executablePath: "/usr/bin/chromium",
          args: [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
          ],
        },
      },
    },
  ],
  // Started in order: the second reuses the build the first one made.
  webServer: [
    {
      // One node process (not `npx next start`), so stopping it frees the port. The build
      // runs with Postgres and Redis out of reach (closed ports): it must need neither. It
      // is skipped when this checkout's files were built already (always built in CI's
      // fresh clone), and the stamp it leaves lets the first-run spec's `npm run app` skip
      // its own.
      command: `DATABASE_URL=postgres://postgres@127.0.0.1:9/unreachable REDIS_URL=redis://127.0.0.1:9 npm run build:if-stale && node node_modules/next/dist/bin/next start -p ${E2E_PORT}`,
      // Readiness probe that needs neither Postgres nor Redis: global setup recreates the
      // database after the server is up.
      url: `${BASE_URL}/api/session`,
      reuseExistingServer: !CI,
      timeout: 300_000,
      env: appEnv,
      stdout: "pipe",
      stderr: "pipe",
    },
    // Same build, same database and Redis keys: a second web node behind a load balancer.
    nextStart(PEER_PORT, PEER_URL, appEnv),
    // Postgres unreachable: its database errors are the point (output piped, not shown).
    nextStart(NO_DB_PORT, NO_DB_URL, noDbAppEnv),
  ],
});
