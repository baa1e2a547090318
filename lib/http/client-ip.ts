import "server-only";
import { headers } from "next/headers";
import { env } from "../env";
import { clientIpFromHeaders } from "./forwarded-for";

export { clientIpFromHeaders };

/**
 * The client's address for per-IP rate limits (see {@link clientIpFromHeaders}); undefined
 * when none is known (the per-session limit still applies). Route handlers and server
 * actions only (reads headers).
 */
export async function clientIp(): Promise<string | undefined> {
  return clientIpFromHeaders(await headers(), env().trustedProxyHops);
}
