import type { ReactNode } from "react";
import { ROOM_DESCRIPTION_MAX, ROOM_NAME_MAX } from "@/lib/db/schema";
import type { ActiveRoom } from "@/lib/rooms/activity-order";
import { CreateRoomForm } from "./create-room-form";
import { RoomSelector } from "./room-selector";
import { SessionProvider } from "./session-context";
import { SiteHeader } from "./site-header";
import { StaleBanner } from "./stale-banner";

export interface HomeViewProps {
  /** The most active rooms, most recent activity first (at most HOME_ROOMS_SHOWN). */
  rooms: ActiveRoom[];
  /** Every live room. */
  count: number;
  stale: boolean;
  /** The realtime stream's newest event id when the list was read (replay starts after it). */
  since?: string;
  /** Shown in the side column under the create form (search). */
  aside?: ReactNode;
  /** Side notes (stats): under the forms on wide screens, after the list on narrow ones. */
  notes?: ReactNode;
}

/**
 * The home page's markup, shared by the page and the benchmark's static copy of it
 * (app/bench/static-home), so the two measure the same bytes.
 */
export function HomeView({ rooms, count, stale, since, aside, notes }: HomeViewProps) {
  return (
    <SessionProvider>
      <a className="skip-link" href="#rooms-heading">
        Skip to rooms
      </a>
      <SiteHeader count={count} stale={stale} />
      {stale && <StaleBanner />}
      <main className="container layout">
        <aside className="layout-aside">
          <CreateRoomForm nameMax={ROOM_NAME_MAX} descriptionMax={ROOM_DESCRIPTION_MAX} />
          {aside}
        </aside>
        <div className="layout-main">
          <RoomSelector rooms={rooms} count={count} since={since} />
        </div>
        {notes && <div className="layout-notes">{notes}</div>}
      </main>
    </SessionProvider>
  );
}
