import { NextResponse } from "next/server";
import { notFound } from "@/lib/errors";
import { refuseBody } from "@/lib/http/body";
import { parseParam, route } from "@/lib/http/route";
import { runtime } from "@/lib/runtime";
import { ensureSession } from "@/lib/session/cookie";
import { uuidSchema } from "@/lib/validation";

type Params = { roomId: string };

/**
 * Marks the room read by the caller's session, now (`read:{sessionId}`). Sent by the room
 * page from the browser when it is viewed: the page itself reads no cookies. 204; 404 for
 * an unknown room. `marked: false` in a 200 when Redis is unavailable (nothing to keep).
 * Takes no body: anything sent is a 413.
 */
export const POST = route<Params>(async (request, { params }) => {
  const id = parseParam((await params).roomId, uuidSchema, "roomId");
  await refuseBody(request);
  const rt = runtime();
  const room = await rt.rooms.getRoom(id);
  if (!room.data) throw notFound("Room");
  const session = await ensureSession();
  const marked = await rt.activity.markRead(session.id, id);
  if (marked) return new NextResponse(null, { status: 204, headers: { "Cache-Control": "private, no-store" } });
  return NextResponse.json({ marked: false }, { headers: { "Cache-Control": "private, no-store" } });
});
