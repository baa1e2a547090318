import type { Message, MessagePage } from "../db/queries/messages";

/** A message as the API and events carry it (dates as ISO strings, seq as the cursor string). */
export interface MessageJson {
  id: string;
  roomId: string;
  seq: string;
  authorId: string;
  authorName: string;
  body: string;
  createdAt: string;
  editedAt: string | null;
}

export function messageJson(m: Message): MessageJson {
  return {
    ...m,
    seq: String(m.seq),
    createdAt: m.createdAt.toISOString(),
    editedAt: m.editedAt ? m.editedAt.toISOString() : null,
  };
}

export function pageJson(page: MessagePage): { messages: MessageJson[]; nextCursor: string | null } {
  return { messages: page.messages.map(messageJson), nextCursor: page.nextCursor };
}
