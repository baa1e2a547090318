import { NextResponse } from "next/server";
import { route } from "@/lib/http/route";
import { runtime } from "@/lib/runtime";
import { ensureSession } from "@/lib/session/cookie";

/**
 * The ids of the live rooms with activity newer than the caller's last visit (its read
 * marks; a room never opened counts from the session's first look). Per visitor, fetched
 * by the browser like the ownership badges. `available: false` (and no ids) when Redis is
 * unavailable.
 */
export const GET = route(async () => {
  const session = await ensureSession();
  const rt = runtime();
  const { data } = await rt.rooms.getAllRooms();
  const ids = await rt.activity.unread(session.id, data);
  return NextResponse.json(
    { roomIds: ids ?? [], available: ids !== null },
    { headers: { "Cache-Control": "private, no-store" } },
  );
});
