import type { RoomPreview } from "@/lib/rooms/room-previews";
import type { ListPreview } from "./live-room-list";

/** The previews a page read (lib/rooms/room-previews.ts), as the room list takes them from the server. */
export function toListPreviews(read: ReadonlyMap<string, RoomPreview>): Record<string, ListPreview> {
  const out: Record<string, ListPreview> = {};
  for (const [roomId, { version, last }] of read) {
    out[roomId] = { version, last: last && { authorName: last.authorName, body: last.body, createdAt: last.createdAt } };
  }
  return out;
}
