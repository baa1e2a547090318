import { TOKEN, type Endpoint, type Observation } from "./history";

/*
 * Responses to observations. The pages are read as a browser without JavaScript would:
 * the server-rendered HTML (room cards' links, the room's title, message bodies), never
 * the RSC payload beside it.
 */

/** `data-cache-state="stale"`: the banner of a page rendered from a saved copy. */
const STALE_MARKER = 'data-cache-state="stale"';
/* Attributes after the ones matched are allowed (dir="auto", ...); a body may wrap its text in elements. */
const ROOM_LINK = /<a class="room-link" href="\/rooms\/([0-9a-f-]{36})"[^>]*>([^<]*)<\/a>/g;
const ROOM_TITLE = /<h1 id="room-title"[^>]*>([^<]*)<\/h1>/;
const MESSAGE_BODY = /<p class="message-body"[^>]*>([\s\S]*?)<\/p>/g;
const TAG = /<[^>]*>/g;

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', "#39": "'", "#x27": "'" };
const unescapeHtml = (s: string) => s.replace(/&(amp|lt|gt|quot|#39|#x27);/g, (_, e: string) => ENTITIES[e]!);
const tokensOf = (text: string) => text.match(TOKEN) ?? [];

export interface Parsed {
  obs?: Observation;
  markedStale: boolean;
  /** Set when a 200 did not have the expected shape (counted as an error, never as stale). */
  problem?: string;
}

export function parseResponse(endpoint: Endpoint, status: number, body: string): Parsed {
  if (status === 404 && endpoint !== "api-rooms" && endpoint !== "home") return { obs: { kind: "room", found: false }, markedStale: false };
  if (status !== 200) return { markedStale: false };
  try {
    switch (endpoint) {
      case "api-rooms": {
        const json = JSON.parse(body) as { rooms: { id: string; name: string }[]; stale?: boolean };
        return { obs: { kind: "list", rooms: Object.fromEntries(json.rooms.map((r) => [r.id, r.name])) }, markedStale: json.stale === true };
      }
      case "api-room": {
        const json = JSON.parse(body) as { room: { name: string }; stale?: boolean };
        return { obs: { kind: "room", found: true, name: json.room.name }, markedStale: json.stale === true };
      }
      case "api-messages": {
        const json = JSON.parse(body) as { messages: { body: string }[]; stale?: boolean };
        return { obs: { kind: "room", found: true, tokens: json.messages.flatMap((m) => tokensOf(m.body)) }, markedStale: json.stale === true };
      }
      case "home": {
        const rooms: Record<string, string> = {};
        for (const m of body.matchAll(ROOM_LINK)) rooms[m[1]!] = unescapeHtml(m[2]!);
        if (!body.includes('class="room-selector"')) return { markedStale: false, problem: "no room selector in the page" };
        return { obs: { kind: "list", rooms }, markedStale: body.includes(STALE_MARKER) };
      }
      case "room-page": {
        const title = ROOM_TITLE.exec(body);
        if (!title) return { markedStale: false, problem: "no room title in the page" };
        const tokens = [...body.matchAll(MESSAGE_BODY)].flatMap((m) => tokensOf(unescapeHtml(m[1]!.replace(TAG, ""))));
        return { obs: { kind: "room", found: true, name: unescapeHtml(title[1]!), tokens }, markedStale: body.includes(STALE_MARKER) };
      }
    }
  } catch (error) {
    return { markedStale: false, problem: `unparseable: ${String(error).slice(0, 120)}` };
  }
}
