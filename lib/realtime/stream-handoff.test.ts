import http from "node:http";
import type { AddressInfo } from "node:net";
import { pipeToNodeResponse } from "next/dist/server/pipe-readable";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { activity, useTestBus, wait } from "../../tests/support/realtime";
import { MAX_UNSENT_BYTES, openEventStream } from "./sse-stream";
import { HANDOFF_HEADER, installStreamHandoff, takeHandoff } from "./stream-handoff";

/*
 * A real Node HTTP server with the 'request' hook installed, answering as `next start`
 * answers a route handler's Response: status and headers, then the body through Next's own
 * pipeToNodeResponse. With the handoff, that pipe carries the first chunk only and every
 * later frame is written to the socket; what the client reads must be the same stream.
 */
describe("event streams written to the socket (stream handoff)", () => {
  const t = useTestBus("ioredis");
  let server: http.Server;
  let port: number;
  /** Per request: what the handler saw of the handoff. */
  const seen: { path: string; header: string | null; handedOff: boolean; res: http.ServerResponse }[] = [];
  /** Holds the handler between opening the stream and piping it (Next's work before it sends the headers). */
  let gate: Promise<void> = Promise.resolve();
  let closed = 0;

  beforeAll(async () => {
    installStreamHandoff();
    server = http.createServer(async (req, res) => {
      const headers = new Headers(Object.entries(req.headers).flatMap(([k, v]) => (v === undefined ? [] : [[k, String(v)] as [string, string]])));
      const header = headers.get(HANDOFF_HEADER);
      const direct = takeHandoff(headers);
      const url = new URL(req.url ?? "/", "http://x");
      seen.push({ path: url.pathname, header, handedOff: direct !== undefined, res });
      if (!url.pathname.endsWith("/events")) return void res.end("not a stream");
      // A second take of the same request's response gets nothing.
      expect(takeHandoff(headers)).toBeUndefined();
      const abort = new AbortController();
      res.once("close", () => abort.abort());
      const body = openEventStream({
        topic: "rooms",
        lastEventId: url.searchParams.get("since"),
        hub: t.hub,
        bus: t.bus,
        signal: abort.signal,
        direct,
        onClose: () => closed++,
      });
      await gate;
      res.statusCode = 200;
      res.setHeader("content-type", "text/event-stream");
      await pipeToNodeResponse(body, res);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const request = (path: string, headers: Record<string, string> = {}) => {
    const req = http.get({ host: "127.0.0.1", port, path, headers, agent: false });
    const response = new Promise<http.IncomingMessage>((resolve, reject) => {
      req.on("response", resolve);
      req.on("error", reject);
    });
    return { req, response };
  };

  /**
   * Reads frames until `until` holds (or the timeout passes), leaving the response open; the
   * ids of the `room.activity` events, in arrival order.
   */
  function readEvents(res: http.IncomingMessage, until: (ids: string[], frames: string[]) => boolean, timeoutMs = 5_000) {
    const frames: string[] = [];
    let text = "";
    const ids = () => frames.filter((f) => /^event: room\.activity$/m.test(f)).map((f) => /^id: (.+)$/m.exec(f)![1]!);
    res.setEncoding("utf8");
    return new Promise<{ ids: string[]; frames: string[] }>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        res.off("data", onData);
        res.off("end", done);
        resolve({ ids: ids(), frames });
      };
      const onData = (chunk: string) => {
        text += chunk;
        const parts = text.split("\n\n");
        text = parts.pop() ?? "";
        frames.push(...parts);
        if (until(ids(), frames)) done();
      };
      const timer = setTimeout(done, timeoutMs);
      res.on("data", onData);
      res.on("end", done);
    });
  }

  it("takes the response of a GET of an event stream path only, and never a token a client wrote", async () => {
    seen.length = 0;
    const forged = { [HANDOFF_HEADER]: "AAAAAAAAAAAAAAAAAAAAAA" };
    for (const path of ["/api/rooms", "/api/eventsx", "/api/rooms/by-id/x/y/events"]) {
      const { response } = request(path, forged);
      (await response).resume();
    }
    const stream = request("/api/events", forged);
    const res = await stream.response;
    await readEvents(res, (_, frames) => frames.some((f) => f.includes("event: ready")));
    stream.req.destroy();
    expect(seen.map((s) => [s.path, s.header, s.handedOff])).toEqual([
      ["/api/rooms", null, false],
      ["/api/eventsx", null, false],
      ["/api/rooms/by-id/x/y/events", null, false],
      ["/api/events", expect.not.stringMatching(/^AAAA/), true],
    ]);
  });

  it("frames sent before Next sends the headers wait for them: every event after the client's id arrives once, in order", async () => {
    const since = (await t.bus.append("rooms", activity(0)))!;
    let open!: () => void;
    gate = new Promise((resolve) => (open = resolve));
    const stream = request(`/api/events?since=${since}`);
    const expected: string[] = [];
    // While the handler holds the response back: replayed, buffered and waiting frames.
    for (let i = 1; i <= 20; i++) {
      expected.push((await t.bus.append("rooms", activity(i)))!);
      await wait(10);
    }
    open();
    const res = await stream.response;
    const reading = readEvents(res, (ids) => ids.length >= 60);
    for (let i = 21; i <= 60; i++) expected.push((await t.bus.append("rooms", activity(i)))!);
    const { ids, frames } = await reading;
    stream.req.destroy();
    gate = Promise.resolve();
    expect(frames[0]).toBe("retry: 2000");
    expect(ids).toEqual(expected);
    expect(seen.at(-1)?.handedOff).toBe(true);
  });

  /** A 64 KiB event. */
  const big = (i: number) => ({ type: "room.activity" as const, roomId: `${i}-${"x".repeat(64 * 1024)}`, lastActivityAt: new Date(i).toISOString() });

  it(`a reader that stops reading is dropped past ${MAX_UNSENT_BYTES / 1024} KiB unsent, and the stream closes`, async () => {
    const before = closed;
    const stream = request("/api/events");
    const res = await stream.response;
    await readEvents(res, (_, frames) => frames.some((f) => f.includes("event: ready")));
    res.pause();
    expect(stream.req.socket!.destroyed).toBe(false);
    // 64 KiB events until the server lets go: the kernel's socket buffers take a few MiB first.
    let sent = 0;
    while (closed === before && sent < 2_000) {
      await t.bus.append("rooms", big(sent++));
      if (sent % 20 === 0) await wait(20);
    }
    expect(closed).toBe(before + 1);
    // Destroyed, not ended: an end would hold the unsent MiB until the reader came back.
    expect(seen.at(-1)!.res.destroyed).toBe(true);
    // Dropped once the kernel's buffers were full and 1 MiB more waited, not at the first event.
    expect(sent).toBeGreaterThan(MAX_UNSENT_BYTES / (64 * 1024));
    await wait(50);
    expect(closed).toBe(before + 1);
  });

  it("without the handoff, the web stream drops a reader that stops reading past the same limit", async () => {
    let ended = 0;
    const abort = new AbortController();
    const body = openEventStream({ topic: "rooms", lastEventId: null, hub: t.hub, bus: t.bus, signal: abort.signal, onClose: () => ended++ });
    let sent = 0;
    while (ended === 0 && sent < 200) {
      await t.bus.append("rooms", big(sent++));
      await wait(5);
    }
    expect(ended).toBe(1);
    expect(sent).toBeGreaterThan(MAX_UNSENT_BYTES / (64 * 1024));
    await expect(body.getReader().read()).rejects.toThrow(/too slow/);
  });
});
