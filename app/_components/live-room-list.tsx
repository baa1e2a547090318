"use client";

import { useCallback, useEffect, useRef, useState } from "react";
import * as z from "zod/mini";
import { ROOMS_PAGE_SIZE, byActivity, type ActiveRoom } from "@/lib/rooms/activity-order";
import type { RoomJson } from "@/lib/rooms/room-json";
import { formatCount } from "./format";
import { RoomCard, type CardPreview } from "./room-card";
import { useSession } from "./session-context";
import { useEventStream } from "./use-event-stream";

const ROOM_EVENTS = ["room.created", "room.updated", "room.deleted", "room.activity", "room.preview"] as const;

/** A room's last message as the list knows it, as of `version` (rooms.message_version: newer wins). */
export interface ListPreview {
  version: number;
  last: CardPreview | null;
}

/** What `room.activity` (a send) and `room.preview` (an edit or delete) carry (lib/realtime/events.ts). */
const previewEventSchema = z.object({
  roomId: z.string(),
  preview: z.object({
    version: z.number(),
    last: z.nullable(z.object({ authorName: z.string(), body: z.string(), createdAt: z.iso.datetime() })),
  }),
});

/** A room from the API or an event; events about a room's metadata carry no activity (then: its creation). */
const toRoom = (json: RoomJson & { lastActivityAt?: string }): ActiveRoom => {
  const createdAt = new Date(json.createdAt);
  return {
    ...json,
    createdAt,
    updatedAt: new Date(json.updatedAt),
    lastActivityAt: json.lastActivityAt ? new Date(json.lastActivityAt) : createdAt,
  };
};

/** The newer activity of two copies of a room (metadata events do not know it). */
const later = (a: Date, b: Date) => (a.getTime() >= b.getTime() ? a : b);

interface ListState {
  /** The server-rendered rooms this state started from; new ones (a refresh) replace everything. */
  from: ActiveRoom[];
  shown: ActiveRoom[];
  /** Rooms created elsewhere, announced by the "show" button rather than pushed into the list. */
  waiting: ActiveRoom[];
  /** Rooms deleted while the pointer was over the list: removed when it leaves. */
  gone: Set<string>;
  /** Activity moved a room while the pointer was over the list: re-ordered when it leaves. */
  unsorted: boolean;
}

/**
 * The room list, most recent activity first, kept live over Server-Sent Events
 * (`/api/events`, topic `rooms`). Server rendered exactly as before (JavaScript off: a
 * plain list), then:
 *
 * - renames apply in place;
 * - activity (`room.activity`, a message sent) marks the room unread and moves it to the
 *   top, unless the pointer is over the list: then the move waits until it leaves, so
 *   nothing shifts under a click;
 * - rooms created elsewhere never push the list down on their own: they wait behind an
 *   "N new rooms — show" button, and join the list when the visitor asks;
 * - a deleted room leaves at once, unless the pointer is over the list: then its card is
 *   marked closed and goes when the pointer leaves;
 * - after a reconnect the list (and the unread marks) are re-fetched (the replay covers the
 *   gap, the re-fetch whatever a replay cannot: an expired log, a lost publish); so is it
 *   when the server answers `reset` (the page's id is older than the capped log);
 * - `since`, the topic's newest event id when the page was rendered, is where the first
 *   connection starts: events between the render (or a cached page's older render) and
 *   the connection are replayed, applied idempotently.
 *
 * Unread dots come from `/api/session/unread`, fetched once the browser knows the session
 * (like the ownership badges), then follow the stream.
 *
 * A server re-render (the create form's action refreshes the page) hands in new rooms,
 * which replace the list: that is the visitor's own doing, so the move is expected.
 */
export function LiveRoomList({
  rooms: initial,
  count,
  since,
  previews: initialPreviews,
}: {
  rooms: ActiveRoom[];
  count: number;
  since?: string;
  /** Each shown room's last message, read with the page; absent when it could not be read. */
  previews?: Record<string, ListPreview>;
}) {
  const [state, setState] = useState<ListState>({ from: initial, shown: initial, waiting: [], gone: new Set(), unsorted: false });
  // Previews from the render, then from the stream (an event's version beats an older render's).
  const [previews, setPreviews] = useState<ReadonlyMap<string, ListPreview>>(() => new Map(Object.entries(initialPreviews ?? {})));
  const [previewsFrom, setPreviewsFrom] = useState(initialPreviews);
  if (previewsFrom !== initialPreviews) {
    setPreviewsFrom(initialPreviews);
    setPreviews((known) => {
      const next = new Map(Object.entries(initialPreviews ?? {}));
      for (const [id, p] of known) {
        const rendered = next.get(id);
        if (!rendered || rendered.version < p.version) next.set(id, p);
      }
      return next;
    });
  }
  const learn = useCallback((roomId: string, preview: ListPreview) => {
    setPreviews((known) => {
      const current = known.get(roomId);
      if (current && current.version >= preview.version) return known;
      return new Map(known).set(roomId, preview);
    });
  }, []);
  const [hovering, setHovering] = useState(false);
  const [unread, setUnread] = useState<ReadonlySet<string>>(new Set());
  // Every live room, of which the list shows the most active page: from the server, then
  // kept by the events (each deletion counted once: a replay may repeat it) and re-fetches.
  const [total, setTotal] = useState(count);
  const [totalFrom, setTotalFrom] = useState(count);
  const counted = useRef(new Set<string>());
  const refetchSoon = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  // What the event handlers need of the latest render (they are not re-created per render).
  const stateRef = useRef<ListState>(state);
  const refetchRef = useRef<(() => Promise<void>) | undefined>(undefined);
  useEffect(() => () => clearTimeout(refetchSoon.current), []);
  if (totalFrom !== count) {
    setTotalFrom(count);
    setTotal(count);
  }
  const { viewer } = useSession();
  let current = state;
  if (state.from !== initial) {
    const ids = new Set(initial.map((r) => r.id));
    current = { from: initial, shown: initial, waiting: state.waiting.filter((r) => !ids.has(r.id)), gone: new Set(), unsorted: false };
    setState(current);
  }

  const fetchUnread = useCallback(async (signal?: AbortSignal) => {
    try {
      const response = await fetch("/api/session/unread", { cache: "no-store", signal });
      if (!response.ok) return;
      const body = (await response.json()) as { roomIds?: unknown };
      if (Array.isArray(body.roomIds)) setUnread(new Set(body.roomIds.filter((id): id is string => typeof id === "string")));
    } catch {
      // Offline or aborted: no dots, the list works without them.
    }
  }, []);

  // After the session is known: the page's own GET /api/session settles the cookie first.
  const viewerId = viewer?.id;
  useEffect(() => {
    if (!viewerId) return;
    const controller = new AbortController();
    void fetchUnread(controller.signal);
    return () => controller.abort();
  }, [viewerId, fetchUnread]);

  const apply = useCallback(
    (type: string, data: unknown) => {
      if (type === "room.activity" || type === "room.preview") {
        const event = z.safeParse(previewEventSchema, data);
        if (event.success) {
          const { last, version } = event.data.preview;
          learn(event.data.roomId, { version, last: last && { ...last, createdAt: new Date(last.createdAt) } });
        }
        if (type === "room.preview") return;
      }
      if (type === "room.activity") {
        const { roomId, lastActivityAt } = data as { roomId?: string; lastActivityAt?: string };
        if (typeof roomId !== "string" || typeof lastActivityAt !== "string") return;
        const at = new Date(lastActivityAt);
        setUnread((u) => (u.has(roomId) ? u : new Set(u).add(roomId)));
        const known = stateRef.current.shown.some((r) => r.id === roomId) || stateRef.current.waiting.some((r) => r.id === roomId);
        // A room past the first page just became the most active: fetch the top page again
        // (once for a burst) so it can join, like a new room, behind the "show" button.
        if (!known && refetchRef.current) {
          clearTimeout(refetchSoon.current);
          refetchSoon.current = setTimeout(() => void refetchRef.current?.(), 500);
        }
        setState((s) => {
          const touch = (list: ActiveRoom[]) =>
            list.map((r) => (r.id === roomId && r.lastActivityAt.getTime() < at.getTime() ? { ...r, lastActivityAt: at } : r));
          const inShown = s.shown.some((r) => r.id === roomId);
          if (!inShown) return s.waiting.some((r) => r.id === roomId) ? { ...s, waiting: touch(s.waiting).sort(byActivity) } : s;
          const shown = touch(s.shown);
          return hovering ? { ...s, shown, unsorted: true } : { ...s, shown: shown.sort(byActivity), unsorted: false };
        });
        return;
      }
      const json = (data as { room?: RoomJson }).room;
      if (!json) return;
      const room = toRoom(json);
      // A new room has no message yet (version 0: any message's event is newer).
      if (type === "room.created") learn(room.id, { version: 0, last: null });
      setState((s) => {
        const inShown = s.shown.some((r) => r.id === room.id);
        const inWaiting = s.waiting.some((r) => r.id === room.id);
        const replace = (list: ActiveRoom[]) =>
          list.map((r) => (r.id === room.id && r.version <= room.version ? { ...room, lastActivityAt: later(r.lastActivityAt, room.lastActivityAt) } : r));
        if (type === "room.created" && !inShown && !inWaiting && !counted.current.has(room.id)) {
          counted.current.add(room.id);
          setTotal((t) => t + 1);
        }
        if (type === "room.deleted" && !counted.current.has(`-${room.id}`)) {
          counted.current.add(`-${room.id}`);
          setTotal((t) => Math.max(0, t - 1));
        }
        if (type === "room.deleted") {
          const waiting = s.waiting.filter((r) => r.id !== room.id);
          if (!inShown) return inWaiting ? { ...s, waiting } : s;
          if (hovering) return { ...s, waiting, gone: new Set(s.gone).add(room.id) };
          return { ...s, waiting, shown: s.shown.filter((r) => r.id !== room.id) };
        }
        if (inShown) return { ...s, shown: replace(s.shown) };
        if (inWaiting) return { ...s, waiting: replace(s.waiting) };
        if (type === "room.created") return { ...s, waiting: [...s.waiting, room].sort(byActivity) };
        return s;
      });
    },
    [hovering, learn],
  );

  const refetch = useCallback(async () => {
    void fetchUnread();
    try {
      const response = await fetch(`/api/rooms?limit=${ROOMS_PAGE_SIZE}`, { headers: { accept: "application/json" }, cache: "no-store" });
      if (!response.ok) return;
      const body = (await response.json()) as { rooms: (RoomJson & { lastActivityAt?: string })[]; count?: number };
      if (typeof body.count === "number") setTotal(body.count);
      const fresh = new Map(body.rooms.map((r) => [r.id, toRoom(r)]));
      setState((s) => {
        const shown = s.shown.filter((r) => fresh.has(r.id)).map((r) => fresh.get(r.id)!);
        const shownIds = new Set(shown.map((r) => r.id));
        const waiting = [...fresh.values()].filter((r) => !shownIds.has(r.id)).sort(byActivity);
        return hovering
          ? { ...s, shown, waiting, gone: new Set(), unsorted: true }
          : { ...s, shown: shown.sort(byActivity), waiting, gone: new Set(), unsorted: false };
      });
    } catch {
      // Offline again: the next reconnect re-fetches.
    }
  }, [fetchUnread, hovering]);

  const { status, ready } = useEventStream(
    "/api/events",
    {
      types: ROOM_EVENTS,
      onEvent: apply,
      onReconnect: () => void refetch(),
      onReset: () => void refetch(),
    },
    { since },
  );

  const showWaiting = () =>
    setState((s) => {
      const ids = new Set(s.shown.map((r) => r.id));
      return { ...s, shown: [...s.waiting.filter((r) => !ids.has(r.id)), ...s.shown].sort(byActivity), waiting: [], unsorted: false };
    });
  const leave = () => {
    setHovering(false);
    setState((s) => {
      if (!s.gone.size && !s.unsorted) return s;
      const shown = s.shown.filter((r) => !s.gone.has(r.id));
      return { ...s, shown: s.unsorted ? shown.sort(byActivity) : shown, gone: new Set(), unsorted: false };
    });
  };

  const { shown, waiting, gone } = current;
  // The server's count until something changed here; then what the list holds.
  useEffect(() => {
    stateRef.current = current;
    refetchRef.current = refetch;
  });
  const newCount = waiting.length;

  return (
    // data-stream: absent in the server's markup (and so with JavaScript off); specs wait on it.
    <section className="rooms" aria-labelledby="rooms-heading" data-stream={ready ? "ready" : undefined}>
      <div className="section-head">
        <h1 id="rooms-heading">Rooms</h1>
        <p className="section-meta">
          {status === "reconnecting" && (
            <span className="live-status" role="status">
              Reconnecting…{" "}
            </span>
          )}
          {shown.length > 0 ? `${formatCount(total, "room")}, most recent activity first` : null}
        </p>
      </div>
      {newCount > 0 && (
        <button type="button" className="button button-secondary new-rooms" onClick={showWaiting}>
          {newCount === 1 ? "1 new room" : `${newCount} new rooms`} — show
        </button>
      )}
      {shown.length === 0 ? (
        <div className="empty">
          <svg viewBox="0 0 48 48" width="48" height="48" aria-hidden="true" className="empty-icon">
            <path d="M8 12a4 4 0 0 1 4-4h24a4 4 0 0 1 4 4v16a4 4 0 0 1-4 4H20l-8 7v-7h0a4 4 0 0 1-4-4z" fill="none" stroke="currentColor" strokeWidth="2.5" strokeLinejoin="round" />
            <path d="M16 18h16M16 24h10" stroke="currentColor" strokeWidth="2.5" strokeLinecap="round" />
          </svg>
          <h2 className="empty-title">No rooms yet</h2>
          <p>Be the first: give a room a name with the form and start the conversation.</p>
        </div>
      ) : (
        <ul className="room-grid" role="list" onPointerEnter={() => setHovering(true)} onPointerLeave={leave}>
          {shown.map((room) => (
            <RoomCard
              key={room.id}
              room={room}
              preview={previews.has(room.id) ? (previews.get(room.id)?.last ?? null) : undefined}
              closed={gone.has(room.id)}
              unread={unread.has(room.id)}
            />
          ))}
        </ul>
      )}
    </section>
  );
}
