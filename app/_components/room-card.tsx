import type { Room } from "@/lib/db/queries/rooms";
import { Avatar } from "./avatar";
import { formatDay, formatFull } from "./format";
import { OwnerBadge } from "./owner-badge";

/**
 * One room in the selector; the whole card is the link (the name's link stretches over it).
 * `closed`: deleted meanwhile, shown until the pointer leaves the list (live-room-list.tsx).
 * `unread`: activity since the visitor last opened it (a dot, outside the link's name).
 */
export function RoomCard({ room, closed = false, unread = false }: { room: Room; closed?: boolean; unread?: boolean }) {
  return (
    <li className={closed ? "room-card room-card-closed" : "room-card"} data-unread={unread ? "true" : undefined}>
      <div className="room-card-head">
        {unread && !closed && (
          <span className="unread-dot" title="New messages since your last visit">
            <span className="visually-hidden">Unread</span>
          </span>
        )}
        <h3 className="room-name">
          <a className="room-link" href={`/rooms/${room.id}`} dir="auto">
            {room.name}
          </a>
        </h3>
        {closed ? <span className="badge">Closed</span> : <OwnerBadge ownerId={room.ownerId} />}
      </div>
      {room.description ? (
        <p className="room-description" dir="auto">
          {room.description}
        </p>
      ) : (
        <p className="room-description room-description-empty">No description yet.</p>
      )}
      <div className="room-meta">
        <Avatar name={room.ownerName} size="md" />
        <p className="room-byline">
          <span className="room-owner">
            <span className="visually-hidden">Created by </span>
            <bdi>{room.ownerName}</bdi>
          </span>
          <time dateTime={room.createdAt.toISOString()} title={formatFull(room.createdAt)}>
            {formatDay(room.createdAt)}
          </time>
        </p>
      </div>
    </li>
  );
}
