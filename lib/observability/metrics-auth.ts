import { createHash, timingSafeEqual } from "node:crypto";

/**
 * True when an `Authorization` header carries `Bearer <token>`. Both sides are hashed
 * first, so the comparison is constant-time and its length reveals nothing either.
 * Shared by the web's `/api/metrics` and the worker's metrics port.
 */
export function bearerMatches(header: string | null | undefined, token: string): boolean {
  const match = /^Bearer\s+(.+)$/i.exec(header?.trim() ?? "");
  if (!match) return false;
  const digest = (s: string) => createHash("sha256").update(s).digest();
  return timingSafeEqual(digest(match[1]!), digest(token));
}
