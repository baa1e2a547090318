/**
 * Errors Next.js throws through our code on purpose: a render that turns out dynamic
 * (`DYNAMIC_SERVER_USAGE`), `redirect()`/`notFound()` (`NEXT_...`), a bailout to client
 * rendering, a prerender that stops waiting (`HANGING_PROMISE_REJECTION`). They travel
 * through any call the render makes, a Redis call included, and are the framework's to
 * handle: they say nothing about Redis, so they never count as a Redis failure and are
 * never swallowed (the same set as `unstable_rethrow` from next/navigation, which the
 * worker, outside Next, cannot import cheaply).
 */
const FRAMEWORK_DIGEST = /^(DYNAMIC_SERVER_USAGE|NEXT_|BAILOUT_TO_CLIENT_SIDE_RENDERING|HANGING_PROMISE_REJECTION)/;

export function isFrameworkError(error: unknown): boolean {
  for (let e = error, depth = 0; e && typeof e === "object" && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const digest = (e as { digest?: unknown }).digest;
    if (typeof digest === "string" && FRAMEWORK_DIGEST.test(digest)) return true;
  }
  return false;
}
