import { formatFull } from "./format";

/** What the panel shows: `runtime().stats.read()`'s stats (dates as Dates or ISO strings). */
export interface StatsPanelProps {
  stats: {
    rooms: number;
    messages: number;
    activeRooms24h: number;
    messagesToday: number;
    computedAt: Date | string;
  };
}

const numberFormat = new Intl.NumberFormat("en-US");
const timeFormat = new Intl.DateTimeFormat("en-US", { hour: "numeric", minute: "2-digit", timeZone: "UTC" });

/**
 * The site's numbers in a 2×2 grid, sized for the home page's aside. Server-rendered,
 * no JavaScript; the time says when Postgres counted them (the cache may serve them for a
 * few minutes, or a moment past a write while they refresh).
 */
export function StatsPanel({ stats }: StatsPanelProps) {
  const computedAt = new Date(stats.computedAt);
  const items = [
    ["Rooms", stats.rooms],
    ["Active in 24 h", stats.activeRooms24h],
    ["Messages", stats.messages],
    ["Sent today", stats.messagesToday],
  ] as const;
  return (
    <section className="card stats-panel" aria-labelledby="stats-heading">
      <h2 id="stats-heading" className="card-title">
        Lobby at a glance
      </h2>
      <dl className="stats-grid">
        {items.map(([label, value]) => (
          <div key={label} className="stats-item">
            <dt>{label}</dt>
            <dd>{numberFormat.format(value)}</dd>
          </div>
        ))}
      </dl>
      <p className="stats-foot">
        “Today” is the UTC day. Counted at{" "}
        <time dateTime={computedAt.toISOString()} title={formatFull(computedAt)}>
          {timeFormat.format(computedAt)} UTC
        </time>
        .
      </p>
    </section>
  );
}
