import { NextResponse, type NextRequest } from "next/server";
import { z } from "zod";
import { holdNextPass, probePointSchema, probeSnapshot } from "@/lib/bench/probe";

/*
 * The benchmark's probes (lib/bench/probe.ts): GET `?point=render|load` its counts, POST
 * `?point=...` with `{ "holdMs": n }` to hold the next pass n ms. Answered only when the
 * server runs with BENCH_ROUTES=true (proxy.ts).
 */
export const dynamic = "force-dynamic";

const NO_STORE = { "cache-control": "no-store" };
const body = z.strictObject({ holdMs: z.number().int().min(0).max(10_000) });

function point(request: NextRequest) {
  return probePointSchema.safeParse(request.nextUrl.searchParams.get("point"));
}

const invalid = (message: string) => NextResponse.json({ error: { code: "invalid_input", message } }, { status: 400 });

export function GET(request: NextRequest) {
  const p = point(request);
  if (!p.success) return invalid("point must be render or load");
  return NextResponse.json(probeSnapshot(p.data), { headers: NO_STORE });
}

export async function POST(request: NextRequest) {
  const p = point(request);
  if (!p.success) return invalid("point must be render or load");
  const parsed = body.safeParse(await request.json().catch(() => undefined));
  if (!parsed.success) return invalid("send { holdMs: 0-10000 }");
  holdNextPass(p.data, parsed.data.holdMs);
  return NextResponse.json(probeSnapshot(p.data), { headers: NO_STORE });
}
