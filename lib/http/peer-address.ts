import { randomBytes, timingSafeEqual } from "node:crypto";
import type http from "node:http";
import { onServerRequest } from "./server-requests";

/**
 * The socket address of a request, for per-IP limits when no proxy is trusted
 * (TRUSTED_PROXY_HOPS=0).
 *
 * Next 16 does not give route handlers, server actions or proxy.ts the socket: NextRequest
 * lost `ip` in Next 15, and Next copies the socket address into `X-Forwarded-For` only
 * when the client sent none, so the header is whatever the client wants it to be. The one
 * place the socket is known is Node's `http.Server` 'request' event, before Next sees the
 * request. {@link installPeerStamp} (called once from instrumentation.ts) hooks that event
 * (lib/http/server-requests.ts) and writes the address into a request header, overwriting
 * whatever the client sent under that name.
 *
 * The header carries a random per-process token: requests that reached the server before
 * the hook was installed (the moments between `listen` and instrumentation's `register`),
 * or any server the hook does not cover, hold no valid stamp, so a client-written copy of
 * the header is never taken for the socket address. Without a valid stamp the address is
 * unknown and per-IP limits skip the request (per-session and per-process limits still
 * apply): an unknown address never becomes a shared key that could lock others out.
 */
export const PEER_HEADER = "x-lobby-peer-address";

interface StampState {
  token: string;
}

const KEY = Symbol.for("lobby.peerStamp");
const g = globalThis as unknown as { [KEY]?: StampState };

/** Hooks every Node HTTP(S) server of this process (idempotent). */
export function installPeerStamp(): void {
  if (g[KEY]) return;
  const state: StampState = { token: randomBytes(16).toString("hex") };
  onServerRequest("peer-address", (req) => stamp(req, state.token));
  g[KEY] = state;
}

function stamp(req: http.IncomingMessage, token: string): void {
  const address = req.socket?.remoteAddress;
  if (address) req.headers[PEER_HEADER] = `${token} ${address}`;
  else delete req.headers[PEER_HEADER];
}

/** The stamped socket address of a request, or undefined when it carries no valid stamp. */
export function peerAddressFromHeaders(h: Pick<Headers, "get">): string | undefined {
  const state = g[KEY];
  const value = h.get(PEER_HEADER);
  if (!state || !value) return undefined;
  const space = value.indexOf(" ");
  const given = Buffer.from(value.slice(0, Math.max(0, space)));
  const expected = Buffer.from(state.token);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  return value.slice(space + 1);
}

/**
 * The header value the hook writes for a request from `address` in this process (installing
 * the hook if needed): for tests that call a route handler directly, as the server would.
 */
export function peerStampFor(address: string): string {
  installPeerStamp();
  return `${g[KEY]!.token} ${address}`;
}
