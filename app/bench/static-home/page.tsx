import type { Metadata } from "next";
import { samplePreviews, sampleRooms } from "@/lib/rooms/sample-rooms";
import { HomeView } from "../../_components/home-view";
import { SearchForm } from "../../_components/search-form";
import { StatsPanel } from "../../_components/stats-panel";

/*
 * The benchmark's limit for the home page (bench/README.md): the same markup with 50
 * sample rooms, prerendered at build time and never invalidated. Answered only when the
 * server runs with BENCH_ROUTES=true (proxy.ts).
 */
export const dynamic = "force-static";
export const metadata: Metadata = { title: "Benchmark baseline", robots: { index: false, follow: false } };

const rooms = sampleRooms(50);
const previews = samplePreviews(rooms);
const messages = { messages: 1_234, messagesToday: 321, computedAt: new Date(Date.UTC(2026, 0, 1)) };

export default function StaticHomeBaseline() {
  return (
    <HomeView
      rooms={rooms}
      count={rooms.length}
      stale={false}
      previews={previews}
      aside={
        <div className="card search-card" id="search">
          <SearchForm id="home-search-q" />
        </div>
      }
      notes={<StatsPanel rooms={rooms.length} activeRooms24h={12} messages={messages} />}
    />
  );
}
