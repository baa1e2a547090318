import { NextResponse } from "next/server";
import { z } from "zod";
import { readJson, route } from "@/lib/http/route";
import { ensureSession, writeSession } from "@/lib/session/cookie";
import { displayNameSchema } from "@/lib/session/session";

/**
 * The visitor's public identity for the browser: pages stay free of cookie reads (so they
 * can be cached) and fetch this instead. GET creates the session when missing.
 */

// Per visitor: never stored by a browser cache or a CDN.
const PRIVATE = { "Cache-Control": "private, no-store" };

export const GET = route(async () => {
  const { id, name } = await ensureSession();
  return NextResponse.json({ id, name }, { headers: PRIVATE });
});

const patchBody = z.strictObject({ name: displayNameSchema });

export const PATCH = route(async (request) => {
  const { name } = await readJson(request, patchBody);
  const current = await ensureSession();
  const { id } = await writeSession({ id: current.id, name });
  return NextResponse.json({ id, name }, { headers: PRIVATE });
});
