import { randomBytes } from "node:crypto";
import type { ServerResponse } from "node:http";
import { onServerRequest } from "../http/server-requests";

/**
 * The Node response of an event stream request, handed to its route handler.
 *
 * A route handler's body is a web `ReadableStream` that Next pipes to the socket: every
 * chunk goes through `pipeTo`, a `WritableStream` and Next's async writer, a dozen promises,
 * each of which Node 20 copies the request's ~10 `AsyncLocalStorage` stores into. An SSE
 * frame costs ~50 µs of CPU that way against ~15 µs for `res.write` (bench/frame-cost.ts),
 * and one message to a room of 1,000 open streams is 1,000 frames.
 *
 * So the server's 'request' hook (lib/http/server-requests.ts) keeps the `ServerResponse`
 * of each `GET` of an event stream path under a random token, and passes the token to the
 * route in a request header, overwriting whatever a client sent under that name (and
 * deleting it from every other request). The route handler still does everything a route
 * does (validation, caps, 4xx, headers, Server-Timing, the log line) and returns its
 * `Response`; only the frames after the first go straight to the socket
 * (lib/realtime/sse-stream.ts, `direct`). Without the hook (tests that call the handler,
 * a server the hook does not cover) the stream is the plain web stream.
 */
export const HANDOFF_HEADER = "x-lobby-stream-handoff";

/** `/api/events` and `/api/rooms/by-id/{id}/events`: the paths of app/api's two event stream routes. */
const EVENT_STREAM_PATH = /^\/api\/(?:events|rooms\/by-id\/[^/?#]+\/events)\/?(?:[?#]|$)/;

/* Per process: instrumentation and each route handler are bundled apart. */
const KEY = Symbol.for("lobby.streamHandoff");
const g = globalThis as unknown as { [KEY]?: Map<string, ServerResponse> };

/** Hooks every Node HTTP(S) server of this process (idempotent; called from instrumentation.ts). */
export function installStreamHandoff(): void {
  if (g[KEY]) return;
  const held = new Map<string, ServerResponse>();
  onServerRequest("stream-handoff", (req, res) => {
    if (req.headers[HANDOFF_HEADER] !== undefined) delete req.headers[HANDOFF_HEADER];
    if (req.method !== "GET" || !EVENT_STREAM_PATH.test(req.url ?? "")) return;
    const token = randomBytes(16).toString("base64url");
    held.set(token, res);
    req.headers[HANDOFF_HEADER] = token;
    // A request that never reaches the stream (a 4xx, a redirect) lets go of its response here.
    res.once("close", () => held.delete(token));
  });
  g[KEY] = held;
}

/** The Node response the hook kept for this request, once (a second call gets nothing); undefined without a live one. */
export function takeHandoff(headers: Pick<Headers, "get">): ServerResponse | undefined {
  const held = g[KEY];
  const token = headers.get(HANDOFF_HEADER);
  if (!held || !token) return undefined;
  const res = held.get(token);
  held.delete(token);
  return res && !res.headersSent && !res.destroyed ? res : undefined;
}
