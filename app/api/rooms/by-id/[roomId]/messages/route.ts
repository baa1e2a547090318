import { NextResponse } from "next/server";
import { notFound } from "@/lib/errors";
import { clientIp } from "@/lib/http/client-ip";
import { parseParam, readJson, route } from "@/lib/http/route";
import { messageJson, pageJson } from "@/lib/messages/message-json";
import { messagePageQuerySchema, sendMessageSchema } from "@/lib/messages/validation";
import { runtime } from "@/lib/runtime";
import { ensureSession } from "@/lib/session/cookie";
import { uuidSchema } from "@/lib/validation";

type Params = { roomId: string };

/**
 * A page of a room's messages, oldest to newest: the newest without `before` (cache
 * first), else the `limit` (1-100, default 50) older than the cursor. `nextCursor` pages
 * further back; null when there is nothing older.
 */
export const GET = route<Params>(async (request, { params }) => {
  const roomId = parseParam((await params).roomId, uuidSchema, "roomId");
  const query = parseParam(Object.fromEntries(request.nextUrl.searchParams), messagePageQuerySchema, "query");
  const { messages, rooms } = runtime();
  const [room, page] = await Promise.all([rooms.getRoom(roomId), messages.getPage(roomId, query)]);
  if (!room.data || !page.data) throw notFound("Room");
  return NextResponse.json(
    { ...pageJson(page.data), stale: room.source === "stale" || page.source === "stale" },
    { headers: { "Cache-Control": "no-store" } },
  );
});

/** Sends `{ "body" }` as the caller's session (created on the fly when missing). */
export const POST = route<Params>(async (request, { params }) => {
  const roomId = parseParam((await params).roomId, uuidSchema, "roomId");
  const input = await readJson(request, sendMessageSchema);
  const session = await ensureSession();
  const message = await runtime().messageWrites.send(session, roomId, input, await clientIp());
  return NextResponse.json(
    { message: messageJson(message) },
    { status: 201, headers: { Location: `/api/rooms/by-id/${roomId}/messages/${message.id}` } },
  );
});
