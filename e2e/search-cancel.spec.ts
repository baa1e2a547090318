import { randomBytes } from "node:crypto";
import { expect, test } from "@playwright/test";
import postgres from "postgres";
import { E2E_DATABASE_URL, e2ePort } from "./env";
import { db, serverOn } from "./support";

/**
 * A search whose client hangs up is cancelled in Postgres, over real HTTP: Next aborts the
 * route's `request.signal` when the connection closes, and the search cancels its
 * statement. The server here has a 30 s search timeout, so nothing but the hang-up can end
 * the statement within the few seconds the test waits.
 */

const server = serverOn(e2ePort(4), { SEARCH_TIMEOUT_MS: "30000" });
test.beforeAll(async () => {
  await server.start();
});
test.afterAll(async () => {
  await server.stop();
});

const database = new URL(E2E_DATABASE_URL).pathname.slice(1);
const runningSearches = async () =>
  db()<{ pid: number; wait: string | null }[]>`
    select pid, wait_event_type as wait from pg_stat_activity
    where datname = ${database} and state = 'active' and query like '%websearch_to_tsquery%' and pid <> pg_backend_pid()`;

test("a search whose client hangs up is cancelled in Postgres", async () => {
  // Hold the messages table so the search blocks inside Postgres: a slow statement, for real.
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let locked!: () => void;
  const holding = new Promise<void>((r) => (locked = r));
  // A connection of its own: db()'s single one keeps polling pg_stat_activity meanwhile.
  const holder = postgres(E2E_DATABASE_URL, { max: 1, onnotice: () => {} });
  const tx = holder.begin(async (sql) => {
    await sql`lock table messages in access exclusive mode`;
    locked();
    await released;
  });
  try {
    await holding;
    const abort = new AbortController();
    const request = fetch(`${server.url}/api/search?q=zq${randomBytes(4).toString("hex")}`, { signal: abort.signal }).catch(() => null);
    await expect(async () => expect((await runningSearches()).some((r) => r.wait === "Lock")).toBe(true)).toPass({ timeout: 10_000 });
    abort.abort();
    await request;
    // Gone while the lock is still held: cancelled, not finished (and 30 s from its timeout).
    await expect(async () => expect(await runningSearches()).toEqual([])).toPass({ timeout: 10_000 });
  } finally {
    release();
    await tx;
    await holder.end();
  }
});
