import type { Room } from "@/lib/db/queries/rooms";
import { LiveRoomList } from "./live-room-list";

/**
 * The room selector: every live room, newest first, as server-rendered links. Complete in
 * the first response and usable without JavaScript; with it, the list stays live
 * (live-room-list.tsx) and per-visitor marks are client islands.
 */
export function RoomSelector({ rooms, count }: { rooms: Room[]; count: number }) {
  return <LiveRoomList rooms={rooms} count={count} />;
}
