import type { Room } from "../db/queries/rooms";

/** A room as the API returns it (dates as ISO strings). */
export interface RoomJson {
  id: string;
  name: string;
  description: string;
  ownerId: string;
  ownerName: string;
  version: number;
  createdAt: string;
  updatedAt: string;
}

export function roomJson(room: Room): RoomJson {
  return { ...room, createdAt: room.createdAt.toISOString(), updatedAt: room.updatedAt.toISOString() };
}
