import { Avatar } from "@/app/_components/avatar";
import { formatFull, formatTime } from "@/app/_components/format";
import type { Message } from "@/lib/db/queries/messages";
import { OwnMessageControls } from "./own-message-controls";

/** The conversation, oldest to newest; server-rendered, the same for every visitor. */
export function MessageList({ roomId, messages }: { roomId: string; messages: Message[] }) {
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
        <li key={m.id} className="message" id={`m-${m.seq}`}>
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
