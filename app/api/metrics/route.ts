import { AppError, notFound } from "@/lib/errors";
import { env } from "@/lib/env";
import { route } from "@/lib/http/route";
import { metrics } from "@/lib/observability/metrics";
import { operatorAccess, operatorAllowed } from "@/lib/observability/operator-access";
import { runtime } from "@/lib/runtime";
import { registerWorkerMetrics } from "@/lib/worker-status";

const g = globalThis as unknown as { [key: symbol]: boolean | undefined };
const WORKER_GAUGES = Symbol.for("lobby.workerGauges");

/**
 * Prometheus text format for this process. With METRICS_TOKEN set, only for
 * `Authorization: Bearer <token>` (401 otherwise); in production without it, the endpoint
 * does not exist (404): there is no credential that could open it.
 */
export const GET = route(async (request) => {
  const access = operatorAccess(env());
  if (access.kind === "off") throw notFound("Page");
  if (!operatorAllowed(access, request.headers.get("authorization"))) {
    throw new AppError(401, "unauthorized", "A valid metrics token is required");
  }
  const { registry } = metrics();
  // The worker's gauges as seen in Redis (its heartbeat and last run), so one scrape of any web
  // instance shows them; the worker's own counters are on its port (WORKER_METRICS_PORT).
  if (!g[WORKER_GAUGES]) {
    registerWorkerMetrics(registry, runtime());
    g[WORKER_GAUGES] = true;
  }
  return new Response(await registry.metrics(), {
    headers: { "Content-Type": registry.contentType, "Cache-Control": "no-store" },
  });
});
