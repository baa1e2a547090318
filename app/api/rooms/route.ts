import { NextResponse } from "next/server";
import { clientIp } from "@/lib/http/client-ip";
import { readJson, route } from "@/lib/http/route";
import { activeRoomJson, roomJson } from "@/lib/rooms/room-json";
import { createRoomSchema } from "@/lib/rooms/validation";
import { runtime } from "@/lib/runtime";
import { ensureSession } from "@/lib/session/cookie";

/**
 * The live rooms, cache first, most recent activity first (each with `lastActivityAt`).
 * `stale: true` when Postgres is down and a saved copy was served.
 */
export const GET = route(async () => {
  const rt = runtime();
  const { data, source } = await rt.rooms.getAllRooms();
  const ordered = await rt.activity.order(data);
  return NextResponse.json(
    { rooms: ordered.map(activeRoomJson), count: data.length, stale: source === "stale" },
    { headers: { "Cache-Control": "no-store" } },
  );
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
