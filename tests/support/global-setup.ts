import postgres from "postgres";
import { runMigrations } from "../../lib/db/migrate";
import { PG_ADMIN_URL, TEMPLATE_DB, dbUrl } from "./services";

/**
 * Once per run: a template database with every migration applied. Each test file then
 * clones it (CREATE DATABASE ... TEMPLATE), which takes milliseconds, and drops its clone.
 */
export default async function setup() {
  const admin = postgres(PG_ADMIN_URL, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`drop database if exists ${TEMPLATE_DB} with (force)`);
    // Leftovers of an interrupted run.
    const stale = await admin<{ datname: string }[]>`select datname from pg_database where datname like 'lobby_t_%'`;
    for (const { datname } of stale) await admin.unsafe(`drop database if exists "${datname}" with (force)`);
  } finally {
    await admin.end();
  }
  await runMigrations(dbUrl(TEMPLATE_DB));
}
