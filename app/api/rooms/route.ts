import { NextResponse } from "next/server";
import { clientIp } from "@/lib/http/client-ip";
import { z } from "zod";
import { parseParam, readJson, route } from "@/lib/http/route";
import type { ActiveRoom } from "@/lib/rooms/activity-order";
import { activeRoomJson, roomJson } from "@/lib/rooms/room-json";
import { createRoomSchema } from "@/lib/rooms/validation";
import { runtime } from "@/lib/runtime";
import { ensureSession } from "@/lib/session/cookie";

const listQuerySchema = z.strictObject({
  /** The most active `limit` rooms only (the live list's refetch); default: every room. */
  limit: z.coerce.number().int().min(1).max(1_000).optional(),
});

/**
 * Serialised bodies per ordering: the activity order hands out the same array while
 * neither the list nor the order changed, so a hot read skips mapping and stringifying.
 */
const bodies = new WeakMap<ActiveRoom[], Map<string, string>>();

function listBody(ordered: ActiveRoom[], count: number, stale: boolean, limit: number | undefined): string {
  const key = `${limit ?? ""}:${count}:${stale}`;
  let forList = bodies.get(ordered);
  const known = forList?.get(key);
  if (known) return known;
  const shown = limit === undefined ? ordered : ordered.slice(0, limit);
  const body = JSON.stringify({ rooms: shown.map(activeRoomJson), count, stale });
  if (!forList) bodies.set(ordered, (forList = new Map()));
  forList.set(key, body);
  return body;
}

/**
 * The live rooms, cache first, most recent activity first (each with `lastActivityAt`).
 * `count` is every live room; `stale: true` when Postgres is down and a saved copy was served.
 */
export const GET = route(async (request) => {
  const { limit } = parseParam(Object.fromEntries(request.nextUrl.searchParams), listQuerySchema, "query");
  const rt = runtime();
  const { data, source } = await rt.activity.activeRooms(rt.rooms);
  return new NextResponse(listBody(data, data.length, source === "stale", limit), {
    headers: { "Content-Type": "application/json", "Cache-Control": "no-store" },
  });
});

/** Creates a room owned by the caller's session (created on the fly when missing). */
export const POST = route(async (request) => {
  const input = await readJson(request, createRoomSchema);
  const session = await ensureSession();
  const room = await runtime().roomWrites.create(session, input, await clientIp());
  return NextResponse.json(
    { room: roomJson(room) },
    { status: 201, headers: { Location: `/api/rooms/by-id/${room.id}` } },
  );
});
