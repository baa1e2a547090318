import { NextResponse } from "next/server";
import { AppError } from "@/lib/errors";
import { env } from "@/lib/env";
import { clientIpFromHeaders } from "@/lib/http/client-ip";
import { route } from "@/lib/http/route";
import { runtime } from "@/lib/runtime";
import { searchPageJson } from "@/lib/search/search-json";
import { searchParamsSchema, singleValues } from "@/lib/search/validation";
import { SESSION_COOKIE, decodeSession } from "@/lib/session/session";
import { fieldErrors } from "@/lib/validation";

/**
 * `?q=&limit=1..50&cursor=` → `{ query, results, nextCursor }`: rooms and messages, best
 * match first, each with highlighted snippets as `[{ text, hit }]` segments. A bad query
 * is a 400 `invalid_query` naming the field, never a database error. Searches that reach
 * Postgres are rate-limited (429 with Retry-After), a slow one ends in a 503
 * `search_timeout`, and one whose client hangs up is cancelled in Postgres.
 */
export const GET = route(async (request) => {
  const parsed = searchParamsSchema.safeParse(singleValues(request.nextUrl.searchParams));
  if (!parsed.success) throw new AppError(400, "invalid_query", "The search parameters are invalid", fieldErrors(parsed.error));
  // Read from the request itself (a search never creates a session): the limit's buckets.
  const e = env();
  const client = {
    sessionId: decodeSession(e.sessionSecret, request.cookies.get(SESSION_COOKIE)?.value)?.id,
    ip: clientIpFromHeaders(request.headers, e.trustedProxyHops),
  };
  try {
    const { data } = await runtime().search.search(parsed.data, { client, signal: request.signal });
    return NextResponse.json(searchPageJson(data), { headers: { "Cache-Control": "no-store" } });
  } catch (error) {
    // Nobody is left to answer (the search was cancelled for it): 499, as proxies log it.
    if (request.signal.aborted) return new Response(null, { status: 499 });
    throw error;
  }
});
