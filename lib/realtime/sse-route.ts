import "server-only";
import { env } from "../env";
import { AppError } from "../errors";
import { clientIpFromHeaders } from "../http/forwarded-for";
import { logger } from "../observability/logger";
import { metrics } from "../observability/metrics";
import { runtime } from "../runtime";
import type { Topic } from "./events";
import { Hub } from "./hub";
import { clientPosition, openEventStream } from "./sse-stream";
import { takeHandoff } from "./stream-handoff";

/** Concurrent streams one client address may hold in this process; beyond it, 429. */
export const MAX_STREAMS_PER_IP = 20;
/** Concurrent streams per process, whoever holds them (file descriptors and memory). */
export const MAX_STREAMS_PER_PROCESS = 5_000;

/*
 * Per process, not per module copy: Next bundles each route handler separately, so
 * module-level state would give each route its own subscriber connection, its own cap
 * and its own shutdown hook (lib/observability/server-timing.ts has the same reason).
 */
interface RealtimeState {
  hub?: Hub;
  perIp: Map<string, number>;
  open: Set<() => void>;
  shutdownHooked: boolean;
}
const KEY = Symbol.for("lobby.realtime");
const g = globalThis as unknown as { [key: symbol]: RealtimeState | undefined };
const state: RealtimeState = (g[KEY] ??= { perIp: new Map(), open: new Set(), shutdownHooked: false });

function processHub(): Hub {
  if (!state.hub) {
    const rt = runtime();
    const log = logger();
    state.hub = new Hub({
      redis: env().redis,
      keys: rt.keys,
      bus: rt.events,
      onError: (error) => log.warn({ err: error }, "realtime hub error"),
    });
  }
  return state.hub;
}

/**
 * On SIGTERM, end every open stream so the server's graceful close is not held up by
 * connections that never finish on their own; browsers reconnect to another instance.
 */
function hookShutdown(): void {
  if (state.shutdownHooked) return;
  state.shutdownHooked = true;
  process.once("SIGTERM", () => {
    for (const close of [...state.open]) close();
    void state.hub?.close();
  });
}

/**
 * The key of the per-IP stream cap: the client address as TRUSTED_PROXY_HOPS says to read
 * it. Undefined (no per-IP cap, the per-process one still holds) when it is not known: one
 * shared "unknown" key would let 20 streams lock every such client out.
 */
export function clientIp(request: Request): string | undefined {
  return clientIpFromHeaders(request.headers, env().trustedProxyHops);
}

export const SSE_HEADERS = {
  "Content-Type": "text/event-stream; charset=utf-8",
  // no-transform also keeps Next's gzip from buffering the stream.
  "Cache-Control": "no-cache, no-transform",
  "X-Accel-Buffering": "no",
  Connection: "keep-alive",
} as const;

/** A `text/event-stream` response of `topic` for this request; 429 beyond the caps. */
export function serveTopic(request: Request, topic: Topic): Response {
  const ip = clientIp(request);
  const held = ip === undefined ? 0 : (state.perIp.get(ip) ?? 0);
  if (held >= MAX_STREAMS_PER_IP || state.open.size >= MAX_STREAMS_PER_PROCESS) {
    throw new AppError(429, "too_many_streams", "Too many open event streams", undefined, 5);
  }
  hookShutdown();
  if (ip !== undefined) state.perIp.set(ip, held + 1);
  let release: (() => void) | null = () => {
    release = null;
    if (ip === undefined) return;
    const n = (state.perIp.get(ip) ?? 1) - 1;
    if (n <= 0) state.perIp.delete(ip);
    else state.perIp.set(ip, n);
  };
  const rt = runtime();
  // The stream's own close is only known once it starts; shutdown calls through this.
  const abort = new AbortController();
  const onAbort = () => abort.abort();
  request.signal.addEventListener("abort", onAbort);
  const shutdown = () => abort.abort();
  state.open.add(shutdown);
  const direct = takeHandoff(request.headers);
  metrics().sseStreams.inc();
  metrics().sseStreamsOpened.inc({ transport: direct ? "socket" : "web-stream" });
  const body = openEventStream({
    direct,
    topic,
    lastEventId: clientPosition(request),
    hub: processHub(),
    bus: rt.events,
    signal: abort.signal,
    onClose: () => {
      metrics().sseStreams.dec();
      state.open.delete(shutdown);
      request.signal.removeEventListener("abort", onAbort);
      release?.();
    },
  });
  return new Response(body, { status: 200, headers: SSE_HEADERS });
}
