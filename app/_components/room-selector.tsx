import type { ActiveRoom } from "@/lib/rooms/activity-order";
import { formatCount } from "./format";
import { LiveRoomList } from "./live-room-list";

/**
 * The room selector: the most active rooms, most recent activity first, as server-rendered
 * links. Complete in the first response and usable without JavaScript; with it, the list
 * stays live (live-room-list.tsx) and per-visitor marks (ownership, unread) are client
 * islands. Past the first page, every room is one link away (/rooms, paged) and search.
 */
export function RoomSelector({ rooms, count, since }: { rooms: ActiveRoom[]; count: number; since?: string }) {
  return (
    <div className="room-selector">
      <LiveRoomList rooms={rooms} count={count} since={since} />
      {count > rooms.length && (
        <p className="all-rooms">
          <a className="button button-secondary" href="/rooms?page=2">
            All {formatCount(count, "room")} →
          </a>
        </p>
      )}
    </div>
  );
}
