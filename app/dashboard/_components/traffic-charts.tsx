import type { Traffic } from "@/lib/dashboard/dashboard-data";
import { hhmm, labelledSlots } from "@/lib/dashboard/charts";
import { LineChart, StackedBarChart } from "./charts";

const percent = (v: number | null) => (v === null ? "no reads" : `${Math.round(v * 100)}%`);

/** Hit rate per cache per minute, requests by source per minute, and a per-cache summary table. */
export function TrafficCharts({ traffic }: { traffic: Traffic }) {
  const slots = traffic.minutes.map((m) => m.at);
  const labelled = labelledSlots(slots, 10);
  const reads = traffic.served.cache + traffic.served.db + traffic.served.stale;
  const fromCache = reads > 0 ? (traffic.served.cache + traffic.served.stale) / reads : null;
  return (
    <>
      <div className="dash-grid">
        <LineChart
          title="Hit rate per cache"
          summary={traffic.caches.map((c) => `${c.cache} ${percent(c.hitRate)}`).join(", ") || "No reads in the last hour."}
          slots={slots}
          slotLabel={hhmm}
          labelled={labelled}
          slotHeader="Minute (UTC)"
          format={percent}
          yMax={1}
          yFormat={(v) => `${Math.round(v * 100)}%`}
          emptyText="No cache reads in the last hour"
          series={traffic.caches.map((c) => ({
            name: c.cache,
            values: traffic.minutes.map((m) => {
              const n = m.caches[c.cache];
              const total = n ? n.hit + n.miss + n.error : 0;
              return n && total > 0 ? n.hit / total : null;
            }),
          }))}
        />
        <StackedBarChart
          title="Requests served from cache vs Postgres"
          summary={`${reads} reads in the last hour, ${percent(fromCache)} from the cache.`}
          slots={slots}
          slotLabel={hhmm}
          labelled={labelled}
          slotHeader="Minute (UTC)"
          format={(v) => String(v ?? 0)}
          series={[
            { name: "cache", values: traffic.minutes.map((m) => m.served.cache) },
            { name: "Postgres", values: traffic.minutes.map((m) => m.served.db) },
            { name: "stale copy", values: traffic.minutes.map((m) => m.served.stale) },
          ]}
          emptyText="No reads in the last hour"
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
