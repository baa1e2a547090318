import { env } from "@/lib/env";
import { latestEventId } from "@/lib/realtime/latest-event-id";
import { ROOMS_PAGE_SIZE } from "@/lib/rooms/activity-order";
import { runtime } from "@/lib/runtime";
import { getInitialRoomsData } from "../actions";
import { HomeView } from "./home-view";
import { SearchForm } from "./search-form";
import { StatsPanel } from "./stats-panel";

/**
 * The room selector, complete in the first response: no Suspense, no loading state.
 * `next build` renders an empty placeholder without touching Postgres or Redis; it is
 * never served, because the page cache is the only place Next looks for a render.
 * Nothing here reads cookies or headers: who the visitor is comes from the browser.
 */
export async function HomeContent() {
  if (env().building) return <HomeView rooms={[]} count={0} stale={false} />;
  // The stream's position before the list is read: the browser replays what came after.
  const since = await latestEventId("rooms");
  const [{ rooms, count, stale }, stats] = await Promise.all([
    getInitialRoomsData(),
    // Decoration: the page renders without the numbers rather than fail over them.
    runtime()
      .stats.read()
      .then((r) => r.stats)
      .catch(() => null),
  ]);
  return (
    <HomeView
      rooms={rooms.slice(0, ROOMS_PAGE_SIZE)}
      count={count}
      stale={stale}
      since={since}
      aside={
        <div className="card search-card">
          <SearchForm id="home-search-q" />
        </div>
      }
      notes={stats && <StatsPanel stats={stats} />}
    />
  );
}
