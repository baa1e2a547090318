import { NextResponse } from "next/server";
import { clientIp } from "@/lib/http/client-ip";
import { parseParam, readJson, route } from "@/lib/http/route";
import { messageJson } from "@/lib/messages/message-json";
import { editMessageSchema } from "@/lib/messages/validation";
import { runtime } from "@/lib/runtime";
import { readSession } from "@/lib/session/cookie";
import type { Session } from "@/lib/session/session";
import { uuidSchema } from "@/lib/validation";

type Params = { roomId: string; messageId: string };

/** A caller without a session wrote nothing: 404 for an unknown message, 403 otherwise. */
const NOBODY: Session = { id: "", name: "" };

/** Deletes a message; only its author may (403). */
export const DELETE = route<Params>(async (_request, { params }) => {
  const p = await params;
  const roomId = parseParam(p.roomId, uuidSchema, "roomId");
  const messageId = parseParam(p.messageId, uuidSchema, "messageId");
  await runtime().messageWrites.remove((await readSession()) ?? NOBODY, roomId, messageId);
  return new NextResponse(null, { status: 204 });
});

/** Replaces the body with `{ "body" }` (the rules of a send); only the author may (403). 200 `{ message }`. */
export const PATCH = route<Params>(async (request, { params }) => {
  const p = await params;
  const roomId = parseParam(p.roomId, uuidSchema, "roomId");
  const messageId = parseParam(p.messageId, uuidSchema, "messageId");
  const input = await readJson(request, editMessageSchema);
  const message = await runtime().messageWrites.edit((await readSession()) ?? NOBODY, roomId, messageId, input, await clientIp());
  return NextResponse.json({ message: messageJson(message) }, { headers: { "Cache-Control": "no-store" } });
});
