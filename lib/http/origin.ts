import { AppError } from "../errors";

/**
 * Cross-site request forgery defence: where a state-changing request comes from.
 *
 * The rule, for every method but GET, HEAD and OPTIONS (route handlers in lib/http/route.ts,
 * server actions and form posts in proxy.ts):
 *
 * 1. `Origin` present: it must be this deployment's own origin, or one of ALLOWED_ORIGINS.
 *    Own means the Origin's host (host:port) is the first `X-Forwarded-Host` when there is
 *    one (what a reverse proxy that rewrites `Host` keeps), else the request's `Host`: the
 *    host Next's own server-action check compares with, so the two never disagree. A page
 *    on another site cannot forge either: a
 *    browser sets `Host` itself, and a cross-site request with a custom header is
 *    preflighted, which Lobby never approves. `Origin: null` (sandboxed frames, some
 *    redirects) and an Origin that is not a URL are refused.
 * 2. No `Origin`: `Sec-Fetch-Site: cross-site` or `same-site` is refused (a sibling
 *    subdomain is not this app); `same-origin`, `none` and no header at all pass.
 *
 * So a request with neither header passes: that is curl, a test, the benchmark, a server
 * calling the API. They are not forgeries: forgery needs a browser, and every browser
 * Lobby supports sends `Origin` on every POST, PATCH and DELETE (and `Sec-Fetch-Site` on
 * everything). A browser too old to send either is left with the session cookie's
 * SameSite=Lax, which already keeps it off cross-site POSTs.
 */
export function originAllowed(h: Pick<Headers, "get">, allowedOrigins: ReadonlySet<string>): boolean {
  const origin = h.get("origin");
  if (origin !== null) {
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      return false;
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") return false;
    if (allowedOrigins.has(url.origin)) return true;
    const own = h.get("x-forwarded-host")?.split(",")[0]?.trim() || h.get("host")?.trim();
    return own !== undefined && own.toLowerCase() === url.host;
  }
  const site = h.get("sec-fetch-site");
  return site !== "cross-site" && site !== "same-site";
}

/** Methods that change nothing, so need no origin check. */
export const SAFE_METHODS: ReadonlySet<string> = new Set(["GET", "HEAD", "OPTIONS"]);

export const crossOrigin = () =>
  new AppError(403, "cross_origin", "This request came from another site; Lobby only takes changes from its own pages");
