import { HOME_PAGE_TAGS } from "../../page-cache/page-tags";
import type { RecordedOps } from "./ops";

/** A committed write that changes what the room list, a conversation, the stats or search show. */
export type ContentChange =
  | "room.created"
  | "room.updated"
  | "room.deleted"
  | "message.created"
  | "message.updated"
  | "message.deleted";

/** Which writes move the stats: a rename or an edit changes no count. */
export const CHANGES_STATS: ReadonlySet<ContentChange> = new Set(["room.created", "room.deleted", "message.created", "message.deleted"]);

/**
 * Everything a write makes out of date in Redis: its data keys, the home page (it shows the
 * list and its order), the stats when counts move, every cached search, and the list's
 * order when activity moves or a room goes.
 */
export function contentChangeOps(
  change: ContentChange,
  keys: string[],
  activity?: RecordedOps["activity"],
): RecordedOps {
  return { keys, pages: [...HOME_PAGE_TAGS], stats: CHANGES_STATS.has(change), search: true, ...(activity ? { activity } : {}) };
}
