import { NextResponse } from "next/server";
import { checkHealth } from "@/lib/health";
import { route } from "@/lib/http/route";
import { runtime } from "@/lib/runtime";

/** 200 while rooms can be served (Redis down is `degraded`), 503 when nothing can be. */
export const GET = route(async () => {
  const report = await checkHealth(runtime());
  return NextResponse.json(report, {
    status: report.status === "down" ? 503 : 200,
    headers: { "Cache-Control": "no-store" },
  });
});
