"use client";

import { useRouter } from "next/navigation";
import { useCallback, useLayoutEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { useSession } from "@/app/_components/session-context";
import { useEventStream } from "@/app/_components/use-event-stream";
import * as z from "zod/mini";
import type { MessageEventPayload } from "@/lib/realtime/events";
import { MessageList, type ShownMessage } from "./message-list";

const MESSAGE_EVENTS = ["message.created", "message.deleted", "message.edited"] as const;

/** The newest page as GET /api/rooms/by-id/{id}/messages returns it (what a reset reloads). */
const pageSchema = z.object({
  messages: z.array(
    z.object({
      id: z.string(),
      seq: z.string(),
      authorId: z.string(),
      authorName: z.string(),
      body: z.string(),
      createdAt: z.iso.datetime(),
      editedAt: z.nullable(z.iso.datetime()),
    }),
  ),
});

/** `message.edited`: the new body of a message, and when it was edited. */
const editedSchema = z.object({ messageId: z.string(), body: z.string(), editedAt: z.iso.datetime() });

/** Within this many pixels of the newest message counts as "at the bottom". */
const BOTTOM_SLACK_PX = 48;

interface ConversationState {
  /** The server-rendered page this state started from; a new one (a refresh) replaces it. */
  from: ShownMessage[];
  /** What the server says the newest page is: `from`, or the page a reset reloaded. */
  base: ShownMessage[];
  /** Heard over the stream and newer than anything in `from`, oldest first. */
  live: ShownMessage[];
  /** Deleted while the page was open: never shown again, whatever a (cached) render says. */
  deleted: Set<string>;
  /** Edits heard over the stream; shown over any copy edited earlier (or never). */
  edited: Map<string, { body: string; editedAt: Date }>;
}

const applyEdit = (m: ShownMessage, e: { body: string; editedAt: Date } | undefined): ShownMessage =>
  e && (!m.editedAt || m.editedAt.getTime() < e.editedAt.getTime()) ? { ...m, body: e.body, editedAt: e.editedAt } : m;

/** The scroller is `column-reverse`: scrollTop is 0 at the newest message and negative above it. */
const isAtBottom = (el: HTMLElement | null) => !el || Math.abs(el.scrollTop) <= BOTTOM_SLACK_PX;
// Clamped to the end whichever way the scroller runs.
const scrollToBottom = (el: HTMLElement) => el.scrollTo({ top: el.scrollHeight });
/** Distance from the oldest end, which stays put when a message is appended. */
const offsetFromTop = (el: HTMLElement) => el.scrollHeight - el.clientHeight - Math.abs(el.scrollTop);

function mergeLive(from: ShownMessage[], live: ShownMessage[]): ShownMessage[] {
  const ids = new Set(from.map((m) => m.id));
  const newest = from.at(-1)?.createdAt.getTime() ?? -Infinity;
  // The server's page is the truth up to its newest message; keep only what came after.
  return live.filter((m) => !ids.has(m.id) && m.createdAt.getTime() >= newest);
}

/**
 * The conversation of a room, kept live over Server-Sent Events (`room:{id}`). Server
 * rendered as the plain list (JavaScript off: exactly that), then:
 *
 * - `message.created` appends, deduplicated by id (the sender's own message also arrives
 *   through the form action's re-render); `message.deleted` removes; `message.edited`
 *   replaces the body in place (marked "edited");
 * - the first connection starts from `since`, the room's newest event id at render time,
 *   so messages sent between the render and the connection are replayed; when the server
 *   answers `reset` (that id is older than the capped log) the newest page is re-fetched;
 * - a new message scrolls into view only if the reader is at the bottom (or wrote it);
 *   otherwise a "New messages ↓" button appears and the reading position is kept;
 * - messages from others are announced in a polite live region;
 * - a dropped stream shows "Reconnecting…"; once back, the page is re-rendered from the
 *   server (the replay covers the gap, the refresh what a replay cannot).
 *
 * `live` is false on an older page (`?before=`): nothing is appended there.
 */
export function LiveConversation({
  roomId,
  messages: initial,
  live: enabled,
  paging,
  since,
  bodyMax,
}: {
  roomId: string;
  messages: ShownMessage[];
  live: boolean;
  paging: ReactNode;
  /** The room's newest event id when the page was rendered. */
  since?: string;
  /** Longest message body (the edit form's limit). */
  bodyMax: number;
}) {
  const router = useRouter();
  const { viewer } = useSession();
  const scrollRef = useRef<HTMLDivElement>(null);
  const [state, setState] = useState<ConversationState>({ from: initial, base: initial, live: [], deleted: new Set(), edited: new Map() });
  const [unseen, setUnseen] = useState(0);
  const [announcement, setAnnouncement] = useState("");
  const [mounted, setMounted] = useState(false);
  // What to do with the scroll position once the next messages are on screen.
  const pendingScroll = useRef<"bottom" | { fromTop: number } | null>(null);

  let current = state;
  if (state.from !== initial) {
    current = { ...state, from: initial, base: initial, live: mergeLive(initial, state.live) };
    setState(current);
  }

  const shown = useMemo(() => {
    const all = [...current.base, ...current.live];
    const kept = current.deleted.size ? all.filter((m) => !current.deleted.has(m.id)) : all;
    return current.edited.size ? kept.map((m) => applyEdit(m, current.edited.get(m.id))) : kept;
  }, [current]);

  // Ids on screen, for the event handler (which runs outside render).
  const shownIds = useRef(new Set<string>());
  const viewerId = useRef<string | null>(null);
  useLayoutEffect(() => {
    shownIds.current = new Set(shown.map((m) => m.id));
    viewerId.current = viewer?.id ?? null;
  });

  useLayoutEffect(() => setMounted(true), []);

  // A server re-render whose newest message is the visitor's own (the send action): show it.
  const lastInitial = useRef(initial);
  useLayoutEffect(() => {
    if (lastInitial.current === initial) return;
    const before = new Set(lastInitial.current.map((m) => m.id));
    lastInitial.current = initial;
    const newest = initial.at(-1);
    if (newest && !before.has(newest.id) && newest.authorId === viewer?.id && scrollRef.current) {
      scrollToBottom(scrollRef.current);
      setUnseen(0);
    }
  }, [initial, viewer]);

  useLayoutEffect(() => {
    const el = scrollRef.current;
    const pending = pendingScroll.current;
    pendingScroll.current = null;
    if (!el || !pending) return;
    if (pending === "bottom") scrollToBottom(el);
    else el.scrollTop = pending.fromTop - (el.scrollHeight - el.clientHeight);
  }, [shown]);

  const onEvent = useCallback(
    (type: string, data: unknown) => {
      if (type === "message.deleted") {
        const { messageId } = data as { messageId?: string };
        if (typeof messageId !== "string") return;
        setState((s) => (s.deleted.has(messageId) ? s : { ...s, deleted: new Set(s.deleted).add(messageId) }));
        return;
      }
      if (type === "message.edited") {
        const edit = z.safeParse(editedSchema, data);
        if (!edit.success) return;
        const { messageId, body, editedAt } = edit.data;
        const at = new Date(editedAt);
        setState((s) => {
          const known = s.edited.get(messageId);
          if (known && known.editedAt.getTime() >= at.getTime()) return s;
          return { ...s, edited: new Map(s.edited).set(messageId, { body, editedAt: at }) };
        });
        return;
      }
      const payload = (data as { message?: MessageEventPayload }).message;
      if (type !== "message.created" || !payload || payload.roomId !== roomId) return;
      if (shownIds.current.has(payload.id)) return;
      const message: ShownMessage = {
        id: payload.id,
        authorId: payload.authorId,
        authorName: payload.authorName,
        body: payload.body,
        createdAt: new Date(payload.createdAt),
      };
      const el = scrollRef.current;
      const mine = payload.authorId === viewerId.current;
      if (mine || isAtBottom(el)) pendingScroll.current = "bottom";
      else if (el) {
        pendingScroll.current ??= { fromTop: offsetFromTop(el) };
        setUnseen((n) => n + 1);
      }
      if (!mine) setAnnouncement(`New message from ${message.authorName}: ${message.body.slice(0, 200)}`);
      setState((s) =>
        s.live.some((m) => m.id === message.id) || s.base.some((m) => m.id === message.id) || s.deleted.has(message.id)
          ? s
          : { ...s, live: [...s.live, message] },
      );
    },
    [roomId],
  );

  // After a reset: the newest page from the API replaces what the render (or a reload) said.
  const reload = useCallback(async () => {
    try {
      const response = await fetch(`/api/rooms/by-id/${roomId}/messages`, { headers: { accept: "application/json" }, cache: "no-store" });
      if (!response.ok) return;
      const page = z.safeParse(pageSchema, await response.json());
      if (!page.success) return;
      const fresh: ShownMessage[] = page.data.messages.map((m) => ({
        ...m,
        seq: Number(m.seq),
        createdAt: new Date(m.createdAt),
        editedAt: m.editedAt ? new Date(m.editedAt) : null,
      }));
      setState((s) => ({ ...s, base: fresh, live: mergeLive(fresh, s.live) }));
    } catch {
      // Offline: the next reconnect refreshes the page.
    }
  }, [roomId]);

  const { status, ready } = useEventStream(
    enabled ? `/api/rooms/by-id/${roomId}/events` : null,
    {
      types: MESSAGE_EVENTS,
      onEvent,
      onReconnect: () => router.refresh(),
      onReset: () => void reload(),
    },
    { since },
  );

  const jumpToNewest = () => {
    if (scrollRef.current) scrollToBottom(scrollRef.current);
    setUnseen(0);
  };

  return (
    // data-stream: absent in the server's markup (and so with JavaScript off); specs wait on it.
    <div className="chat-body" data-stream={enabled && ready ? "ready" : undefined}>
      <div
        className="chat-scroll"
        ref={scrollRef}
        onScroll={unseen > 0 ? (e) => isAtBottom(e.currentTarget) && setUnseen(0) : undefined}
      >
        {/* column-reverse on the scroller opens it at the newest message, without script. */}
        <div className="chat-log">
          {paging}
          <MessageList roomId={roomId} messages={shown} viewerId={viewer?.id} bodyMax={bodyMax} />
        </div>
      </div>
      {enabled && status === "reconnecting" && (
        <p className="chat-status" role="status">
          Reconnecting…
        </p>
      )}
      {unseen > 0 && (
        <button type="button" className="button button-primary chat-new" onClick={jumpToNewest}>
          New messages ↓
        </button>
      )}
      {mounted && (
        <div className="visually-hidden" aria-live="polite" aria-atomic="true">
          {announcement}
        </div>
      )}
    </div>
  );
}
