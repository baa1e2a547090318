"use client";

import { useCallback, useState } from "react";
import type { Room } from "@/lib/db/queries/rooms";
import type { RoomJson } from "@/lib/rooms/room-json";
import { formatCount } from "./format";
import { RoomCard } from "./room-card";
import { useEventStream } from "./use-event-stream";

const ROOM_EVENTS = ["room.created", "room.updated", "room.deleted"] as const;

const toRoom = (json: RoomJson): Room => ({ ...json, createdAt: new Date(json.createdAt), updatedAt: new Date(json.updatedAt) });

/** Newest first, as the server orders them (created_at desc, id desc). */
function newestFirst(a: Room, b: Room): number {
  const byTime = b.createdAt.getTime() - a.createdAt.getTime();
  return byTime !== 0 ? byTime : a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

interface ListState {
  /** The server-rendered rooms this state started from; new ones (a refresh) replace everything. */
  from: Room[];
  shown: Room[];
  /** Rooms created elsewhere, announced by the "show" button rather than pushed into the list. */
  waiting: Room[];
  /** Rooms deleted while the pointer was over the list: removed when it leaves. */
  gone: Set<string>;
}

/**
 * The room list, kept live over Server-Sent Events (`/api/events`, topic `rooms`). Server
 * rendered exactly as before (JavaScript off: a plain list), then:
 *
 * - renames apply in place (the order is by creation, so nothing moves);
 * - rooms created elsewhere never push the list down on their own: they wait behind an
 *   "N new rooms — show" button, and join the list when the visitor asks;
 * - a deleted room leaves at once, unless the pointer is over the list: then its card is
 *   marked closed and goes when the pointer leaves, so nothing shifts under a click;
 * - after a reconnect the list is re-fetched from `/api/rooms` (the replay covers the gap,
 *   the re-fetch whatever a replay cannot: an expired log, a lost publish).
 *
 * A server re-render (the create form's action refreshes the page) hands in new rooms,
 * which replace the list: that is the visitor's own doing, so the move is expected.
 */
export function LiveRoomList({ rooms: initial, count }: { rooms: Room[]; count: number }) {
  const [state, setState] = useState<ListState>({ from: initial, shown: initial, waiting: [], gone: new Set() });
  const [hovering, setHovering] = useState(false);
  let current = state;
  if (state.from !== initial) {
    const ids = new Set(initial.map((r) => r.id));
    current = { from: initial, shown: initial, waiting: state.waiting.filter((r) => !ids.has(r.id)), gone: new Set() };
    setState(current);
  }

  const apply = useCallback(
    (type: string, data: unknown) => {
      const json = (data as { room?: RoomJson }).room;
      if (!json) return;
      const room = toRoom(json);
      setState((s) => {
        const inShown = s.shown.some((r) => r.id === room.id);
        const inWaiting = s.waiting.some((r) => r.id === room.id);
        const replace = (list: Room[]) => list.map((r) => (r.id === room.id && r.version <= room.version ? room : r));
        if (type === "room.deleted") {
          const waiting = s.waiting.filter((r) => r.id !== room.id);
          if (!inShown) return inWaiting ? { ...s, waiting } : s;
          if (hovering) return { ...s, waiting, gone: new Set(s.gone).add(room.id) };
          return { ...s, waiting, shown: s.shown.filter((r) => r.id !== room.id) };
        }
        if (inShown) return { ...s, shown: replace(s.shown) };
        if (inWaiting) return { ...s, waiting: replace(s.waiting) };
        if (type === "room.created") return { ...s, waiting: [...s.waiting, room].sort(newestFirst) };
        return s;
      });
    },
    [hovering],
  );

  const refetch = useCallback(async () => {
    try {
      const response = await fetch("/api/rooms", { headers: { accept: "application/json" }, cache: "no-store" });
      if (!response.ok) return;
      const body = (await response.json()) as { rooms: RoomJson[] };
      const fresh = new Map(body.rooms.map((r) => [r.id, toRoom(r)]));
      setState((s) => {
        const shown = s.shown.filter((r) => fresh.has(r.id)).map((r) => fresh.get(r.id)!);
        const shownIds = new Set(shown.map((r) => r.id));
        const waiting = [...fresh.values()].filter((r) => !shownIds.has(r.id)).sort(newestFirst);
        return { ...s, shown, waiting, gone: new Set() };
      });
    } catch {
      // Offline again: the next reconnect re-fetches.
    }
  }, []);

  const { status, ready } = useEventStream("/api/events", {
    types: ROOM_EVENTS,
    onEvent: apply,
    onReconnect: () => void refetch(),
  });

  const showWaiting = () =>
    setState((s) => {
      const ids = new Set(s.shown.map((r) => r.id));
      return { ...s, shown: [...s.waiting.filter((r) => !ids.has(r.id)), ...s.shown].sort(newestFirst), waiting: [] };
    });
  const leave = () => {
    setHovering(false);
    setState((s) => (s.gone.size ? { ...s, shown: s.shown.filter((r) => !s.gone.has(r.id)), gone: new Set() } : s));
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
          {shown.length > 0 ? `${formatCount(shownCount, "room")}, newest first` : null}
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
            <RoomCard key={room.id} room={room} closed={gone.has(room.id)} />
          ))}
        </ul>
      )}
    </section>
  );
}
