import type { Metadata } from "next";
import { headers } from "next/headers";
import { notFound } from "next/navigation";
import { connection } from "next/server";
import { loadDashboard } from "@/lib/dashboard/dashboard-data";
import { env } from "@/lib/env";
import { operatorAccess, operatorAllowed } from "@/lib/observability/operator-access";
import { sharedRoomsQueue } from "@/lib/queue/shared-queue";
import { runtime } from "@/lib/runtime";
import { SessionProvider } from "@/app/_components/session-context";
import { SiteHeader } from "@/app/_components/site-header";
import { AutoRefresh } from "./_components/auto-refresh";
import { ReconcileRuns } from "./_components/reconcile-runs";
import { StatusPanels } from "./_components/status-panels";
import { TrafficCharts } from "./_components/traffic-charts";

export const metadata: Metadata = { title: "Dashboard" };

/**
 * The cache at a glance, rendered on the server per request (the numbers are live) and
 * complete without JavaScript: charts are SVG, every chart has a table. Every part
 * degrades on its own: Redis down or the cache off shows as such, never as an error page.
 */
export default async function DashboardPage() {
  await connection();
  const e = env();
  // proxy.ts answers 401/404 first; this holds should a request ever get past it.
  if (!operatorAllowed(operatorAccess(e), (await headers()).get("authorization"))) notFound();
  const data = await loadDashboard({
    runtime: runtime(),
    queue: e.redisTcp ? sharedRoomsQueue(e.redisTcp, e.keyPrefix) : null,
  });
  const { traffic, reconcile } = data;
  return (
    <SessionProvider>
      <noscript>
        {/* Without JavaScript, refresh the whole page now and then instead. */}
        <meta httpEquiv="refresh" content="30" />
      </noscript>
      <AutoRefresh everyMs={10_000} />
      <SiteHeader current="dashboard" />
      <main className="container dash">
        <div className="dash-head">
          <h1>Dashboard</h1>
          <p className="dash-updated">
            Updated <time dateTime={data.generatedAt}>{data.generatedAt.slice(11, 19)} UTC</time>, every 10 s while open
          </p>
        </div>

        {!data.cacheEnabled && (
          <p className="dash-banner" role="status" data-testid="cache-off">
            <strong>Cache is off: every read goes to Postgres.</strong> <span>CACHE_ENABLED=false (or no Redis is configured).</span>
          </p>
        )}

        <section aria-labelledby="status-heading" className="dash-section">
          <h2 id="status-heading">Status</h2>
          <StatusPanels data={data} />
        </section>

        <section aria-labelledby="traffic-heading" className="dash-section">
          <h2 id="traffic-heading">Cache, last hour</h2>
          <p className="dash-note">All web instances together, per minute (UTC).</p>
          {traffic.available ? (
            <TrafficCharts traffic={traffic} />
          ) : (
            <p className="dash-empty" data-testid="traffic-unavailable">
              {data.cacheEnabled ? `Redis unreachable: no counts to show (${traffic.reason}).` : "Cache is off: there are no cache counts."}
            </p>
          )}
        </section>

        <section aria-labelledby="reconcile-heading" className="dash-section">
          <h2 id="reconcile-heading">Reconciliation, last 20 runs</h2>
          {reconcile.available ? (
            <ReconcileRuns runs={reconcile.runs} />
          ) : (
            <p className="dash-empty">
              {data.cacheEnabled ? `Redis unreachable: the run history is not available (${reconcile.reason}).` : "Cache is off: nothing to reconcile."}
            </p>
          )}
        </section>
      </main>
    </SessionProvider>
  );
}
