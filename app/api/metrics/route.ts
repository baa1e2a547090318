import { timingSafeEqual } from "node:crypto";
import { AppError } from "@/lib/errors";
import { env } from "@/lib/env";
import { route } from "@/lib/http/route";
import { metrics } from "@/lib/observability/metrics";
import { runtime } from "@/lib/runtime";
import { registerWorkerMetrics } from "@/lib/worker-status";

const g = globalThis as unknown as { [key: symbol]: boolean | undefined };
const WORKER_GAUGES = Symbol.for("lobby.workerGauges");

function authorized(header: string | null, token: string): boolean {
  const given = Buffer.from(header?.replace(/^Bearer\s+/i, "") ?? "");
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Prometheus text format for this process; behind `METRICS_TOKEN` (Bearer) when it is set. */
export const GET = route(async (request) => {
  const token = env().metricsToken;
  if (token && !authorized(request.headers.get("authorization"), token)) {
    throw new AppError(401, "unauthorized", "A valid metrics token is required");
  }
  const { registry } = metrics();
  // The worker is not scraped itself: its gauges are read from Redis here, registered once per process.
  if (!g[WORKER_GAUGES]) {
    registerWorkerMetrics(registry, runtime());
    g[WORKER_GAUGES] = true;
  }
  return new Response(await registry.metrics(), {
    headers: { "Content-Type": registry.contentType, "Cache-Control": "no-store" },
  });
});
