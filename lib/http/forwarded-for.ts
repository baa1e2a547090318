import { z } from "zod";
import { peerAddressFromHeaders } from "./peer-address";

const ipSchema = z.union([z.ipv4(), z.ipv6()]);

/** `1.2.3.4:567` and `[::1]:567` (some proxies append the port) to the bare address, IPv4-mapped IPv6 to IPv4. */
function bareAddress(entry: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(entry);
  if (bracketed) return bracketed[1]!;
  const v4WithPort = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(entry);
  return (v4WithPort ? v4WithPort[1]! : entry).replace(/^::ffff:(?=\d)/i, "");
}

/**
 * The client's address for per-IP limits, trusting `hops` reverse proxies in front of the
 * app (TRUSTED_PROXY_HOPS).
 *
 * `hops` 0 (no proxy): the client is the socket, as stamped by the HTTP server hook
 * (lib/http/peer-address.ts); `X-Forwarded-For` is not read at all, since with no proxy
 * in front only the client can have written it. Undefined when the request carries no
 * valid stamp.
 *
 * `hops` n: each trusted proxy appends the address it received the request from, so the
 * client is the entry `n` from the right of `X-Forwarded-For`: anything further left was
 * written by the client and proves nothing. `X-Real-IP` is never read: nothing vouches
 * for it. Undefined when the chosen entry is not an IP address.
 */
export function clientIpFromHeaders(h: Pick<Headers, "get">, hops: number): string | undefined {
  if (hops === 0) {
    const peer = peerAddressFromHeaders(h);
    const parsed = peer === undefined ? undefined : ipSchema.safeParse(bareAddress(peer));
    return parsed?.success ? parsed.data : undefined;
  }
  const entries = (h.get("x-forwarded-for") ?? "")
    .split(",")
    .map((e) => e.trim())
    .filter(Boolean);
  if (entries.length === 0) return undefined;
  // Fewer entries than trusted hops: a proxy did not append; the leftmost is the best guess there is.
  const chosen = entries[Math.max(0, entries.length - Math.max(1, hops))]!;
  const parsed = ipSchema.safeParse(bareAddress(chosen));
  return parsed.success ? parsed.data : undefined;
}
