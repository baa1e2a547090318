import { randomBytes } from "node:crypto";
import { NextRequest } from "next/server";
import { afterEach, describe, expect, it, vi } from "vitest";
import { GET as searchRoute } from "@/app/api/search/route";
import { AppError } from "../errors";
import { PEER_HEADER, peerStampFor } from "../http/peer-address";
import type { Runtime } from "../runtime";
import type { Session } from "../session/session";
import { useInstances } from "../../tests/support/instances";
import { eventually } from "../../tests/support/worker-process";
import { searchParamsSchema } from "./validation";

// The route module is server-only; this test is the server.
vi.mock("server-only", () => ({}));

const alice: Session = { id: "alice-session-0001", name: "Alice" };
const g = globalThis as unknown as { __lobbyRuntime?: Runtime };

/**
 * What a search may cost (issue: 48 concurrent cache-busting searches took the database
 * with them): a rate limit on searches that reach Postgres, a cap on the query's parts, a
 * statement_timeout, and cancellation in Postgres when the request is gone.
 */
describe("search limits (real Postgres and Redis)", () => {
  const t = useInstances({ truncate: "rooms, messages" });
  afterEach(() => {
    delete g.__lobbyRuntime;
  });

  const params = (q: string) => searchParamsSchema.parse({ q });
  /** A word no earlier search used, so the search misses the cache and reaches Postgres. */
  const fresh = () => `zq${randomBytes(4).toString("hex")}`;

  /** Postgres statements of this file's database that are full-text searches, and still running. */
  const runningSearches = async () =>
    t.db.sql<{ pid: number; wait: string | null }[]>`
      select pid, wait_event_type as wait from pg_stat_activity
      where datname = ${t.db.name} and state = 'active' and query like '%websearch_to_tsquery%' and pid <> pg_backend_pid()`;

  /** Holds the messages table (ACCESS EXCLUSIVE) so a search blocks in Postgres: a slow statement, for real. */
  async function holdMessages() {
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let locked!: () => void;
    const holding = new Promise<void>((r) => (locked = r));
    const tx = t.db.sql.begin(async (sql) => {
      await sql`lock table messages in access exclusive mode`;
      locked();
      await released;
    });
    await holding;
    return {
      release: async () => {
        release();
        await tx;
      },
    };
  }

  it("cancels the statement in Postgres when the request is aborted", async () => {
    const rt = t.instance();
    const room = await rt.roomWrites.create(alice, { name: "Slow room" });
    await rt.messageWrites.send(alice, room.id, { body: "a word to find" });
    const lock = await holdMessages();
    try {
      const abort = new AbortController();
      const searching = rt.search.search(params(fresh()), { signal: abort.signal });
      searching.catch(() => {});
      await eventually(async () => ((await runningSearches()).some((r) => r.wait === "Lock") ? true : undefined));
      abort.abort();
      await expect(searching).rejects.toThrow(/aborted/);
      // Gone from Postgres while the lock is still held: cancelled, not finished.
      await eventually(async () => ((await runningSearches()).length === 0 ? true : undefined), 5_000);
    } finally {
      await lock.release();
    }
  });

  it("ends a statement past its statement_timeout with a 503 search_timeout and Retry-After, nothing left running", async () => {
    // The deadline is far off: Postgres' statement_timeout is what ends it.
    const rt = t.instance({ search: { statementTimeoutMs: 300, loadTimeoutMs: 30_000 } });
    const lock = await holdMessages();
    try {
      const error = await rt.search.search(params(fresh())).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AppError);
      expect(error).toMatchObject({ status: 503, code: "search_timeout", retryAfterSeconds: 5 });
      expect(await runningSearches()).toEqual([]);
    } finally {
      await lock.release();
    }
  });

  it("gives up a search queued for the pool past its deadline, and takes it out of the queue", async () => {
    // One connection, held by a blocked search; the second waits for it and runs out its deadline.
    const rt = t.instance({ search: { poolMax: 1, statementTimeoutMs: 20_000, loadTimeoutMs: 500 } });
    const lock = await holdMessages();
    try {
      const first = rt.search.search(params(fresh())).catch((e: unknown) => e);
      await eventually(async () => ((await runningSearches()).length === 1 ? true : undefined));
      const second = await rt.search.search(params(fresh())).catch((e: unknown) => e);
      expect(second).toMatchObject({ status: 503, code: "search_timeout" });
      expect(await first).toMatchObject({ status: 503, code: "search_timeout" }); // its own deadline, then cancelled
      await eventually(async () => ((await runningSearches()).length === 0 ? true : undefined), 5_000);
    } finally {
      await lock.release();
    }
    // The lock is gone: nothing queued runs late (the queue is empty), and the pool serves again.
    expect((await rt.search.search(params("nothing"))).data.hits).toEqual([]);
  });

  it("limits searches that reach Postgres per IP: 429 with Retry-After; cached pages still answer", async () => {
    const rt = (g.__lobbyRuntime = t.instance({ rateLimits: true }));
    const room = await rt.roomWrites.create(alice, { name: "Busy room" });
    await rt.messageWrites.send(alice, room.id, { body: "apples and pears" });
    const get = (q: string, ip = "203.0.113.7") =>
      searchRoute(new NextRequest(new URL(`/api/search?q=${encodeURIComponent(q)}`, "http://lobby.test"), { headers: { [PEER_HEADER]: peerStampFor(ip) } }), {
        params: Promise.resolve({}),
      });
    expect((await get("apples")).status).toBe(200); // now cached
    let refused: Response | undefined;
    for (let i = 0; i < 40 && !refused; i++) {
      const response = await get(fresh());
      if (response.status === 429) refused = response;
      else expect(response.status).toBe(200);
    }
    expect(refused, "no 429 within 40 cache-busting searches").toBeDefined();
    expect(Number(refused!.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(((await refused!.json()) as { error: { code: string } }).error.code).toBe("rate_limited");
    // A page in the cache costs Postgres nothing, so it is not limited; another address is not either.
    expect((await get("apples")).status).toBe(200);
    expect((await get(fresh(), "203.0.113.8")).status).toBe(200);
  });

  it.each([
    ["9 words", "one two three four five six seven eight nine"],
    ["4 ors", "a1 or b1 or c1 or d1 or e1"],
    ["3 phrases", '"a b" "c d" "e f"'],
    ["only exclusions", "-apples -pears"],
    ["an exclusion joined by or", "apples or -pears"],
  ])("refuses a query with %s (400 naming q), before Postgres", async (_label, q) => {
    g.__lobbyRuntime = t.instance();
    t.queries.reset();
    const response = await searchRoute(new NextRequest(new URL(`/api/search?q=${encodeURIComponent(q)}`, "http://lobby.test")), {
      params: Promise.resolve({}),
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { code: string; fields: Record<string, string> } };
    expect(body.error.code).toBe("invalid_query");
    expect(Object.keys(body.error.fields)).toEqual(["q"]);
    expect(t.queries.count).toBe(0);
  });

  it("answers nothing, rather than ranking every message, to a query no index can answer", async () => {
    const rt = t.instance();
    const room = await rt.roomWrites.create(alice, { name: "Orchard" });
    await rt.messageWrites.send(alice, room.id, { body: "apples and pears" });
    await rt.messageWrites.send(alice, room.id, { body: "plums" });
    // A stop word and an exclusion: valid to the form, but websearch_to_tsquery makes `!'pear'` of it.
    expect((await rt.search.search(params("the -pears"))).data.hits).toEqual([]);
    expect((await rt.search.search(params("plums -pears"))).data.hits).toHaveLength(1);
  });
});
