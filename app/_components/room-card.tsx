import type { ActiveRoom } from "@/lib/rooms/activity-order";
import { Avatar } from "./avatar";
import { OwnerBadge } from "./owner-badge";
import { RelativeTime } from "./relative-time";

/** A room's last message as its card shows it (lib/rooms/room-previews.ts). */
export interface CardPreview {
  authorName: string;
  body: string;
  createdAt: Date;
}

/**
 * One room in the selector; the whole card is the link (the name's link stretches over it).
 * It says where the life is: its last message (author and one line, as text) or "No
 * messages yet", when the room was last active, and, for this visitor, whether anything is new.
 *
 * `preview`: the last message; null: the room has none; undefined: not known (the
 * previews could not be read), so the card claims neither.
 * `closed`: deleted meanwhile, shown until the pointer leaves the list (live-room-list.tsx).
 * `unread`: activity since the visitor last opened it (filled in by the browser).
 */
export function RoomCard({
  room,
  preview,
  closed = false,
  unread = false,
}: {
  room: ActiveRoom;
  preview?: CardPreview | null;
  closed?: boolean;
  unread?: boolean;
}) {
  const isUnread = unread && !closed;
  return (
    <li className={closed ? "room-card room-card-closed" : "room-card"} data-unread={isUnread ? "true" : undefined}>
      <div className="room-card-head">
        <h3 className="room-name">
          <a className="room-link" href={`/rooms/${room.id}`} dir="auto">
            {room.name}
          </a>
        </h3>
        {isUnread && (
          <span className="badge badge-unread" title="New messages since your last visit">
            New<span className="visually-hidden"> messages</span>
          </span>
        )}
        {closed ? <span className="badge">Closed</span> : <OwnerBadge ownerId={room.ownerId} />}
      </div>
      {room.description && (
        <p className="room-description" dir="auto">
          {room.description}
        </p>
      )}
      <div className="room-meta">
        {preview && <Avatar name={preview.authorName} size="md" />}
        <div className={preview ? "room-preview" : "room-byline"}>
          <p className="room-meta-line">
            {preview ? (
              <bdi className="room-preview-author">{preview.authorName}</bdi>
            ) : preview === null ? (
              <span className="room-preview-empty">No messages yet</span>
            ) : (
              <span>Started by <bdi>{room.ownerName}</bdi></span>
            )}
            <span className="room-activity">
              <span className="visually-hidden">{preview === null ? ", created " : ", last active "}</span>
              <RelativeTime date={room.lastActivityAt} />
            </span>
          </p>
          {/* Text, never HTML: a message reading <b> shows those characters. One line, cut with an ellipsis. */}
          {preview && (
            <p className="room-preview-body" dir="auto">
              {preview.body}
            </p>
          )}
          {preview === null && (
            <p className="room-meta-sub">
              Started by <bdi>{room.ownerName}</bdi>
            </p>
          )}
        </div>
      </div>
    </li>
  );
}
