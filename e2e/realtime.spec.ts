import { expect, request as playwrightRequest, test } from "@playwright/test";
import { BASE_URL, PEER_URL, operatorAuth } from "./env";
import { roomLink, uniqueName } from "./support";

/**
 * Realtime across instances (DESIGN.md, Realtime): a write through one `next start`
 * reaches Server-Sent Events streams served by the other, through Redis.
 */

interface SseEvent {
  id: string;
  event: string;
  data: string;
}

/** A text/event-stream read with fetch: the frames as they arrive. */
async function openStream(url: string, headers: Record<string, string> = {}) {
  const abort = new AbortController();
  const response = await fetch(url, { headers: { accept: "text/event-stream", ...headers }, signal: abort.signal });
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toContain("text/event-stream");
  expect(response.headers.get("cache-control")).toBe("no-cache, no-transform");
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  const events: SseEvent[] = [];
  let text = "";
  let waiters: (() => void)[] = [];
  const pump = (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        text += decoder.decode(value, { stream: true });
        const frames = text.split("\n\n");
        text = frames.pop() ?? "";
        for (const frame of frames) {
          const field = (name: string) => frame.split("\n").find((l) => l.startsWith(`${name}: `))?.slice(name.length + 2) ?? "";
          if (field("event")) events.push({ id: field("id"), event: field("event"), data: field("data") });
        }
        const w = waiters;
        waiters = [];
        w.forEach((f) => f());
      }
    } catch {
      // Aborted.
    }
  })();
  /** Resolves with the events once `until` holds; rejects after `timeoutMs`. */
  const waitFor = async (until: (events: SseEvent[]) => boolean, timeoutMs = 5_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!until(events)) {
      if (Date.now() > deadline) throw new Error(`timed out; got ${JSON.stringify(events.map((e) => e.event))}`);
      await Promise.race([new Promise<void>((r) => waiters.push(r)), new Promise((r) => setTimeout(r, 50))]);
    }
    return events;
  };
  return {
    events,
    waitFor,
    /** The stream is subscribed and caught up (after any replay): the server's `ready` has arrived. */
    ready: () => waitFor((e) => e.some((x) => x.event === "ready")),
    async close() {
      abort.abort();
      await pump;
    },
  };
}

/** Creates a room through instance A, each time as a new visitor (the per-visitor creation limit). */
async function createRoom(name: string): Promise<string> {
  const api = await playwrightRequest.newContext({ baseURL: BASE_URL });
  try {
    const created = await api.post("/api/rooms", { data: { name } });
    expect(created.status()).toBe(201);
    return ((await created.json()) as { room: { id: string } }).room.id;
  } finally {
    await api.dispose();
  }
}

const roomName = (e: SseEvent) => (JSON.parse(e.data) as { room: { name: string } }).room.name;

test("a stream on one instance hears a room created through the other", async () => {
  const stream = await openStream(`${PEER_URL}/api/events`);
  try {
    await stream.ready();
    const name = uniqueName("Live room");
    await createRoom(name);
    // Delivery latency is the bench's fan-out scenario to measure; here, that it arrives.
    const events = await stream.waitFor((e) => e.some((x) => x.event === "room.created" && roomName(x) === name));
    const created = events.find((x) => x.event === "room.created" && roomName(x) === name)!;
    expect(created.id).toMatch(/^\d+-\d+$/);
  } finally {
    await stream.close();
  }
});

test("a reconnect with Last-Event-ID replays exactly the missed events, then goes live", async () => {
  const first = await openStream(`${PEER_URL}/api/events`);
  const seen = uniqueName("Seen");
  let lastId: string;
  try {
    await first.ready();
    await createRoom(seen);
    const events = await first.waitFor((e) => e.some((x) => x.event === "room.created" && roomName(x) === seen));
    lastId = events.at(-1)!.id;
  } finally {
    await first.close();
  }

  const missed = [uniqueName("Missed 1"), uniqueName("Missed 2")];
  for (const name of missed) await createRoom(name);

  // The header a reconnecting EventSource sends, to the other instance this time.
  const again = await openStream(`${BASE_URL}/api/events`, { "Last-Event-ID": lastId });
  try {
    // The replay, then `ready` (caught up), then live events.
    const replayed = await again.ready();
    expect(replayed.map((e) => e.event)).toEqual(["room.created", "room.created", "ready"]);
    expect(replayed.slice(0, 2).map((e) => roomName(e))).toEqual(missed);
    // No duplicates of what was seen, and ids keep increasing.
    expect(replayed.map((e) => e.id)).not.toContain(lastId);
    const live = uniqueName("After replay");
    await createRoom(live);
    const all = (await again.waitFor((e) => e.length >= 4)).filter((e) => e.event !== "ready");
    expect(all.map((e) => roomName(e))).toEqual([...missed, live]);
  } finally {
    await again.close();
  }
});

test("a room's stream: 400 for a malformed id, 404 for an unknown room", async () => {
  expect((await fetch(`${PEER_URL}/api/rooms/by-id/not-a-uuid/events`)).status).toBe(400);
  expect((await fetch(`${PEER_URL}/api/rooms/by-id/00000000-0000-4000-8000-000000000000/events`)).status).toBe(404);
});

test("a room created in one browser appears in another's list without a reload", async ({ browser }) => {
  const creator = await browser.newContext();
  const watcher = await browser.newContext();
  try {
    const watching = await watcher.newPage();
    // The watcher is on the other instance.
    await watching.goto(`${PEER_URL}/`);
    await watching.evaluate(() => ((window as unknown as { marker: number }).marker = 1));
    // Its stream is subscribed and caught up.
    await expect(watching.locator('section[data-stream="ready"]')).toBeVisible();

    const creating = await creator.newPage();
    await creating.goto("/");
    const name = uniqueName("Shared live");
    await creating.getByLabel("Name", { exact: true }).fill(name);
    await creating.getByRole("button", { name: "Create room" }).click();
    await expect(roomLink(creating, name)).toBeVisible();

    // New rooms wait behind a button instead of pushing the list down.
    const show = watching.getByRole("button", { name: /new rooms? — show/ });
    await expect(show).toBeVisible();
    await show.click();
    await expect(roomLink(watching, name)).toBeVisible();
    await expect(show).toHaveCount(0);
    expect(await watching.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(1);
  } finally {
    await creator.close();
    await watcher.close();
  }
});

/** This instance's count of streams opened by transport (lib/realtime/stream-handoff.ts). */
async function streamsOpened(baseUrl: string): Promise<{ socket: number; webStream: number }> {
  const text = await (await fetch(`${baseUrl}/api/metrics`, { headers: operatorAuth })).text();
  const count = (transport: string) => Number(new RegExp(`^lobby_sse_streams_opened_total\\{transport="${transport}"\\} (\\d+)$`, "m").exec(text)?.[1] ?? 0);
  return { socket: count("socket"), webStream: count("web-stream") };
}

test("`next start` writes event streams to the socket, not through a web stream; a client's forged handoff header changes nothing", async () => {
  const before = await streamsOpened(PEER_URL);
  // A token of the client's own: overwritten by the server's hook before the route reads it.
  const stream = await openStream(`${PEER_URL}/api/events`, { "x-lobby-stream-handoff": "forged-by-the-client-000000" });
  try {
    await stream.ready();
    const name = uniqueName("Socket room");
    await createRoom(name);
    await stream.waitFor((e) => e.some((x) => x.event === "room.created" && roomName(x) === name));
  } finally {
    await stream.close();
  }
  const after = await streamsOpened(PEER_URL);
  expect(after.socket).toBe(before.socket + 1);
  expect(after.webStream).toBe(before.webStream);
});
