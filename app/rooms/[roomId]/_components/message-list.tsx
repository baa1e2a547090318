import { Avatar } from "@/app/_components/avatar";
import { formatFull, formatTime } from "@/app/_components/format";
import type { Message } from "@/lib/db/queries/messages";
import { OwnMessageControls } from "./own-message-controls";

/**
 * What the list shows of a message: a server-rendered one has its `seq` (the `#m-{seq}`
 * anchor); one heard over the stream does not.
 */
export type ShownMessage = Pick<Message, "id" | "authorId" | "authorName" | "body" | "createdAt"> & { seq?: number };

/**
 * The conversation, oldest to newest. Server-rendered the same for every visitor; in the
 * browser `viewerId` (from /api/session) marks the visitor's own messages.
 */
export function MessageList({ roomId, messages, viewerId }: { roomId: string; messages: ShownMessage[]; viewerId?: string | null }) {
  if (messages.length === 0) {
    return (
      <div className="chat-empty">
        <p className="empty-title">No messages yet</p>
        <p>Say hello to get the conversation going.</p>
      </div>
    );
  }
  return (
    <ol className="message-list" aria-label="Messages">
      {messages.map((m) => (
        <li
          key={m.id}
          className={viewerId && viewerId === m.authorId ? "message message-mine" : "message"}
          id={m.seq === undefined ? undefined : `m-${m.seq}`}
        >
          <Avatar name={m.authorName} size="md" />
          <div className="message-main">
            <p className="message-meta">
              <span className="message-author">{m.authorName}</span>
              <time dateTime={m.createdAt.toISOString()} title={formatFull(m.createdAt)}>
                {formatTime(m.createdAt)}
              </time>
              <OwnMessageControls roomId={roomId} messageId={m.id} authorId={m.authorId} />
            </p>
            <p className="message-body">{m.body}</p>
          </div>
        </li>
      ))}
    </ol>
  );
}
