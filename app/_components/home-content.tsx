import { probePass } from "@/lib/bench/probe";
import { env } from "@/lib/env";
import { latestEventId } from "@/lib/realtime/latest-event-id";
import { ROOMS_PAGE_SIZE } from "@/lib/rooms/activity-order";
import { readPreviews } from "@/lib/rooms/room-previews";
import { runtime } from "@/lib/runtime";
import { getInitialRoomsData } from "../actions";
import { HomeView } from "./home-view";
import { toListPreviews } from "./list-previews";
import { SearchForm } from "./search-form";
import { StatsPanel } from "./stats-panel";

const DAY_MS = 86_400_000;

/**
 * The room selector, complete in the first response: no Suspense, no loading state.
 * `next build` renders an empty placeholder without touching Postgres or Redis; it is
 * never served, because the page cache is the only place Next looks for a render.
 * Nothing here reads cookies or headers: who the visitor is comes from the browser.
 *
 * A render reads the stream's position, the list with its order (one Redis call when
 * cached), the stats (Redis, stale-while-revalidate) and the shown rooms' last messages
 * (one prepared Postgres statement, once the list is known). The page cache makes that a
 * cost per write, not per request.
 */
export async function HomeContent() {
  if (env().building) return <HomeView rooms={[]} count={0} stale={false} />;
  // The stream's position before the list is read: the browser replays what came after.
  const since = await latestEventId("rooms");
  const rt = runtime();
  const listed = getInitialRoomsData();
  const [{ rooms, count, stale }, previews, stats] = await Promise.all([
    listed,
    listed.then(({ rooms: all }) => readPreviews(rt.db.db, all.slice(0, ROOMS_PAGE_SIZE).map((r) => r.id))),
    // Decoration: the page renders without the numbers rather than fail over them.
    rt.stats
      .read()
      .then((r) => r.stats)
      .catch(() => null),
  ]);
  // The benchmark counts renders and may hold one here, after its data read (BENCH_ROUTES=true only).
  await probePass("render", env().benchRoutes);
  // From the list itself, so the panel agrees with it: rooms whose last activity is within a day.
  const dayAgo = Date.now() - DAY_MS;
  const active = rooms.filter((r) => r.lastActivityAt.getTime() >= dayAgo).length;
  return (
    <HomeView
      rooms={rooms.slice(0, ROOMS_PAGE_SIZE)}
      count={count}
      stale={stale}
      since={since}
      previews={previews ? toListPreviews(previews) : undefined}
      aside={
        <div className="card search-card" id="search">
          <SearchForm id="home-search-q" />
        </div>
      }
      notes={<StatsPanel rooms={count} activeRooms24h={active} messages={stats} />}
    />
  );
}
