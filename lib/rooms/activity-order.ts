import type { Room } from "../db/queries/rooms";

/** A room with the time of its last activity (last message, else creation). */
export type ActiveRoom = Room & { lastActivityAt: Date };

/** Most recent activity first; ties by id, descending (the same order on every instance). */
export function byActivity(a: ActiveRoom, b: ActiveRoom): number {
  const d = b.lastActivityAt.getTime() - a.lastActivityAt.getTime();
  return d !== 0 ? d : a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/**
 * Rooms per page of the selector: the home page shows the first page (the most active),
 * /rooms the rest. The home page's size, and so its speed, does not grow with the room count.
 */
export const ROOMS_PAGE_SIZE = 50;
