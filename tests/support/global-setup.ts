import postgres from "postgres";
import type { TestProject } from "vitest/node";
import { runMigrations } from "../../lib/db/migrate";
import { PG_ADMIN_URL, dbUrl } from "./services";

declare module "vitest" {
  export interface ProvidedContext {
    /** Names this run's databases, so parallel runs on one machine never touch each other's. */
    testRun: string;
  }
}

const processAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * Once per run: a template database with every migration applied. Each test file then
 * clones it (CREATE DATABASE ... TEMPLATE, milliseconds) and drops its clone. Databases
 * are named `lobby_t_<runner pid>_...`, so leftovers of a crashed run are recognised by
 * their dead pid and dropped, and a run in parallel is left alone.
 */
export default async function setup(project: TestProject) {
  const run = String(process.pid);
  project.provide("testRun", run);
  const admin = postgres(PG_ADMIN_URL, { max: 1, onnotice: () => {} });
  const dropAll = async (pattern: (name: string) => boolean) => {
    const rows = await admin<{ datname: string }[]>`select datname from pg_database where datname like 'lobby_t_%'`;
    for (const { datname } of rows.filter((r) => pattern(r.datname))) {
      await admin.unsafe(`drop database if exists "${datname}" with (force)`);
    }
  };
  await dropAll((name) => {
    const pid = Number(name.split("_")[2]);
    return Number.isInteger(pid) && !processAlive(pid);
  });
  await runMigrations(dbUrl(`lobby_t_${run}_template`));
  return async () => {
    await dropAll((name) => name.startsWith(`lobby_t_${run}_`));
    await admin.end();
  };
}
