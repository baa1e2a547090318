/**
 * A committed write that can change the stats or search results, announced by the room
 * and message writers after their transaction (lib/runtime.ts wires the listeners).
 */
export type ContentChange =
  | "room.created"
  | "room.updated"
  | "room.deleted"
  | "message.created"
  | "message.updated"
  | "message.deleted";

/** Called after a commit; resolves once the affected caches are marked, never rejects. */
export type ContentChangeListener = (change: ContentChange) => Promise<void>;

/** Which writes move the stats: a rename or an edit changes no count. */
export const CHANGES_STATS: ReadonlySet<ContentChange> = new Set(["room.created", "room.deleted", "message.created", "message.deleted"]);
