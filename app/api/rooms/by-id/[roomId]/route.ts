import { NextResponse } from "next/server";
import { notFound } from "@/lib/errors";
import { parseParam, readJson, route } from "@/lib/http/route";
import { roomJson } from "@/lib/rooms/room-json";
import { updateRoomSchema } from "@/lib/rooms/validation";
import { runtime } from "@/lib/runtime";
import { readSession } from "@/lib/session/cookie";
import type { Session } from "@/lib/session/session";
import { uuidSchema } from "@/lib/validation";

type Params = { roomId: string };

/** A caller without a session owns nothing: the service answers 404 for an unknown room, 403 otherwise. */
const NOBODY: Session = { id: "", name: "" };

export const GET = route<Params>(async (_request, { params }) => {
  const id = parseParam((await params).roomId, uuidSchema, "roomId");
  const { data, source } = await runtime().rooms.getRoom(id);
  if (!data) throw notFound("Room");
  return NextResponse.json({ room: roomJson(data), stale: source === "stale" }, { headers: { "Cache-Control": "no-store" } });
});

/** Renames or redescribes a room; only its owner may (403). */
export const PATCH = route<Params>(async (request, { params }) => {
  const id = parseParam((await params).roomId, uuidSchema, "roomId");
  const input = await readJson(request, updateRoomSchema);
  const room = await runtime().roomWrites.update((await readSession()) ?? NOBODY, id, input);
  return NextResponse.json({ room: roomJson(room) });
});

export const DELETE = route<Params>(async (_request, { params }) => {
  const id = parseParam((await params).roomId, uuidSchema, "roomId");
  await runtime().roomWrites.remove((await readSession()) ?? NOBODY, id);
  return new NextResponse(null, { status: 204 });
});
