import { route } from "@/lib/http/route";
import { serveTopic } from "@/lib/realtime/sse-route";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

/** Server-Sent Events of the room list (topic `rooms`): created, renamed, deleted. `Last-Event-ID` replays what was missed. */
export const GET = route(async (request) => serveTopic(request, "rooms"));
