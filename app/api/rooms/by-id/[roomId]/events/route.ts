import { notFound } from "@/lib/errors";
import { parseParam, route } from "@/lib/http/route";
import { serveTopic } from "@/lib/realtime/sse-route";
import { runtime as lobbyRuntime } from "@/lib/runtime";
import { uuidSchema } from "@/lib/validation";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

/** Server-Sent Events of one room (topic `room:{id}`): its messages. 400 malformed id, 404 unknown room. */
export const GET = route<{ roomId: string }>(async (request, { params }) => {
  const id = parseParam((await params).roomId, uuidSchema, "roomId");
  const { data } = await lobbyRuntime().rooms.getRoom(id);
  if (!data) throw notFound("Room");
  return serveTopic(request, `room:${id}`);
});
