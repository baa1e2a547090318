import type { ActiveRoom } from "@/lib/rooms/activity-order";
import { LiveRoomList } from "./live-room-list";

/**
 * The room selector: every live room, most recent activity first, as server-rendered links. Complete in
 * the first response and usable without JavaScript; with it, the list stays live
 * (live-room-list.tsx) and per-visitor marks (ownership, unread) are client islands.
 */
export function RoomSelector({ rooms, count }: { rooms: ActiveRoom[]; count: number }) {
  return <LiveRoomList rooms={rooms} count={count} />;
}
