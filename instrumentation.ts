/**
 * Runs once when a Next.js server starts: a bad environment stops it (exit code 1) with a
 * message naming the variable, before it serves anything; then every request gets its
 * socket address stamped for the per-IP limits (lib/http/peer-address.ts: Next does not
 * expose it otherwise), and event stream requests their Node response kept for their route
 * (lib/realtime/stream-handoff.ts: frames written to the socket, not through a web stream).
 */
export async function register() {
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  const { envOrExit } = await import("./lib/env-or-exit");
  envOrExit();
  const { installPeerStamp } = await import("./lib/http/peer-address");
  installPeerStamp();
  const { installStreamHandoff } = await import("./lib/realtime/stream-handoff");
  installStreamHandoff();
}
