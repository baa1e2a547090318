import type { ReconcileRun } from "@/lib/dashboard/dashboard-data";
import { LineChart, StackedBarChart } from "./charts";

/** The last runs: drift found per run as stacked bars (oldest left), then a table (newest first). */
export function ReconcileRuns({ runs }: { runs: ReconcileRun[] }) {
  if (runs.length === 0) {
    return <p className="dash-empty">No reconciliation run recorded yet. The worker records each run here.</p>;
  }
  const chronological = [...runs].reverse();
  const slots = chronological.map((r, i) => `${i}|${r.finishedAt}`);
  const label = (slot: string) => slot.slice(slot.indexOf("|") + 12, slot.indexOf("|") + 17);
  const kinds = ["added", "removed", "modified", "corrupt"] as const;
  const total = runs.reduce((n, r) => n + r.added + r.removed + r.modified + r.corrupt, 0);
  const labelled = slots.filter((_, i) => (slots.length - 1 - i) % Math.max(1, Math.ceil(slots.length / 6)) === 0);
  const longest = Math.max(...runs.map((r) => r.durationMs));
  // One run is a dot, not a trend: the charts wait for a second (the table shows the first).
  const collecting = runs.length < 2 ? "Collecting data: 1 run so far" : undefined;
  return (
    <>
      <div className="dash-grid">
        <StackedBarChart
          title="Drift found per run"
          summary={collecting ?? `${runs.length} runs, ${total} differences found in all.`}
          collecting={collecting}
          slots={slots}
          slotLabel={label}
          labelled={labelled}
          slotHeader="Finished (UTC)"
          format={(v) => String(v ?? 0)}
          series={kinds.map((k) => ({ name: k, values: chronological.map((r) => r[k]) }))}
          emptyText="No drift found"
        />
        <LineChart
          title="Run duration"
          summary={collecting ?? `Longest of these runs: ${longest} ms.`}
          collecting={collecting}
          slots={slots}
          slotLabel={label}
          labelled={labelled}
          slotHeader="Finished (UTC)"
          format={(v) => `${v ?? 0} ms`}
          yMax={Math.max(10, longest * 1.1)}
          yFormat={(v) => (v >= 1_000 ? `${(v / 1_000).toFixed(1)} s` : `${Math.round(v)} ms`)}
          series={[{ name: "duration", values: chronological.map((r) => r.durationMs) }]}
        />
      </div>
      <div className="dash-table-wrap">
        <table className="dash-table" data-testid="reconcile-table">
          <caption className="visually-hidden">Last reconciliation runs, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Finished (UTC)</th>
              <th scope="col">Duration</th>
              <th scope="col" className="num">Scanned</th>
              <th scope="col" className="num">Added</th>
              <th scope="col" className="num">Removed</th>
              <th scope="col" className="num">Modified</th>
              <th scope="col" className="num">Corrupt</th>
              <th scope="col">Reason</th>
            </tr>
          </thead>
          <tbody>
            {runs.map((r, i) => (
              <tr key={`${r.finishedAt}-${i}`}>
                <th scope="row">
                  {r.finishedAt.slice(0, 10)} <span className="dash-time">{r.finishedAt.slice(11, 19)}</span>
                </th>
                <td>{r.durationMs} ms</td>
                <td className="num">{r.scanned}</td>
                <td className="num">{r.added}</td>
                <td className="num">{r.removed}</td>
                <td className="num">{r.modified}</td>
                <td className="num">{r.corrupt}</td>
                <td>
                  {r.reason ?? "—"}
                  {r.dryRun ? " (dry run)" : ""}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
