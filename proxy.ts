import { NextResponse, type NextRequest } from "next/server";
import { env } from "@/lib/env";
import { operatorAccess, operatorAllowed } from "@/lib/observability/operator-access";
import { runtime } from "@/lib/runtime";
import { uuidSchema } from "@/lib/validation";

/**
 * Runs before the routes it matches (`config.matcher`, below), on Node.js in Next 16 (in
 * the server's process). Three jobs:
 *
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
  const { pathname } = request.nextUrl;
  if (pathname === "/dashboard" || pathname.startsWith("/dashboard/")) return dashboardGate(request);
  if (pathname.startsWith("/bench/")) return env().benchRoutes ? NextResponse.next() : notFoundPage(request);

  // Page views only: server actions (POST) and anything else keep their own handling.
  if (request.method !== "GET" && request.method !== "HEAD") return NextResponse.next();
  const match = /^\/rooms\/([^/]+)\/?$/.exec(pathname);
  if (!match) return NextResponse.next();

  let segment: string;
  try {
    segment = decodeURIComponent(match[1] ?? "");
  } catch {
    return notFoundPage(request);
  }
  const id = uuidSchema.safeParse(segment);
  if (!id.success) return notFoundPage(request);

  try {
    const room = await runtime().rooms.getRoom(id.data);
    if (!room.data) return notFoundPage(request);
  } catch {
    // Postgres and Redis both out of reach: let the page answer (its error boundary), rather
    // than call a room that may exist "not found".
  }
  return NextResponse.next();
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
  matcher: ["/rooms/:path*", "/dashboard", "/dashboard/:path*", "/bench/:path*"],
};
