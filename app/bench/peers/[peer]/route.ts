import { NextResponse } from "next/server";
import { z } from "zod";
import { DATA_PEERS, invalidate, readThrough } from "@/lib/bench/peer-data";
import { env } from "@/lib/env";
import { notFound } from "@/lib/errors";
import { parseParam, readJson, route } from "@/lib/http/route";
import { updateRoomSchema } from "@/lib/rooms/validation";
import { runtime } from "@/lib/runtime";
import { readSession } from "@/lib/session/cookie";
import type { Session } from "@/lib/session/session";
import { uuidSchema } from "@/lib/validation";

/*
 * The benchmark's data cache peers (lib/bench/peer-data.ts; bench/README.md, Peers): GET is
 * `/api/rooms`'s list through bentocache or @epic-web/cachified; PATCH `?id=<room>` renames
 * a room as `PATCH /api/rooms/by-id/{id}` does (the app's own write, owner only) and then
 * deletes the peer's key, before the 2xx. DELETE empties the peer's key (a cold start).
 * Answered only when the server runs with BENCH_ROUTES=true (proxy.ts).
 */
export const dynamic = "force-dynamic";

type Params = { peer: string };
const peerSchema = z.enum(DATA_PEERS);
const NOBODY: Session = { id: "", name: "" };

function redisUrl(): string {
  const redis = env().redis;
  if (redis.driver !== "ioredis") throw notFound("Data cache peer (needs REDIS_URL)");
  return redis.url;
}

export const GET = route<Params>(async (_request, { params }) => {
  const peer = parseParam((await params).peer, peerSchema, "peer");
  const list = await readThrough(peer, redisUrl(), runtime().db.db);
  return NextResponse.json({ ...list, stale: false }, { headers: { "Cache-Control": "no-store" } });
});

export const PATCH = route<Params>(async (request, { params }) => {
  const peer = parseParam((await params).peer, peerSchema, "peer");
  const id = parseParam(request.nextUrl.searchParams.get("id") ?? "", uuidSchema, "id");
  const input = await readJson(request, updateRoomSchema);
  const room = await runtime().roomWrites.update((await readSession()) ?? NOBODY, id, input);
  await invalidate(peer, redisUrl());
  return NextResponse.json({ room: { id: room.id, name: room.name } });
});

export const DELETE = route<Params>(async (_request, { params }) => {
  const peer = parseParam((await params).peer, peerSchema, "peer");
  await invalidate(peer, redisUrl());
  return new NextResponse(null, { status: 204 });
});
