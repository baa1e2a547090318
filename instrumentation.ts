/**
 * Runs once when a Next.js server starts: a bad environment stops it (exit code 1) with a
 * message naming the variable, before it serves anything.
 */
export async function register() {
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  const { envOrExit } = await import("./lib/env-or-exit");
  envOrExit();
}
