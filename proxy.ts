import { NextResponse, type NextRequest } from "next/server";
import { env } from "@/lib/env";
import { guardRequest } from "@/lib/http/request-guards";
import { operatorAccess, operatorAllowed } from "@/lib/observability/operator-access";
import { runtime } from "@/lib/runtime";
import { uuidSchema } from "@/lib/validation";
import { HOME_SLOT_PREFIX, homeSlotPath } from "@/lib/page-cache/render-gate";

/**
 * Runs before the routes it matches (`config.matcher`, below), on Node.js in Next 16 (in
 * the server's process). Its jobs, after the request guards (origins of server actions and
 * form posts, malformed paths and action envelopes: lib/http/request-guards.ts):
 *
 * 0. `/` to the home page's open slot (see homeSlot below). *
 * 1. A full 404 page, without JavaScript, for `/rooms/<unknown-or-malformed-id>`. The room
 *    page is dynamic (`await connection()`), and Next 16 renders the not-found UI of a
 *    dynamic page that calls notFound() in the browser only (vercel/next.js#62228): the
 *    response is a 404 whose HTML body is empty until the client runtime runs. An unmatched
 *    path, on the other hand, is answered with the prerendered app/not-found.tsx (status
 *    404, complete HTML). So a room id that cannot be a room is sent to such a path, before
 *    the page renders; the page keeps its own notFound() for the race where a room is
 *    deleted between this check and the render. The room is read through the same
 *    cache-first service as the page (`room:{id}` in Redis, Postgres on a miss).
 * 2. `/dashboard` for operators only (lib/observability/operator-access.ts): a Basic
 *    challenge without the token, a 404 in production when no token is configured. A page
 *    cannot set its own status or `WWW-Authenticate`; the page checks again all the same.
 * 3. The benchmark's baseline routes (`/bench/*`) exist only with BENCH_ROUTES=true.
 */

/** A path no route matches (app/_* folders are private), so Next answers with app/not-found.tsx. */
const NOT_FOUND_PATH = "/_lobby/room-not-found";

export async function proxy(request: NextRequest) {
  // Origins of server actions and form posts, malformed paths and action envelopes: 4xx
  // answers where Next would give a 500 or run a forged post (lib/http/request-guards.ts).
  const refused = await guardRequest(request);
  if (refused) return refused;
  const { pathname } = request.nextUrl;
  // The benchmark's page cache peers serve `/` as the plain static route, as their users would.
  if (pathname === "/") return env().benchPagePeer ? NextResponse.next() : homeSlot(request);
  if (pathname === "/dashboard" || pathname.startsWith("/dashboard/")) return dashboardGate(request);
  if (pathname.startsWith("/bench/")) return env().benchRoutes ? NextResponse.next() : notFoundPage(request);

  // Page views only: server actions (POST) and anything else keep their own handling.
  if (request.method !== "GET" && request.method !== "HEAD") return NextResponse.next();
  // The home page's slots exist only behind the rewrite of `/`.
  if (pathname.startsWith(HOME_SLOT_PREFIX) || pathname === HOME_SLOT_PREFIX.slice(0, -1)) return notFoundPage(request);
  const match = /^\/rooms\/([^/]+)\/?$/.exec(pathname);
  if (!match) return NextResponse.next();

  let segment: string;
  try {
    segment = decodeURIComponent(match[1] ?? "");
  } catch {
    return notFoundPage(request);
  }
  const id = uuidSchema.safeParse(segment);
  if (!id.success) {
    // Another spelling of a room's id (capitals): one URL per room, the canonical one.
    const canonical = segment.toLowerCase();
    if (segment !== canonical && uuidSchema.safeParse(canonical).success) {
      const url = request.nextUrl.clone();
      url.pathname = `/rooms/${canonical}`;
      return NextResponse.redirect(url, 308);
    }
    return notFoundPage(request);
  }

  try {
    const room = await runtime().rooms.getRoom(id.data);
    if (!room.data) return notFoundPage(request);
  } catch {
    // Postgres and Redis both out of reach: let the page answer (its error boundary), rather
    // than call a room that may exist "not found".
  }
  return NextResponse.next();
}

/**
 * `/` goes to the home page's open slot (lib/page-cache/render-gate.ts): a request never
 * joins a render that began before it arrived. A request with a query string is served the
 * shared page, but its own render (Next puts the URL it was asked for into the page) is
 * never stored as the shared page: it goes to a `-q` slot. `_rsc`, the client router's
 * cache buster, goes along. A form post or a server action (never cached) goes to the same route, slot
 * 0: the page it renders in its response must be the tree the form was in, or React cannot
 * match the action's result to the form that sent it (a form's state is keyed by its place
 * in the tree); the page lives in app/home's layout, above the slot, so any slot will do.
 */
function homeSlot(request: NextRequest) {
  const isRead = request.method === "GET" || request.method === "HEAD";
  const query = new URLSearchParams(request.nextUrl.searchParams);
  const rsc = query.get("_rsc");
  query.delete("_rsc");
  // Next renders the URL it was asked for into the page: only a request without a query may fill the shared entry.
  const target = new URL(isRead ? homeSlotPath(query.size === 0) : `${HOME_SLOT_PREFIX}0`, request.url);
  if (rsc !== null) target.searchParams.set("_rsc", rsc);
  return NextResponse.rewrite(target);
}

function dashboardGate(request: NextRequest) {
  const access = operatorAccess(env());
  if (access.kind === "off") return notFoundPage(request);
  if (operatorAllowed(access, request.headers.get("authorization"))) return NextResponse.next();
  return new NextResponse("The dashboard is for operators: sign in with any user name and the METRICS_TOKEN as the password.\n", {
    status: 401,
    headers: {
      "WWW-Authenticate": 'Basic realm="Lobby operators", charset="UTF-8"',
      "Content-Type": "text/plain; charset=utf-8",
      "Cache-Control": "no-store",
    },
  });
}

function notFoundPage(request: NextRequest) {
  return NextResponse.rewrite(new URL(NOT_FOUND_PATH, request.url), { status: 404 });
}

export const config = {
  matcher: [
    "/",
    "/home/:path*",
    "/rooms/:path*",
    "/dashboard",
    "/dashboard/:path*",
    "/bench/:path*",
    // Pages (not /api: route handlers check origins in their wrapper, lib/http/route.ts, and
    // a proxy would make Next buffer their bodies) with what comes along a state-changing
    // request: a server action's header, a body, a browser's Origin or a cross-site
    // Sec-Fetch-Site. A plain same-site page view carries none of them, so it does not run
    // the proxy. Literals only: Next reads this object at build time.
    { source: "/((?!api/|_next/).*)", has: [{ type: "header", key: "next-action" }] },
    { source: "/((?!api/|_next/).*)", has: [{ type: "header", key: "content-type" }] },
    { source: "/((?!api/|_next/).*)", has: [{ type: "header", key: "origin" }] },
    { source: "/((?!api/|_next/).*)", has: [{ type: "header", key: "sec-fetch-site", value: "(cross-site|same-site)" }] },
    // API paths with a percent sign, for the malformed escapes Next would answer with a 500.
    "/api/:path(.*%.*)",
  ],
};
