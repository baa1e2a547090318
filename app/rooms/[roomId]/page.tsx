import type { Metadata } from "next";
import { notFound } from "next/navigation";
import { connection } from "next/server";
import { SessionProvider } from "@/app/_components/session-context";
import { SiteHeader } from "@/app/_components/site-header";
import { StaleBanner } from "@/app/_components/stale-banner";
import { MESSAGE_BODY_MAX } from "@/lib/db/schema";
import { cursorSchema } from "@/lib/messages/validation";
import { latestEventId } from "@/lib/realtime/latest-event-id";
import { ROOMS_PAGE_SIZE } from "@/lib/rooms/activity-order";
import { runtime } from "@/lib/runtime";
import { uuidSchema } from "@/lib/validation";
import { LiveConversation } from "./_components/live-conversation";
import { MarkRead } from "./_components/mark-read";
import { SendMessageForm } from "./_components/send-message-form";

type Props = { params: Promise<{ roomId: string }>; searchParams: Promise<{ before?: string | string[] }> };

/**
 * The shared part of a room, read cache-first: the room, the room list beside it and the
 * newest page of messages (`messages:{roomId}`), or an older page (`?before=<cursor>`,
 * from Postgres). Reads no cookies: the visitor's own-message marks come from the browser.
 */
async function loadRoom(props: Props) {
  const roomId = uuidSchema.safeParse((await props.params).roomId);
  if (!roomId.success) notFound();
  const rawBefore = (await props.searchParams).before;
  const before = cursorSchema.safeParse(typeof rawBefore === "string" ? rawBefore : undefined);
  const { rooms, messages, activity } = runtime();
  // The stream's position BEFORE the data: an event landing in between is then replayed
  // to the browser (and applied idempotently) instead of falling between render and connect.
  const since = before.success ? undefined : await latestEventId(`room:${roomId.data}`);
  const [room, page, others] = await Promise.all([
    rooms.getRoom(roomId.data),
    messages.getPage(roomId.data, before.success ? { before: before.data } : {}),
    // The list beside the conversation is decoration: without it the room still works.
    // Most recent activity first, as on the home page and GET /api/rooms.
    activity
      .activeRooms(rooms)
      .then((all) => all.data)
      .catch(() => null),
  ]);
  if (!room.data || !page.data) notFound();
  return {
    room: room.data,
    page: page.data,
    older: before.success,
    others: others ?? [],
    since,
    stale: room.source === "stale" || page.source === "stale",
  };
}

export async function generateMetadata(props: Props): Promise<Metadata> {
  const id = uuidSchema.safeParse((await props.params).roomId);
  const room = id.success ? (await runtime().rooms.getRoom(id.data).catch(() => null))?.data : null;
  return { title: room?.name ?? "Room not found" };
}

/**
 * Complete in the first response (no Suspense), correct with JavaScript off. Unknown and
 * malformed ids normally never get here: proxy.ts answers them with the prerendered 404
 * page (Next 16 would leave a dynamic page's notFound() body to the browser,
 * vercel/next.js#62228). notFound() below covers a room deleted during the request.
 */
export default async function RoomPage(props: Props) {
  await connection();
  const { room, page, older, others, stale, since } = await loadRoom(props);
  return (
    <SessionProvider>
      <a className="skip-link" href="#message-body">
        Skip to the message box
      </a>
      <SiteHeader count={others.length} stale={stale} />
      {stale && <StaleBanner />}
      <main className="container chat-layout">
        <nav className="chat-rooms" aria-label="All rooms">
          <a className="chat-back" href="/">
            ← All rooms
          </a>
          <ul className="chat-room-list">
            {others.slice(0, ROOMS_PAGE_SIZE).map((r) => (
              <li key={r.id}>
                <a href={`/rooms/${r.id}`} aria-current={r.id === room.id ? "page" : undefined}>
                  <span dir="auto">{r.name}</span>
                </a>
              </li>
            ))}
          </ul>
          {others.length > ROOMS_PAGE_SIZE && (
            <a className="chat-more-rooms" href="/rooms?page=2">
              {others.length - ROOMS_PAGE_SIZE} more rooms →
            </a>
          )}
        </nav>
        <section className="chat" aria-labelledby="room-title">
          <header className="chat-head">
            <a className="chat-back chat-back-inline" href="/">
              ← All rooms
            </a>
            <h1 id="room-title" dir="auto">
              {room.name}
            </h1>
            {room.description && (
              <p className="chat-description" dir="auto">
                {room.description}
              </p>
            )}
          </header>
          <LiveConversation
            roomId={room.id}
            messages={page.messages}
            live={!older}
            since={since}
            bodyMax={MESSAGE_BODY_MAX}
            paging={
              <div className="chat-paging">
                {page.nextCursor && (
                  <a className="button button-secondary" href={`/rooms/${room.id}?before=${page.nextCursor}`}>
                    Load older messages
                  </a>
                )}
                {older && (
                  <a className="button button-secondary" href={`/rooms/${room.id}`}>
                    Back to newest
                  </a>
                )}
              </div>
            }
          />
          <SendMessageForm roomId={room.id} maxLength={MESSAGE_BODY_MAX} />
          {!older && <MarkRead roomId={room.id} />}
        </section>
      </main>
    </SessionProvider>
  );
}
