/**
 * Runs once when a Next.js server starts: a bad environment stops it with a message naming
 * the variable; then every request gets its socket address stamped for the per-IP limits
 * (lib/http/peer-address.ts: Next does not expose it otherwise).
 */
export async function register() {
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  const { env } = await import("./lib/env");
  env();
  const { installPeerStamp } = await import("./lib/http/peer-address");
  installPeerStamp();
}
