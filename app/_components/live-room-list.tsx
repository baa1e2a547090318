"use client";

import { useCallback, useEffect, useState } from "react";
import { byActivity, type ActiveRoom } from "@/lib/rooms/activity-order";
import type { RoomJson } from "@/lib/rooms/room-json";
import { formatCount } from "./format";
import { RoomCard } from "./room-card";
import { useSession } from "./session-context";
import { useEventStream } from "./use-event-stream";

const ROOM_EVENTS = ["room.created", "room.updated", "room.deleted", "room.activity"] as const;

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
 *   gap, the re-fetch whatever a replay cannot: an expired log, a lost publish).
 *
 * Unread dots come from `/api/session/unread`, fetched once the browser knows the session
 * (like the ownership badges), then follow the stream.
 *
 * A server re-render (the create form's action refreshes the page) hands in new rooms,
 * which replace the list: that is the visitor's own doing, so the move is expected.
 */
export function LiveRoomList({ rooms: initial, count }: { rooms: ActiveRoom[]; count: number }) {
  const [state, setState] = useState<ListState>({ from: initial, shown: initial, waiting: [], gone: new Set(), unsorted: false });
  const [hovering, setHovering] = useState(false);
  const [unread, setUnread] = useState<ReadonlySet<string>>(new Set());
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
      if (type === "room.activity") {
        const { roomId, lastActivityAt } = data as { roomId?: string; lastActivityAt?: string };
        if (typeof roomId !== "string" || typeof lastActivityAt !== "string") return;
        const at = new Date(lastActivityAt);
        setUnread((u) => (u.has(roomId) ? u : new Set(u).add(roomId)));
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
      setState((s) => {
        const inShown = s.shown.some((r) => r.id === room.id);
        const inWaiting = s.waiting.some((r) => r.id === room.id);
        const replace = (list: ActiveRoom[]) =>
          list.map((r) => (r.id === room.id && r.version <= room.version ? { ...room, lastActivityAt: later(r.lastActivityAt, room.lastActivityAt) } : r));
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
    [hovering],
  );

  const refetch = useCallback(async () => {
    void fetchUnread();
    try {
      const response = await fetch("/api/rooms", { headers: { accept: "application/json" }, cache: "no-store" });
      if (!response.ok) return;
      const body = (await response.json()) as { rooms: (RoomJson & { lastActivityAt?: string })[] };
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

  const { status, ready } = useEventStream("/api/events", {
    types: ROOM_EVENTS,
    onEvent: apply,
    onReconnect: () => void refetch(),
  });

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
  const shownCount = shown === initial ? count : shown.length - gone.size;
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
          {shown.length > 0 ? `${formatCount(shownCount, "room")}, most recent activity first` : null}
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
            <RoomCard key={room.id} room={room} closed={gone.has(room.id)} unread={unread.has(room.id)} />
          ))}
        </ul>
      )}
    </section>
  );
}
