import type { Room } from "@/lib/db/queries/rooms";
import { formatCount } from "./format";
import { RoomCard } from "./room-card";

/**
 * The room selector: every live room, newest first, as server-rendered links. Complete in
 * the first response and usable without JavaScript; per-visitor marks are client islands.
 */
export function RoomSelector({ rooms, count }: { rooms: Room[]; count: number }) {
  return (
    <section className="rooms" aria-labelledby="rooms-heading">
      <div className="section-head">
        <h1 id="rooms-heading">Rooms</h1>
        <p className="section-meta">{rooms.length > 0 ? `${formatCount(count, "room")}, newest first` : null}</p>
      </div>
      {rooms.length === 0 ? (
        <div className="empty">
          <svg viewBox="0 0 48 48" width="48" height="48" aria-hidden="true" className="empty-icon">
            <path d="M8 12a4 4 0 0 1 4-4h24a4 4 0 0 1 4 4v16a4 4 0 0 1-4 4H20l-8 7v-7h0a4 4 0 0 1-4-4z" fill="none" stroke="currentColor" strokeWidth="2.5" strokeLinejoin="round" />
            <path d="M16 18h16M16 24h10" stroke="currentColor" strokeWidth="2.5" strokeLinecap="round" />
          </svg>
          <h2 className="empty-title">No rooms yet</h2>
          <p>Be the first: give a room a name with the form and start the conversation.</p>
        </div>
      ) : (
        <ul className="room-grid" role="list">
          {rooms.map((room) => (
            <RoomCard key={room.id} room={room} />
          ))}
        </ul>
      )}
    </section>
  );
}
