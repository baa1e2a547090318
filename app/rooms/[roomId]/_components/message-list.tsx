"use client";

import { useState } from "react";
import { Avatar } from "@/app/_components/avatar";
import { formatClock, formatFull, formatTime } from "@/app/_components/format";
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

/** Messages of one author this close together read as one group (Slack and Discord use a few minutes). */
export const GROUP_GAP_MS = 5 * 60_000;

/** Whether `m` starts a group: another author than the message before it, or a pause. */
export const startsGroup = (m: ShownMessage, previous: ShownMessage | undefined) =>
  !previous || previous.authorId !== m.authorId || m.createdAt.getTime() - previous.createdAt.getTime() > GROUP_GAP_MS;

/**
 * The conversation, oldest to newest, in groups: a run of one author's messages shows the
 * avatar, name and time once, then just the messages (each one's time on hover or focus).
 * Server-rendered the same for every visitor; in the browser `viewerId` (from
 * /api/session) marks the visitor's own messages and gives them Edit and Delete.
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
      {messages.map((m, i) => (
        <MessageItem
          key={m.id}
          roomId={roomId}
          message={m}
          first={startsGroup(m, messages[i - 1])}
          mine={Boolean(viewerId && viewerId === m.authorId)}
          bodyMax={bodyMax}
        />
      ))}
    </ol>
  );
}

function MessageItem({
  roomId,
  message: m,
  first,
  mine,
  bodyMax,
}: {
  roomId: string;
  message: ShownMessage;
  first: boolean;
  mine: boolean;
  bodyMax: number;
}) {
  const [editing, setEditing] = useState(false);
  const time = (short: boolean) => (
    <time dateTime={m.createdAt.toISOString()} title={formatFull(m.createdAt)}>
      {short ? formatClock(m.createdAt) : formatTime(m.createdAt)}
    </time>
  );
  const className = ["message", first ? "message-first" : "message-cont", mine ? "message-mine" : ""].filter(Boolean).join(" ");
  return (
    <li className={className} id={m.seq === undefined ? undefined : `m-${m.seq}`}>
      {first ? <Avatar name={m.authorName} size="md" /> : <span className="message-gutter">{time(true)}</span>}
      <div className="message-main">
        {first ? (
          <p className="message-meta">
            <span className="message-author" dir="auto">
              {m.authorName}
            </span>
            {time(false)}
            {mine && <span className="badge badge-owner">You</span>}
          </p>
        ) : (
          // The group's name, for a screen reader that lands on this message alone.
          <span className="visually-hidden"><bdi>{m.authorName}</bdi>: </span>
        )}
        {editing ? (
          <EditMessageForm roomId={roomId} messageId={m.id} body={m.body} maxLength={bodyMax} onDone={() => setEditing(false)} />
        ) : (
          <p className="message-body" dir="auto">
            {/* Its own element, so the text reads (and is found) as written, without the mark. */}
            <span className="message-text">{m.body}</span>
            {m.editedAt && (
              <>
                {" "}
                {/* A <time> so it reads like the timestamp beside it; its title says when. */}
                <time className="message-edited" dateTime={m.editedAt.toISOString()} title={`Edited ${formatFull(m.editedAt)}`}>
                  (edited)
                </time>
              </>
            )}
          </p>
        )}
      </div>
      {/*
        The message's tools: shown on hover and on keyboard focus (always on touch screens).
        With JavaScript, Edit and Delete on the visitor's own messages; without it, the
        browser cannot know whose message this is, so a link leads to a page that does.
      */}
      <div className="message-tools">
        <OwnMessageControls roomId={roomId} messageId={m.id} authorId={m.authorId} onEdit={editing ? undefined : () => setEditing(true)} />
        <noscript>
          <a className="message-tool" href={`/rooms/${roomId}/messages/${m.id}`}>
            Edit or delete<span className="visually-hidden"> this message</span>
          </a>
        </noscript>
      </div>
    </li>
  );
}
