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

export type LobbyEvent =
  | { type: "room.created"; room: Room }
  | { type: "room.updated"; room: Room }
  | { type: "room.deleted"; room: Room }
  | { type: "room.activity"; roomId: string; lastActivityAt: string }
  | { type: "message.created"; message: MessageEventPayload }
  | { type: "message.deleted"; roomId: string; messageId: string }
  | { type: "message.edited"; roomId: string; messageId: string; body: string; editedAt: string };

export type Topic = "rooms" | `room:${string}`;

export interface EventBus {
  /** Best effort: never throws (a lost event is caught up by the client's re-fetch on reconnect). */
  publish(topic: Topic, event: LobbyEvent): Promise<void>;
}
