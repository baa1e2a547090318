import type { ActiveRoom } from "@/lib/rooms/activity-order";
import { formatCount } from "./format";
import { LiveRoomList, type ListPreview } from "./live-room-list";

/**
 * The room selector: the most active rooms, most recent activity first, as server-rendered
 * links. Complete in the first response and usable without JavaScript; with it, the list
 * stays live (live-room-list.tsx) and per-visitor marks (ownership, unread) are client
 * islands. Past the first page, the rest are one link away (/rooms?page=2, paged) and in search.
 */
export function RoomSelector({
  rooms,
  count,
  since,
  previews,
}: {
  rooms: ActiveRoom[];
  count: number;
  since?: string;
  previews?: Record<string, ListPreview>;
}) {
  const more = count - rooms.length;
  return (
    <div className="room-selector">
      <LiveRoomList rooms={rooms} count={count} since={since} previews={previews} />
      {more > 0 && (
        <p className="all-rooms">
          {/* Says what it leads to: the rooms after these, less recently active (page 2 on). */}
          <a className="button button-secondary" href="/rooms?page=2">
            {formatCount(more, "more room")}, less recently active →
          </a>
        </p>
      )}
    </div>
  );
}
