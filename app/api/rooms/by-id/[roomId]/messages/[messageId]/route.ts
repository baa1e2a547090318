import { NextResponse } from "next/server";
import { parseParam, route } from "@/lib/http/route";
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
