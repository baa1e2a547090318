import type { Metadata } from "next";
import { connection } from "next/server";
import { Avatar } from "@/app/_components/avatar";
import { formatFull, formatTime } from "@/app/_components/format";
import { SessionProvider } from "@/app/_components/session-context";
import { SiteHeader } from "@/app/_components/site-header";
import { getLiveMessage } from "@/lib/db/queries/messages";
import { MESSAGE_BODY_MAX } from "@/lib/db/schema";
import { runtime } from "@/lib/runtime";
import { readSession } from "@/lib/session/cookie";
import { uuidSchema } from "@/lib/validation";
import { ManageMessageForms } from "./_components/manage-message-forms";

export const metadata: Metadata = { title: "Message", robots: { index: false } };

type Props = { params: Promise<{ roomId: string; messageId: string }> };

/**
 * One message, and for its author the forms to edit or delete it. This is where a
 * message's "Edit or delete" link leads when the browser runs no JavaScript (with it,
 * the conversation edits in place): the conversation's HTML is the same for everyone, so
 * only a page of its own can know, from the session cookie, whether the visitor wrote it.
 */
export default async function MessagePage(props: Props) {
  await connection();
  const params = await props.params;
  const roomId = uuidSchema.safeParse(params.roomId);
  const messageId = uuidSchema.safeParse(params.messageId);
  const rt = runtime();
  const [session, room, message] =
    roomId.success && messageId.success
      ? await Promise.all([readSession(), rt.rooms.getRoom(roomId.data), getLiveMessage(rt.db.db, { roomId: roomId.data, messageId: messageId.data })])
      : [undefined, null, undefined];
  const back = room?.data ? `/rooms/${room.data.id}` : "/";
  return (
    <SessionProvider>
      <SiteHeader />
      <main className="container manage-message">
        <a className="chat-back" href={message ? `${back}#m-${message.seq}` : back}>
          ← {room?.data ? `Back to ${room.data.name}` : "All rooms"}
        </a>
        {!room?.data || !message ? (
          <>
            <h1>This message isn’t here</h1>
            <p>It may have been deleted, or the link is mistyped.</p>
          </>
        ) : (
          <>
            <h1>A message in {room.data.name}</h1>
            <div className="message message-first">
              <Avatar name={message.authorName} size="md" />
              <div className="message-main">
                <p className="message-meta">
                  <span className="message-author">{message.authorName}</span>
                  <time dateTime={message.createdAt.toISOString()} title={formatFull(message.createdAt)}>
                    {formatTime(message.createdAt)}
                  </time>
                </p>
                <p className="message-body">{message.body}</p>
              </div>
            </div>
            {session?.id === message.authorId ? (
              <ManageMessageForms roomId={room.data.id} messageId={message.id} body={message.body} bodyMax={MESSAGE_BODY_MAX} />
            ) : (
              <p className="field-hint">Only its author can edit or delete a message, from the browser they wrote it in.</p>
            )}
          </>
        )}
      </main>
    </SessionProvider>
  );
}
