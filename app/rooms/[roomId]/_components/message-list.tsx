"use client";

import { useState } from "react";
import { Avatar } from "@/app/_components/avatar";
import { formatFull, formatTime } from "@/app/_components/format";
import type { Message } from "@/lib/db/queries/messages";
import { EditMessageForm } from "./edit-message-form";
import { OwnMessageControls } from "./own-message-controls";

/**
 * What the list shows of a message: a server-rendered one has its `seq` (the `#m-{seq}`
 * anchor); one heard over the stream does not. `editedAt`: when its author last edited it.
 */
export type ShownMessage = Pick<Message, "id" | "authorId" | "authorName" | "body" | "createdAt"> & {
  seq?: number;
  editedAt?: Date | null;
};

/**
 * The conversation, oldest to newest. Server-rendered the same for every visitor; in the
 * browser `viewerId` (from /api/session) marks the visitor's own messages.
 */
export function MessageList({
  roomId,
  messages,
  viewerId,
  bodyMax,
}: {
  roomId: string;
  messages: ShownMessage[];
  viewerId?: string | null;
  /** Longest body an edit may have (the send rules). */
  bodyMax: number;
}) {
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
        <MessageItem key={m.id} roomId={roomId} message={m} mine={Boolean(viewerId && viewerId === m.authorId)} bodyMax={bodyMax} />
      ))}
    </ol>
  );
}

function MessageItem({ roomId, message: m, mine, bodyMax }: { roomId: string; message: ShownMessage; mine: boolean; bodyMax: number }) {
  const [editing, setEditing] = useState(false);
  return (
    <li className={mine ? "message message-mine" : "message"} id={m.seq === undefined ? undefined : `m-${m.seq}`}>
      <Avatar name={m.authorName} size="md" />
      <div className="message-main">
        <p className="message-meta">
          <span className="message-author" dir="auto">
            {m.authorName}
          </span>
          <time dateTime={m.createdAt.toISOString()} title={formatFull(m.createdAt)}>
            {formatTime(m.createdAt)}
          </time>
          {m.editedAt && (
            // A <time> so it reads like the timestamp beside it; its title says when.
            <time className="message-edited" dateTime={m.editedAt.toISOString()} title={`Edited ${formatFull(m.editedAt)}`}>
              (edited)
            </time>
          )}
          <OwnMessageControls roomId={roomId} messageId={m.id} authorId={m.authorId} onEdit={editing ? undefined : () => setEditing(true)} />
        </p>
        {editing ? (
          <EditMessageForm roomId={roomId} messageId={m.id} body={m.body} maxLength={bodyMax} onDone={() => setEditing(false)} />
        ) : (
          <p className="message-body" dir="auto">
            {m.body}
          </p>
        )}
      </div>
    </li>
  );
}
