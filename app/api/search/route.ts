import { NextResponse } from "next/server";
import { AppError } from "@/lib/errors";
import { route } from "@/lib/http/route";
import { runtime } from "@/lib/runtime";
import { searchPageJson } from "@/lib/search/search-json";
import { searchParamsSchema, singleValues } from "@/lib/search/validation";
import { fieldErrors } from "@/lib/validation";

/**
 * `?q=&limit=1..50&cursor=` → `{ query, results, nextCursor }`: rooms and messages, best
 * match first, each with highlighted snippets as `[{ text, hit }]` segments. A bad query
 * is a 400 `invalid_query` naming the field, never a database error.
 */
export const GET = route(async (request) => {
  const parsed = searchParamsSchema.safeParse(singleValues(request.nextUrl.searchParams));
  if (!parsed.success) throw new AppError(400, "invalid_query", "The search parameters are invalid", fieldErrors(parsed.error));
  const { data } = await runtime().search.search(parsed.data);
  return NextResponse.json(searchPageJson(data), { headers: { "Cache-Control": "no-store" } });
});
