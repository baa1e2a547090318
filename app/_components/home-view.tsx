import type { ReactNode } from "react";
import { ROOM_DESCRIPTION_MAX, ROOM_NAME_MAX } from "@/lib/db/schema";
import type { ActiveRoom } from "@/lib/rooms/activity-order";
import { CreateRoomForm } from "./create-room-form";
import type { ListPreview } from "./live-room-list";
import { RoomSelector } from "./room-selector";
import { SessionProvider } from "./session-context";
import { SiteHeader } from "./site-header";
import { StaleBanner } from "./stale-banner";

export interface HomeViewProps {
  /** The most active rooms, most recent activity first (at most ROOMS_PAGE_SIZE). */
  rooms: ActiveRoom[];
  /** Every live room. */
  count: number;
  stale: boolean;
  /** The realtime stream's newest event id when the list was read (replay starts after it). */
  since?: string;
  /** Each shown room's last message; absent when they could not be read. */
  previews?: Record<string, ListPreview>;
  /** Shown in the side column under the create form (search); give it the id `search`. */
  aside?: ReactNode;
  /** Side notes (stats): under the forms on wide screens, after the list on narrow ones. */
  notes?: ReactNode;
}

/**
 * The home page's markup, shared by the page and the benchmark's static copy of it
 * (app/bench/static-home), so the two measure the same bytes.
 *
 * The rooms come first in the document: a phone shows them on its first screen, with
 * "New room" and "Search" one tap away above them (links to the forms further down, so
 * they work without JavaScript); a wide screen shows the forms beside the list.
 */
export function HomeView({ rooms, count, stale, since, previews, aside, notes }: HomeViewProps) {
  return (
    <SessionProvider>
      <a className="skip-link" href="#rooms-heading">
        Skip to rooms
      </a>
      <SiteHeader count={count} stale={stale} />
      {stale && <StaleBanner />}
      <main className="container layout">
        <div className="layout-main">
          <nav className="quick-actions" aria-label="Jump to a form">
            <a className="button button-primary" href="#create-room">
              <span aria-hidden="true">+</span> New room
            </a>
            <a className="button button-secondary" href="#search">
              Search
            </a>
          </nav>
          <RoomSelector rooms={rooms} count={count} since={since} previews={previews} />
        </div>
        <aside className="layout-aside">
          <CreateRoomForm nameMax={ROOM_NAME_MAX} descriptionMax={ROOM_DESCRIPTION_MAX} />
          {aside}
        </aside>
        {notes && <div className="layout-notes">{notes}</div>}
      </main>
    </SessionProvider>
  );
}
