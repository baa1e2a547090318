import type { Metadata } from "next";
import { connection } from "next/server";
import { z } from "zod";
import { ROOMS_PAGE_SIZE } from "@/lib/rooms/activity-order";
import { readPreviews } from "@/lib/rooms/room-previews";
import { runtime } from "@/lib/runtime";
import { getInitialRoomsData } from "../actions";
import { RoomCard } from "../_components/room-card";
import { SessionProvider } from "../_components/session-context";
import { SiteHeader } from "../_components/site-header";
import { StaleBanner } from "../_components/stale-banner";
import { formatCount } from "../_components/format";

export const metadata: Metadata = { title: "All rooms" };

type Props = { searchParams: Promise<{ page?: string | string[] }> };

const pageSchema = z.coerce.number().int().min(1).max(100_000).catch(1);

/**
 * Every room, most recent activity first, ROOMS_PAGE_SIZE at a time (`?page=N`): where the
 * home page's "All rooms" link leads once there are more rooms than it shows. Plain links,
 * so it works without JavaScript; the list comes from the same cache as the home page.
 */
export default async function AllRoomsPage(props: Props) {
  await connection();
  const raw = (await props.searchParams).page;
  const { rooms, count, stale } = await getInitialRoomsData();
  const pages = Math.max(1, Math.ceil(rooms.length / ROOMS_PAGE_SIZE));
  const page = Math.min(pageSchema.parse(typeof raw === "string" ? raw : undefined), pages);
  const shown = rooms.slice((page - 1) * ROOMS_PAGE_SIZE, page * ROOMS_PAGE_SIZE);
  const first = (page - 1) * ROOMS_PAGE_SIZE + 1;
  const previews = await readPreviews(runtime().db.db, shown.map((r) => r.id));
  return (
    <SessionProvider>
      <SiteHeader count={count} stale={stale} />
      {stale && <StaleBanner />}
      <main className="container page-body">
        <section className="rooms" aria-labelledby="rooms-heading">
          <div className="section-head">
            <h1 id="rooms-heading">All rooms</h1>
            <p className="section-meta">
              {shown.length > 0
                ? `${first}–${first + shown.length - 1} of ${formatCount(count, "room")}, most recent activity first`
                : "No rooms yet"}
            </p>
          </div>
          <ul className="room-grid" role="list">
            {shown.map((room) => (
              <RoomCard
                key={room.id}
                room={room}
                preview={previews ? (previews.get(room.id)?.last ?? (previews.has(room.id) ? null : undefined)) : undefined}
              />
            ))}
          </ul>
          <nav className="pager" aria-label="Pages">
            {page > 1 ? (
              <a className="button button-secondary" href={page === 2 ? "/" : `/rooms?page=${page - 1}`} rel="prev">
                ← Newer
              </a>
            ) : (
              <span />
            )}
            <span className="pager-status">
              Page {page} of {pages}
            </span>
            {page < pages ? (
              <a className="button button-secondary" href={`/rooms?page=${page + 1}`} rel="next">
                Older →
              </a>
            ) : (
              <span />
            )}
          </nav>
        </section>
      </main>
    </SessionProvider>
  );
}
