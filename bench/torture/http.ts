import { now, type Instance } from "./history";

/** A web instance as the clients see it. */
export interface Target {
  name: Instance;
  url: string;
}

/** A visitor: its session cookie and the address the harness (playing the reverse proxy) says it comes from. */
export interface Session {
  cookie: string;
  ip: string;
}

export interface Exchange {
  start: number;
  /** When the status arrived (fetch resolved). */
  headersAt?: number;
  end: number;
  status: number | null;
  body: string;
  error?: string;
  setCookie: string[];
}

/**
 * One request, timed on the harness's clock. Uncompressed (as the bench does: the servers
 * spend no CPU on gzip). State-changing requests carry `Origin` (the instance's own URL),
 * as a browser's do, and JSON bodies.
 */
export async function exchange(
  target: Target,
  path: string,
  options: { method?: string; session?: Session; json?: unknown; timeoutMs: number; headers?: Record<string, string> },
): Promise<Exchange> {
  const method = options.method ?? "GET";
  const headers: Record<string, string> = { "accept-encoding": "identity", ...options.headers };
  if (options.session) {
    if (options.session.cookie) headers.cookie = options.session.cookie;
    headers["x-forwarded-for"] = options.session.ip;
  }
  if (method !== "GET" && method !== "HEAD") headers.origin = target.url;
  if (options.json !== undefined) headers["content-type"] = "application/json";
  const start = now();
  let headersAt: number | undefined;
  let status: number | null = null;
  try {
    const res = await fetch(target.url + path, {
      method,
      headers,
      body: options.json === undefined ? undefined : JSON.stringify(options.json),
      redirect: "manual",
      signal: AbortSignal.timeout(options.timeoutMs),
    });
    headersAt = now();
    status = res.status;
    const body = await res.text();
    return { start, headersAt, end: now(), status, body, setCookie: res.headers.getSetCookie() };
  } catch (error) {
    const e = error as Error & { cause?: { code?: string } };
    // A status that arrived before the body failed still counts (a 2xx is an acknowledgement).
    return { start, headersAt, end: now(), status, body: "", error: `${e.name}: ${e.cause?.code ?? e.message}`.slice(0, 160), setCookie: [] };
  }
}

/** A new session: `GET /api/session` without a cookie. */
export async function newSession(target: Target, ip: string): Promise<Session> {
  for (let attempt = 0; ; attempt++) {
    const r = await exchange(target, "/api/session", { session: { cookie: "", ip }, timeoutMs: 10_000 });
    const cookie = r.setCookie[0]?.split(";")[0];
    if (r.status === 200 && cookie) return { cookie, ip };
    if (attempt >= 5) throw new Error(`GET /api/session on ${target.url}: ${r.status ?? r.error}`);
  }
}
