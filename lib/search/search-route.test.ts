import { NextRequest } from "next/server";
import { afterEach, describe, expect, it, vi } from "vitest";
import { GET as searchRoute } from "@/app/api/search/route";
import { GET as statsRoute } from "@/app/api/stats/route";
import type { Runtime } from "../runtime";
import { useInstances } from "../../tests/support/instances";

// The route modules are server-only; this test is the server.
vi.mock("server-only", () => ({}));

const alice = { id: "alice-session-0001", name: "Alice" };
const g = globalThis as unknown as { __lobbyRuntime?: Runtime };
const call = (handler: typeof searchRoute, url: string) =>
  handler(new NextRequest(new URL(url, "http://lobby.test")), { params: Promise.resolve({}) });

describe("GET /api/search and GET /api/stats (the route handlers)", () => {
  const t = useInstances({ truncate: "rooms, messages" });
  afterEach(() => {
    delete g.__lobbyRuntime;
  });

  it.each([
    ["no q", "/api/search", "q"],
    ["an empty q", "/api/search?q=", "q"],
    ["only spaces", "/api/search?q=%20%20%20", "q"],
    ["201 characters", `/api/search?q=${"a".repeat(201)}`, "q"],
    ["a control character", "/api/search?q=hello%00world", "q"],
    ["punctuation alone", "/api/search?q=%26%26%26%21%21", "q"],
    ["two q", "/api/search?q=a&q=b", "q"],
    ["limit 0", "/api/search?q=ok&limit=0", "limit"],
    ["limit 51", "/api/search?q=ok&limit=51", "limit"],
    ["a word for a limit", "/api/search?q=ok&limit=many", "limit"],
    ["a malformed cursor", "/api/search?q=ok&cursor=abc", "cursor"],
    ["a cursor too deep", "/api/search?q=ok&cursor=5000", "cursor"],
  ])("answers 400 to %s, naming the field, without touching Postgres", async (_label, url, field) => {
    g.__lobbyRuntime = t.instance();
    t.queries.reset();
    const response = await call(searchRoute, url);
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { code: string; message: string; fields: Record<string, string> } };
    expect(body.error.code).toBe("invalid_query");
    expect(Object.keys(body.error.fields)).toEqual([field]);
    expect(t.queries.count).toBe(0);
  });

  it("answers a search with ranked results and segment snippets, and the stats in their documented shape", async () => {
    const rt = (g.__lobbyRuntime = t.instance());
    const room = await rt.roomWrites.create(alice, { name: "Route test" });
    await rt.messageWrites.send(alice, room.id, { body: "<b>bold</b> claim" });
    const response = await call(searchRoute, "/api/search?q=claim&limit=5");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      query: "claim",
      nextCursor: null,
      results: [
        expect.objectContaining({
          kind: "message",
          roomId: room.id,
          roomName: "Route test",
          title: null,
          snippet: [
            { text: "<b>bold</b> ", hit: false },
            { text: "claim", hit: true },
          ],
          createdAt: expect.stringMatching(/Z$/),
        }),
      ],
    });

    const stats = await call(statsRoute, "/api/stats");
    expect(await stats.json()).toEqual({
      stats: { rooms: 1, messages: 1, activeRooms24h: 1, messagesToday: 1, computedAt: expect.stringMatching(/Z$/) },
      fresh: true,
    });
  });
});
