import type { Db } from "../db/client";
import { lastMessages, PREVIEW_CHARS, type LastMessage, type Message, type RoomPreview } from "../db/queries/messages";

export { PREVIEW_CHARS, type LastMessage, type RoomPreview };

/** How long a render waits for the previews before it goes on without them. */
const PREVIEWS_DEADLINE_MS = 1_000;

/**
 * The room cards' previews: each shown room's last live message, read from Postgres in one
 * prepared statement per render (no cache of their own: the home page is itself cached,
 * and every message send, edit and delete expires it, so the render that reads them is the
 * one after the write). `rooms:all` is never touched. Decoration: null when Postgres did
 * not answer in time, and the cards then show no preview at all (never a false "No
 * messages yet").
 */
export async function readPreviews(db: Db, roomIds: string[], deadlineMs = PREVIEWS_DEADLINE_MS): Promise<Map<string, RoomPreview> | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), deadlineMs);
  });
  try {
    const rows = await Promise.race([lastMessages(db, roomIds), late]);
    return rows && new Map(rows.map((r) => [r.roomId, r]));
  } catch {
    return null;
  } finally {
    clearTimeout(timer);
  }
}

/** A message as a room card shows it: the body cut as the statement cuts it (code points). */
export function toLastMessage(message: Pick<Message, "id" | "authorName" | "body" | "createdAt">): LastMessage {
  const chars = [...message.body];
  return {
    id: message.id,
    authorName: message.authorName,
    body: chars.length > PREVIEW_CHARS ? chars.slice(0, PREVIEW_CHARS).join("") : message.body,
    createdAt: message.createdAt,
  };
}
