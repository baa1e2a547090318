import type { Room } from "../db/queries/rooms";

/** A room as the API returns it (dates as ISO strings). */
export type RoomJson = Omit<Room, "createdAt" | "updatedAt"> & { createdAt: string; updatedAt: string };

export function roomJson(room: Room): RoomJson {
  return { ...room, createdAt: room.createdAt.toISOString(), updatedAt: room.updatedAt.toISOString() };
}
