import { z } from "zod";

const ipSchema = z.union([z.ipv4(), z.ipv6()]);

/** `1.2.3.4:567` and `[::1]:567` (some proxies append the port) to the bare address, IPv4-mapped IPv6 to IPv4. */
function bareAddress(entry: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(entry);
  if (bracketed) return bracketed[1]!;
  const v4WithPort = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(entry);
  return (v4WithPort ? v4WithPort[1]! : entry).replace(/^::ffff:(?=\d)/i, "");
}

/**
 * The client's address from `X-Forwarded-For`, trusting `hops` reverse proxies in front of
 * the app (TRUSTED_PROXY_HOPS). Each trusted proxy appends the address it received the
 * request from, so the client is the entry `hops` from the right: anything further left
 * was written by the client and proves nothing.
 *
 * `hops` 0 (no proxy): the client is the socket. Next's route handlers and server actions
 * do not expose the socket address; Next's server writes it into `X-Forwarded-For` only
 * when the request has none. So with 0 the last entry is taken: the socket address when
 * the client sent no header, else the last value it sent (a client talking to the app
 * directly can pick its key then; put a proxy in front and set the hops for per-IP limits
 * that hold). `X-Real-IP` is never read: nothing vouches for it.
 *
 * Undefined when the chosen entry is not an IP address.
 */
export function clientIpFromHeaders(h: Pick<Headers, "get">, hops: number): string | undefined {
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
