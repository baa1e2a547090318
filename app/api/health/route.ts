import { NextResponse } from "next/server";
import { env } from "@/lib/env";
import { checkHealth } from "@/lib/health";
import { route } from "@/lib/http/route";
import { operatorAccess, operatorAllowed } from "@/lib/observability/operator-access";
import { runtime } from "@/lib/runtime";

/**
 * 200 while rooms can be served (Redis down is `degraded`), 503 when nothing can be. Anyone
 * gets `{ status }`, all a load balancer needs; the detail (Postgres, Redis, the worker, with
 * their error messages) goes to operators only (lib/observability/operator-access.ts).
 */
export const GET = route(async (request) => {
  const report = await checkHealth(runtime());
  const detail = operatorAllowed(operatorAccess(env()), request.headers.get("authorization"));
  return NextResponse.json(detail ? report : { status: report.status }, {
    status: report.status === "down" ? 503 : 200,
    headers: { "Cache-Control": "no-store" },
  });
});
