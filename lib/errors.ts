/*
 * Next builds route handlers and pages into separate server bundles, each with its own
 * copy of this module, while the runtime (and so the services that throw) is shared on
 * globalThis. A class check would then fail for an error thrown by the other bundle's
 * copy; a registered symbol is the same in every copy.
 */
const BRAND = Symbol.for("lobby.AppError");

/** An expected failure with an HTTP meaning; route handlers and actions turn it into a 4xx. */
export class AppError extends Error {
  readonly [BRAND] = true;

  constructor(
    readonly status: 400 | 401 | 403 | 404 | 409 | 413 | 415 | 422 | 429 | 503,
    readonly code: string,
    message: string,
    readonly fields?: Record<string, string>,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = "AppError";
  }

  static [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === "object" && value !== null && BRAND in value;
  }
}

export const notFound = (what: string) => new AppError(404, "not_found", `${what} not found`);
export const forbidden = (message: string) => new AppError(403, "forbidden", message);
