import type { Room } from "../db/queries/rooms";

/**
 * What the realtime layer carries (DESIGN.md, Realtime). Topics: `rooms` (the live room
 * list: created, renamed, deleted, activity) and `room:{id}` (that room's messages).
 * Producers call `EventBus.publish(topic, event)` after their write commits; the bus
 * gives each event an id, keeps a bounded replay log per topic and fans out over Redis
 * pub/sub to every web instance's Server-Sent Events streams.
 */
export interface MessageEventPayload {
  id: string;
  roomId: string;
  authorId: string;
  authorName: string;
  body: string;
  createdAt: string;
}

/**
 * A room's last live message as the room list shows it (lib/rooms/room-previews.ts), as of
 * `version` (rooms.message_version: every send, edit and delete takes a new one, so a
 * client keeps the highest it has seen). `last` null: the room has no message left.
 */
export interface PreviewPayload {
  version: number;
  last: { id: string; authorName: string; body: string; createdAt: string } | null;
}

export type LobbyEvent =
  | { type: "room.created"; room: Room }
  | { type: "room.updated"; room: Room }
  | { type: "room.deleted"; room: Room }
  /** A message was sent: the room moves up, and its card shows the message. */
  | { type: "room.activity"; roomId: string; lastActivityAt: string; preview?: PreviewPayload }
  /** A message was edited or deleted: the card's preview changes (the order does not). */
  | { type: "room.preview"; roomId: string; preview: PreviewPayload }
  | { type: "message.created"; message: MessageEventPayload }
  | { type: "message.deleted"; roomId: string; messageId: string }
  | { type: "message.edited"; roomId: string; messageId: string; body: string; editedAt: string };

export type Topic = "rooms" | `room:${string}`;

export interface EventBus {
  /** Best effort: never throws (a lost event is caught up by the client's re-fetch on reconnect). */
  publish(topic: Topic, event: LobbyEvent): Promise<void>;
}
