import { formatFull } from "./format";

/** What the panel shows. */
export interface StatsPanelProps {
  /** From the room list on the same page (the same snapshot): live rooms, and those active in the last 24 h. */
  rooms: number;
  activeRooms24h: number;
  /**
   * Message counts from `runtime().stats.read()` (stale-while-revalidate: refreshed in the
   * background, so they may trail the newest messages by a moment); dates as Dates or ISO strings.
   */
  messages: { messages: number; messagesToday: number; computedAt: Date | string } | null;
}

const numberFormat = new Intl.NumberFormat("en-US");
const timeFormat = new Intl.DateTimeFormat("en-US", { hour: "numeric", minute: "2-digit", timeZone: "UTC" });

/**
 * The site's numbers in a 2×2 grid, sized for the home page's aside. Server-rendered, no
 * JavaScript. The room numbers come from the list beside them, so they always agree with
 * it and with the header; the message numbers are the background-refreshed stats and say
 * when they were counted ("as of").
 */
export function StatsPanel({ rooms, activeRooms24h, messages }: StatsPanelProps) {
  const computedAt = messages && new Date(messages.computedAt);
  const items: [string, number | null][] = [
    ["Rooms", rooms],
    ["Active in 24 h", activeRooms24h],
    ["Messages", messages?.messages ?? null],
    ["Sent today", messages?.messagesToday ?? null],
  ];
  return (
    <section className="card stats-panel" aria-labelledby="stats-heading">
      <h2 id="stats-heading" className="card-title">
        Lobby at a glance
      </h2>
      <dl className="stats-grid">
        {items.map(([label, value]) => (
          <div key={label} className="stats-item">
            <dt>{label}</dt>
            <dd>{value === null ? "—" : numberFormat.format(value)}</dd>
          </div>
        ))}
      </dl>
      <p className="stats-foot">
        {computedAt ? (
          <>
            Messages as of{" "}
            <time dateTime={computedAt.toISOString()} title={formatFull(computedAt)}>
              {timeFormat.format(computedAt)} UTC
            </time>
            , refreshed in the background. “Today” is the UTC day.
          </>
        ) : (
          "Message counts are not available right now."
        )}
      </p>
    </section>
  );
}
