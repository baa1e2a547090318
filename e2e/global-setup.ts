import { execFileSync } from "node:child_process";
import { Redis } from "ioredis";
import postgres from "postgres";
import { runMigrations } from "../lib/db/migrate";
import { deleteMatching } from "../tests/support/redis-keys";
import { E2E_DATABASE_URL, E2E_KEY_PREFIX, E2E_REDIS_URL, SEEDED_ROOM_COUNT, appEnv } from "./env";

/**
 * Runs once, after the web server is up (Playwright starts webServer first): a fresh
 * `lobby_e2e` database, no `e2e:` keys left from an earlier run, and 12 rooms seeded
 * through the real `db:seed` script. The seeded names reach the specs through the
 * environment, which workers inherit.
 */
export default async function globalSetup() {
  await recreateDatabase();
  await runMigrations(E2E_DATABASE_URL);
  await deleteKeys();
  // The real CLI, so the e2e run also proves the seed script works; it invalidates the
  // room keys in Redis itself.
  execFileSync("node_modules/.bin/tsx", ["scripts/seed.ts", "--rooms", String(SEEDED_ROOM_COUNT)], {
    env: { ...process.env, ...appEnv },
    stdio: ["ignore", "inherit", "inherit"],
  });
  process.env.E2E_SEEDED_ROOMS = JSON.stringify(await seededNames());
}

async function recreateDatabase() {
  const name = new URL(E2E_DATABASE_URL).pathname.slice(1);
  if (!/^lobby_e2e\w*$/.test(name)) throw new Error(`refusing to drop "${name}": e2e databases are named lobby_e2e*`);
  const admin = new URL(E2E_DATABASE_URL);
  admin.pathname = "/postgres";
  const sql = postgres(admin.toString(), { max: 1, onnotice: () => {} });
  try {
    // FORCE: the app under test may already hold connections to the old database.
    await sql.unsafe(`drop database if exists "${name}" with (force)`);
    await sql.unsafe(`create database "${name}"`);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** Every key of this run's prefix, including the `{e2e:...}:gen` companions; SCAN, never KEYS. */
async function deleteKeys() {
  const redis = new Redis(E2E_REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    for (const pattern of [`${E2E_KEY_PREFIX}*`, `{${E2E_KEY_PREFIX}*`]) await deleteMatching(redis, pattern);
  } finally {
    redis.disconnect();
  }
}

async function seededNames(): Promise<string[]> {
  const sql = postgres(E2E_DATABASE_URL, { max: 1, onnotice: () => {} });
  try {
    const rows = await sql<{ name: string }[]>`select name from rooms where deleted_at is null order by created_at desc`;
    if (rows.length !== SEEDED_ROOM_COUNT) throw new Error(`expected ${SEEDED_ROOM_COUNT} seeded rooms, found ${rows.length}`);
    return rows.map((r) => r.name);
  } finally {
    await sql.end({ timeout: 5 });
  }
}
