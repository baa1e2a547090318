import "server-only";
import { headers } from "next/headers";
import { z } from "zod";

const ipSchema = z.union([z.ipv4(), z.ipv6()]);

/**
 * The client's address for per-IP rate limits: the first `X-Forwarded-For` hop (Next's
 * server sets it from the socket; a proxy in front must overwrite, not append to, what
 * the client sent), else `X-Real-IP`. Undefined when neither holds an address: the
 * per-session limit still applies. Route handlers and server actions only (reads headers).
 */
export async function clientIp(): Promise<string | undefined> {
  const h = await headers();
  const candidate = h.get("x-forwarded-for")?.split(",")[0]?.trim() || h.get("x-real-ip")?.trim();
  const parsed = ipSchema.safeParse(candidate?.replace(/^::ffff:/, ""));
  return parsed.success ? parsed.data : undefined;
}
