import { connection } from "next/server";
import { ROOM_DESCRIPTION_MAX, ROOM_NAME_MAX } from "@/lib/db/schema";
import { getInitialRoomsData } from "./actions";
import { CreateRoomForm } from "./_components/create-room-form";
import { RoomSelector } from "./_components/room-selector";
import { SessionProvider } from "./_components/session-context";
import { SiteHeader } from "./_components/site-header";
import { StaleBanner } from "./_components/stale-banner";

/**
 * The room selector, complete in the first response: no Suspense, no loading state.
 * Rendered per request for now (`connection()`); it reads no cookies or headers, so the
 * page-level cache can make it static later. Who the visitor is comes from the browser.
 */
export default async function HomePage() {
  await connection();
  const { rooms, count, stale } = await getInitialRoomsData();
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
        </aside>
        <RoomSelector rooms={rooms} count={count} />
      </main>
    </SessionProvider>
  );
}
