import type { Room } from "../db/queries/rooms";

/** What pub/sub carries about rooms (DESIGN.md realtime: the live room list). */
export type RoomEvent =
  | { type: "room.created"; room: Room }
  | { type: "room.updated"; room: Room }
  | { type: "room.deleted"; room: Room };
