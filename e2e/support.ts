import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { expect, type Page } from "@playwright/test";
import postgres from "postgres";
import { E2E_DATABASE_URL, appEnv } from "./env";

/** The rooms global setup seeded, newest created first (the page lists rooms by last activity). */
export function seededRooms(): string[] {
  const raw = process.env.E2E_SEEDED_ROOMS;
  if (!raw) throw new Error("E2E_SEEDED_ROOMS is missing: run through `npx playwright test` (global setup)");
  return JSON.parse(raw) as string[];
}

/** A room name no other test or earlier run has used (retries included). */
export function uniqueName(label: string): string {
  return `${label} ${randomBytes(3).toString("hex")}`;
}

let sql: postgres.Sql | undefined;

/** Direct database access, to check what was (not) stored. */
export function db(): postgres.Sql {
  sql ??= postgres(E2E_DATABASE_URL, { max: 1, onnotice: () => {} });
  return sql;
}

export async function liveRoomCount(): Promise<number> {
  const [row] = await db()<{ n: number }[]>`select count(*)::int as n from rooms where deleted_at is null`;
  return row?.n ?? 0;
}

/** The room list, as opposed to the success message that also links to a new room. */
export const roomList = (page: Page) => page.getByRole("region", { name: "Rooms" }).getByRole("list");

export const roomLink = (page: Page, name: string) => roomList(page).getByRole("link", { name, exact: true });

/** The card of the room with this name. */
export const roomCard = (page: Page, name: string) =>
  roomList(page).getByRole("listitem").filter({ has: page.getByRole("link", { name, exact: true }) });

/** The first paint is the final paint: nothing on the page says it is still loading. */
export async function expectNoLoadingUi(page: Page) {
  await expect(page.locator('[aria-busy="true"]')).toHaveCount(0);
  await expect(page.getByRole("progressbar")).toHaveCount(0);
  await expect(page.getByText(/loading/i)).toHaveCount(0);
}

/** The id of the live room with this name. */
export async function roomIdByName(name: string): Promise<string> {
  const [row] = await db()<{ id: string }[]>`select id from rooms where name = ${name} and deleted_at is null`;
  if (!row) throw new Error(`no live room named "${name}"`);
  return row.id;
}

/**
 * Writes messages straight to Postgres (faster than the rate-limited API), then does what
 * the app's writers do: bump the conversation's version and invalidate `messages:{id}`.
 */
export async function seedMessages(roomId: string, bodies: string[]): Promise<void> {
  const sql = db();
  let activityMs = Date.now();
  await sql.begin(async (tx) => {
    for (const body of bodies) {
      await tx`insert into messages (room_id, author_id, author_name, body) values (${roomId}, 'e2e-seed-author-01', 'Seed Bot', ${body})`;
    }
    const [row] = await tx<{ ms: string }[]>`update rooms set message_version = nextval('message_version_seq'), last_activity_at = now() where id = ${roomId} returning (extract(epoch from last_activity_at) * 1000)::bigint as ms`;
    activityMs = Number(row?.ms ?? Date.now());
  });
  const { Redis } = await import("ioredis");
  const { E2E_KEY_PREFIX, E2E_REDIS_URL } = await import("./env");
  const redis = new Redis(E2E_REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    const { createKeys } = await import("../lib/cache/keys");
    const { INVALIDATE, invalidateCall } = await import("../lib/cache/protocol");
    const keys = createKeys(E2E_KEY_PREFIX);
    const call = invalidateCall(keys, keys.messages(roomId));
    await redis.eval(INVALIDATE.source, call.keys.length, ...call.keys, ...call.args);
    // The room list's order, as a send bumps it (GT: never backwards).
    await redis.zadd(keys.roomsActivity, "GT", activityMs, roomId);
    // And the home page's render, which shows that order, expires (lib/page-cache).
    const { pageCacheKeys } = await import("../lib/page-cache/page-cache");
    const { HOME_PAGE_TAGS } = await import("../lib/page-cache/page-tags");
    const { PAGE_INVALIDATE, pageInvalidateCall } = await import("../lib/page-cache/protocol");
    const mark = pageInvalidateCall(pageCacheKeys(E2E_KEY_PREFIX), HOME_PAGE_TAGS, "hard");
    await redis.eval(PAGE_INVALIDATE.source, mark.keys.length, ...mark.keys, ...mark.args);
  } finally {
    redis.disconnect();
  }
}

export async function messageCount(roomId: string): Promise<number> {
  const [row] = await db()<{ n: number }[]>`select count(*)::int as n from messages where room_id = ${roomId} and deleted_at is null`;
  return row?.n ?? 0;
}

/**
 * Another `next start` of the same build, with a different environment (over the e2e app's;
 * `undefined` removes a variable); stopped by its own handle. `output()` is what it printed.
 */
export function serverOn(port: number, env: Record<string, string | undefined>) {
  let server: ChildProcess | undefined;
  let output = "";
  const spawnServer = () => {
    const merged: Record<string, string | undefined> = { ...process.env, ...appEnv, ...env };
    for (const [k, v] of Object.entries(merged)) if (v === undefined) delete merged[k];
    const child = spawn(process.execPath, ["node_modules/next/dist/bin/next", "start", "-p", String(port)], {
      env: merged as NodeJS.ProcessEnv,
      stdio: ["ignore", "pipe", "pipe"],
    });
    for (const stream of [child.stdout, child.stderr]) stream?.on("data", (d: Buffer) => (output = (output + d).slice(-20_000)));
    server = child;
    return child;
  };
  return {
    url: `http://127.0.0.1:${port}`,
    output: () => output,
    /**
     * Starts it and resolves with how it exited, for a server that must refuse to start; one
     * still running after `timeoutMs` is killed, and resolves as `{ code: null, signal: "SIGKILL" }`.
     */
    async run(timeoutMs: number) {
      const child = spawnServer();
      const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once("exit", (code, signal) => resolve([code, signal])));
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      const [code, signal] = await exited;
      clearTimeout(timer);
      return { code, signal, output };
    },
    async start() {
      spawnServer();
      await expect(async () => {
        expect((await fetch(`http://127.0.0.1:${port}/api/session`)).ok).toBe(true);
      }).toPass({ timeout: 30_000, intervals: [250] });
    },
    async stop() {
      if (!server || server.exitCode !== null) return;
      const exited = new Promise((resolve) => server!.once("exit", resolve));
      server.kill("SIGTERM");
      await exited;
    },
  };
}
