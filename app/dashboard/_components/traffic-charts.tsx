import type { Traffic } from "@/lib/dashboard/dashboard-data";
import { chartWindow, hhmm, labelledSlots } from "@/lib/dashboard/charts";
import { LineChart, StackedBarChart } from "./charts";

const percent = (v: number | null) => (v === null ? "no reads" : `${Math.round(v * 100)}%`);

/** A chart needs this many minutes with reads before it draws a trend, and spans at least this many. */
const ENOUGH_MINUTES = 3;
const MIN_MINUTES = 15;

const hasReads = (m: Traffic["minutes"][number]) => m.served.cache + m.served.db + m.served.stale > 0 || Object.keys(m.caches).length > 0;

/** Hit rate per cache per minute, requests by source per minute, and a per-cache summary table. */
export function TrafficCharts({ traffic }: { traffic: Traffic }) {
  // From the first minute with reads, not the whole hour: a fresh app's first minutes are
  // not squashed into the right edge, and until a few minutes have reads the charts say so.
  const span = chartWindow(traffic.minutes, hasReads, { minSlots: MIN_MINUTES, enough: ENOUGH_MINUTES });
  const minutes = span.shown;
  const slots = minutes.map((m) => m.at);
  const labelled = labelledSlots(slots, slots.length > 30 ? 10 : 5);
  const collecting = span.collecting
    ? `Collecting data: ${span.counted} of ${ENOUGH_MINUTES} minutes with reads so far`
    : undefined;
  const reads = traffic.served.cache + traffic.served.db + traffic.served.stale;
  const fromCache = reads > 0 ? (traffic.served.cache + traffic.served.stale) / reads : null;
  return (
    <>
      <div className="dash-grid">
        <LineChart
          title="Hit rate per cache"
          summary={collecting ?? (traffic.caches.map((c) => `${c.cache} ${percent(c.hitRate)}`).join(", ") || "No reads in the last hour.")}
          slots={slots}
          slotLabel={hhmm}
          labelled={labelled}
          slotHeader="Minute (UTC)"
          format={percent}
          yMax={1}
          yFormat={(v) => `${Math.round(v * 100)}%`}
          emptyText="No cache reads in the last hour"
          collecting={collecting}
          series={traffic.caches.map((c) => ({
            name: c.cache,
            values: minutes.map((m) => {
              const n = m.caches[c.cache];
              const total = n ? n.hit + n.miss + n.error : 0;
              return n && total > 0 ? n.hit / total : null;
            }),
          }))}
        />
        <StackedBarChart
          title="Requests served from cache vs Postgres"
          summary={collecting ?? `${reads} reads in the last hour, ${percent(fromCache)} from the cache.`}
          slots={slots}
          slotLabel={hhmm}
          labelled={labelled}
          slotHeader="Minute (UTC)"
          format={(v) => String(v ?? 0)}
          series={[
            { name: "cache", values: minutes.map((m) => m.served.cache) },
            { name: "Postgres", values: minutes.map((m) => m.served.db) },
            { name: "stale copy", values: minutes.map((m) => m.served.stale) },
          ]}
          emptyText="No reads in the last hour"
          collecting={collecting}
        />
      </div>
      <div className="dash-table-wrap">
        <table className="dash-table" data-testid="cache-table">
          <caption className="visually-hidden">Cache reads in the last hour, per cache</caption>
          <thead>
            <tr>
              <th scope="col">Cache</th>
              <th scope="col" className="num">Hit rate</th>
              <th scope="col" className="num">Hits</th>
              <th scope="col" className="num">Misses</th>
              <th scope="col" className="num">Errors</th>
              <th scope="col" className="num">Stale</th>
            </tr>
          </thead>
          <tbody>
            {traffic.caches.length === 0 && (
              <tr>
                <td colSpan={6}>No cache reads in the last hour.</td>
              </tr>
            )}
            {traffic.caches.map((c) => (
              <tr key={c.cache} data-cache={c.cache}>
                <th scope="row">{c.cache}</th>
                <td className="num">{percent(c.hitRate)}</td>
                <td className="num" data-testid={`hits-${c.cache}`}>
                  {c.hit.toLocaleString("en")}
                </td>
                <td className="num">{c.miss.toLocaleString("en")}</td>
                <td className="num">{c.error.toLocaleString("en")}</td>
                <td className="num">{c.stale.toLocaleString("en")}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
