import { NextResponse } from "next/server";
import { route } from "@/lib/http/route";
import { runtime } from "@/lib/runtime";

/**
 * `{ stats: { rooms, messages, activeRooms24h, messagesToday, computedAt }, fresh }`.
 * Served from the stale-while-revalidate cache: `fresh: false` says a write (or time) has
 * made the numbers stale and a refresh is already under way.
 */
export const GET = route(async () => {
  const { stats, fresh } = await runtime().stats.read();
  return NextResponse.json(
    { stats: { ...stats, computedAt: stats.computedAt.toISOString() }, fresh },
    { headers: { "Cache-Control": "no-store" } },
  );
});
