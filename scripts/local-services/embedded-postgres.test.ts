import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import postgres from "postgres";
import { afterAll, describe, expect, it } from "vitest";
import { runMigrations } from "../../lib/db/migrate";
import { startEmbeddedPostgres, type RunningPostgres } from "./embedded-postgres";
import { probeTcp } from "./probe";

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

// A project folder is 0755; mkdtemp's 0700 would be out of reach of root's `postgres` user.
const root = mkdtempSync(path.join(tmpdir(), "lobby-embedded-pg-"));
chmodSync(root, 0o755);
const dataDir = path.join(root, "postgres");
let running: RunningPostgres | undefined;
afterAll(async () => {
  await running?.stop(5_000);
  rmSync(root, { recursive: true, force: true });
});

describe("embedded Postgres (the embedded-postgres package's real binaries)", () => {
  it("runs the migrations, is UTF-8 with Unicode-aware lower() and search, keeps its data across a restart, and stops completely", async () => {
    const endpoint = { host: "127.0.0.1", port: await freePort() };
    const url = `postgres://postgres@127.0.0.1:${endpoint.port}/lobby_embedded_test`;
    const start = () => startEmbeddedPostgres({ dataDir, endpoint, user: "postgres", password: "", logFile: path.join(root, "postgres.log") });

    running = await start();
    expect(running.dataDir).toBe(dataDir);
    expect(existsSync(path.join(dataDir, "PG_VERSION"))).toBe(true);
    await runMigrations(url);
    let sql = postgres(url, { max: 1, onnotice: () => {} });
    try {
      const [row] = await sql<{ encoding: string; lower: string; search: boolean }[]>`
        select current_setting('server_encoding') as encoding,
               lower('ÉCOLE ZÜRICH') as lower,
               to_tsvector('english', 'Running in Zürich') @@ websearch_to_tsquery('english', 'runs zürich') as search`;
      expect(row).toEqual({ encoding: "UTF8", lower: "école zürich", search: true });
      await sql`insert into rooms (name, owner_id, owner_name) values ('Kept across restarts', 'o', 'Owner')`;
    } finally {
      await sql.end({ timeout: 5 });
    }

    const postmaster = Number(readFileSync(path.join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
    expect(alive(postmaster)).toBe(true);
    expect(await running.stop(10_000)).toBe(true);
    expect(alive(postmaster)).toBe(false);
    expect(alive(running.child.process.pid!)).toBe(false);
    expect(await probeTcp(endpoint)).toEqual({ state: "nothing" });

    running = await start();
    sql = postgres(url, { max: 1, onnotice: () => {} });
    try {
      const rows = await sql<{ name: string }[]>`select name from rooms`;
      expect(rows.map((r) => r.name)).toEqual(["Kept across restarts"]);
    } finally {
      await sql.end({ timeout: 5 });
    }
  }, 120_000);
});
