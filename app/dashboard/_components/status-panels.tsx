import type { DashboardData } from "@/lib/dashboard/dashboard-data";

/* The dashboard's numbers that are states rather than series: health, breaker, queue, errors. */

type Tone = "ok" | "warn" | "bad" | "muted";

function Tile({ label, value, detail, tone, testId }: { label: string; value: string; detail?: string; tone: Tone; testId?: string }) {
  return (
    <div className={`dash-tile tone-${tone}`} data-testid={testId}>
      <dt>{label}</dt>
      <dd>
        <span className="dash-tile-value">
          <span className="dash-dot" aria-hidden="true" />
          {value}
        </span>
        {detail && <span className="dash-tile-detail">{detail}</span>}
      </dd>
    </div>
  );
}

const ago = (iso: string | null, now: number) => {
  if (!iso) return undefined;
  const s = Math.round((Date.parse(iso) - now) / 1_000);
  const abs = Math.abs(s);
  const text = abs < 90 ? `${abs} s` : abs < 5_400 ? `${Math.round(abs / 60)} min` : `${Math.round(abs / 3_600)} h`;
  return s >= 0 ? `in ${text}` : `${text} ago`;
};

/** What a replica's tile says: excluded for good, down, out of rotation (its circuit), or serving, with its lag. */
export function replicaTile(r: DashboardData["health"]["replicas"][number]): { value: string; detail: string; tone: Tone } {
  if (r.excluded) return { value: "Excluded", detail: `${r.name}: ${r.excluded}`, tone: "bad" };
  if (!r.up) return { value: "Down", detail: `${r.name}: ${r.error ?? "unreachable"}; reads go to the primary`, tone: "warn" };
  const lag = [r.lagBytes != null ? `${r.lagBytes.toLocaleString("en-US")} bytes behind` : undefined, r.replayAgeMs != null ? `last replay ${Math.round(r.replayAgeMs / 100) / 10} s ago` : undefined]
    .filter(Boolean)
    .join(", ");
  if (r.breaker !== "closed") return { value: "Out of rotation", detail: `${r.name}${lag ? `, ${lag}` : ""}; reads go to the primary`, tone: "warn" };
  return { value: "Serving", detail: `${r.name}${lag ? `, ${lag}` : ""}`, tone: "ok" };
}

export function StatusPanels({ data }: { data: DashboardData }) {
  const { health, queue, traffic } = data;
  const now = Date.parse(data.generatedAt);
  const pg = health.postgres;
  const redis = health.redis;
  const worker = health.worker;
  return (
    <dl className="dash-tiles">
      <Tile
        label="Postgres"
        testId="tile-postgres"
        value={pg.up ? "Up" : "Unreachable"}
        detail={pg.up ? `${pg.latencyMs} ms` : pg.error}
        tone={pg.up ? "ok" : "bad"}
      />
      <Tile
        label="Redis"
        testId="tile-redis"
        value={!redis.enabled ? "Not used" : redis.up ? "Up" : "Redis unreachable"}
        detail={!redis.enabled ? "cache off" : redis.up ? `${redis.topology === "cluster" ? `cluster of ${redis.nodes?.length ?? "?"} nodes` : redis.driver}, ${redis.latencyMs} ms` : redis.error}
        tone={!redis.enabled ? "muted" : redis.up ? "ok" : "bad"}
      />
      {(redis.nodes ?? []).length > 1 &&
        redis.nodes!.map((node) => (
          // A cluster: one tile per node, so a master down (its slots served from Postgres until its replica takes over) shows.
          <Tile
            key={node.address}
            label={`Redis ${node.role}`}
            testId="tile-redis-node"
            value={node.up ? "Up" : "Down"}
            detail={node.up ? `${node.address}, ${node.latencyMs} ms` : `${node.address}: ${node.error ?? "unreachable"}`}
            tone={node.up ? "ok" : node.role === "master" ? "bad" : "warn"}
          />
        ))}
      {health.replicas.map((replica) => (
        // Read replicas (DATABASE_REPLICA_URLS): one tile each; a replica down or behind only sends its reads to the primary.
        <Tile key={replica.name} label="Read replica" testId="tile-replica" {...replicaTile(replica)} />
      ))}
      <Tile
        label="Circuit breaker"
        testId="tile-breaker"
        value={data.breaker ? data.breaker[0]!.toUpperCase() + data.breaker.slice(1) : "—"}
        detail={data.breaker ? "this instance" : "cache off"}
        tone={data.breaker === "closed" ? "ok" : data.breaker === "open" ? "bad" : data.breaker ? "warn" : "muted"}
      />
      <Tile
        label="Errors, last hour"
        testId="tile-errors"
        value={traffic.available ? String(traffic.errors) : "—"}
        detail={traffic.available ? "cache errors and failed API requests" : data.cacheEnabled ? "Redis unreachable" : "not counted: cache off"}
        tone={!traffic.available ? "muted" : traffic.errors > 0 ? "warn" : "ok"}
      />
      <Tile
        label="Worker"
        testId="tile-worker"
        value={worker.up ? "Up" : "No heartbeat"}
        detail={worker.lastSync ? `last sync ${ago(worker.lastSync, now)}` : (worker.error ?? "never synced")}
        tone={worker.up ? "ok" : data.cacheEnabled ? "warn" : "muted"}
      />
      <Tile
        label="Queue"
        testId="tile-queue"
        value={queue.available ? `${queue.waiting} waiting` : "Unavailable"}
        detail={queue.available ? `${queue.active} active · ${queue.failed} failed · ${queue.delayed} delayed` : queue.reason}
        tone={!queue.available ? "muted" : queue.failed > 0 ? "warn" : "ok"}
      />
      <Tile
        label="Next reconciliation"
        testId="tile-next-run"
        value={queue.available ? (queue.nextRunAt ? (ago(queue.nextRunAt, now) ?? "—") : "Not scheduled") : "—"}
        detail={
          queue.available && queue.nextRunAt
            ? `${queue.nextRunAt.slice(11, 19)} UTC${queue.everyMs ? `, every ${Math.round(queue.everyMs / 1_000)} s` : ""}`
            : "reconciliation off, or no worker yet"
        }
        tone={queue.available && queue.nextRunAt ? "ok" : "muted"}
      />
    </dl>
  );
}
