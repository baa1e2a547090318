import type { Room } from "../db/queries/rooms";

/** A room as the API returns it (dates as ISO strings). */
export type RoomJson = Omit<Room, "createdAt" | "updatedAt"> & { createdAt: string; updatedAt: string };

export function roomJson(room: Room): RoomJson {
  return { ...room, createdAt: room.createdAt.toISOString(), updatedAt: room.updatedAt.toISOString() };
}

/** A listed room with its last activity (the room list's order). */
export type ActiveRoomJson = RoomJson & { lastActivityAt: string };

export function activeRoomJson(room: Room & { lastActivityAt: Date }): ActiveRoomJson {
  return { ...roomJson(room), lastActivityAt: room.lastActivityAt.toISOString() };
}
