import { sampleRooms } from "@/lib/rooms/sample-rooms";

/*
 * The benchmark's limit for GET /api/rooms (bench/README.md): a route handler that returns
 * a constant of the same shape and size, so all it measures is Next's cost of a route.
 * Answered only when the server runs with BENCH_ROUTES=true (proxy.ts).
 */
export const dynamic = "force-dynamic";

const body = JSON.stringify({ rooms: sampleRooms(50) });

export function GET() {
  return new Response(body, { headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" } });
}
