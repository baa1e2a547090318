import "server-only";
import { randomUUID } from "node:crypto";
import { revalidatePath } from "next/cache";
import { NextResponse, type NextRequest } from "next/server";
import { z } from "zod";
import { env } from "../env";
import { AppError } from "../errors";
import { logger } from "../observability/logger";
import { metrics } from "../observability/metrics";
import { serverTimingHeader, withTimings, type Timings } from "../observability/server-timing";
import { fieldErrors } from "../validation";
import { JSON_BODY_LIMIT, isJsonMediaType, readLimited, tooLarge } from "./body";
import { SAFE_METHODS, crossOrigin, originAllowed } from "./origin";

export interface ErrorBody {
  error: { code: string; message: string; fields?: Record<string, string> };
}

export function errorResponse(error: AppError): NextResponse<ErrorBody> {
  const headers: Record<string, string> = {};
  if (error.retryAfterSeconds !== undefined) headers["Retry-After"] = String(error.retryAfterSeconds);
  return NextResponse.json(
    { error: { code: error.code, message: error.message, ...(error.fields ? { fields: error.fields } : {}) } },
    { status: error.status, headers },
  );
}

/** A caller's `x-request-id` is kept when it looks like an id (a proxy's or a client's), so logs join up; else a new one. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

export function requestId(request: Request): string {
  const given = request.headers.get("x-request-id")?.trim();
  return given && REQUEST_ID.test(given) ? given : randomUUID();
}

/** The request's cache outcome(s) from its timings, e.g. "hit" or "miss,hit"; undefined when no cache was read. */
function cacheOutcome(timings: Timings | undefined): string | undefined {
  const outcomes = timings?.entries.filter((e) => e.name === "cache" && e.desc).map((e) => e.desc!);
  return outcomes?.length ? [...new Set(outcomes)].join(",") : undefined;
}

type Handler<P> = (request: NextRequest, context: { params: Promise<P> }) => Promise<Response>;

/**
 * Every route handler goes through here: AppErrors become `{ error: { code, message,
 * fields? } }` with their status, anything else a logged 500 that echoes nothing, and
 * every response carries `Server-Timing` (cache outcome, cache and database time) and
 * `x-request-id`, and one log line per request says the same (id, status, cache, durations).
 *
 * Before the handler, a state-changing request (any method but GET, HEAD, OPTIONS) must
 * come from an allowed origin (lib/http/origin.ts: 403 otherwise) and declare no body over
 * {@link JSON_BODY_LIMIT} (413). A 413 closes the connection, so the server stops reading
 * an upload it has refused instead of draining it to the end.
 */
export function route<P = Record<string, never>>(handler: Handler<P>): Handler<P> {
  return async (request, context) => {
    const started = performance.now();
    const reqId = requestId(request);
    let response: Response;
    let timings: Timings | undefined;
    try {
      if (!SAFE_METHODS.has(request.method)) {
        if (!originAllowed(request.headers, env().allowedOrigins)) throw crossOrigin();
        if (Number(request.headers.get("content-length")) > JSON_BODY_LIMIT) throw tooLarge(JSON_BODY_LIMIT);
      }
      ({ result: response, timings } = await withTimings(() => handler(request, context)));
      // The benchmark's page cache peers learn of writes as their users' apps tell them (lib/env.ts).
      if (env().benchPagePeer && !SAFE_METHODS.has(request.method) && response.ok) revalidatePath("/");
    } catch (error) {
      if (error instanceof AppError) response = errorResponse(error);
      else {
        metrics().requestErrors.inc({ kind: "api" });
        logger().error({ err: error, reqId, path: request.nextUrl.pathname }, "request failed");
        response = errorResponse(new AppError(503, "unavailable", "The service is temporarily unavailable"));
      }
    }
    const totalMs = performance.now() - started;
    const header = timings ? serverTimingHeader(timings) : "";
    response.headers.set("Server-Timing", [header, `total;dur=${totalMs.toFixed(2)}`].filter(Boolean).join(", "));
    response.headers.set("x-request-id", reqId);
    if (response.status === 413) response.headers.set("Connection", "close");
    const sum = (name: string) => timings?.entries.filter((e) => e.name === name).reduce((ms, e) => ms + e.ms, 0);
    logger().info(
      {
        reqId,
        method: request.method,
        path: request.nextUrl.pathname,
        status: response.status,
        cache: cacheOutcome(timings),
        cacheMs: round(sum("cache")),
        dbMs: round(sum("db")),
        durationMs: round(totalMs),
      },
      "request",
    );
    return response;
  };
}

const round = (ms: number | undefined) => (ms === undefined ? undefined : Math.round(ms * 100) / 100);

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Parses a JSON body with a zod schema: 415 unless the media type is exactly
 * `application/json` (UTF-8), 413 past {@link JSON_BODY_LIMIT} (counted while reading),
 * 400 for what is not UTF-8 JSON or fails the schema.
 */
export async function readJson<S extends z.ZodType>(request: Request, schema: S): Promise<z.output<S>> {
  if (!isJsonMediaType(request.headers.get("content-type"))) {
    throw new AppError(415, "unsupported_media_type", "Send a JSON body with Content-Type: application/json");
  }
  const bytes = await readLimited(request, JSON_BODY_LIMIT);
  let body: unknown;
  try {
    body = JSON.parse(utf8.decode(bytes));
  } catch {
    throw new AppError(400, "invalid_json", "The body is not valid JSON");
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new AppError(400, "invalid_input", "Some fields are invalid", fieldErrors(parsed.error));
  return parsed.data;
}

/** Validates a path parameter; a malformed one is a 400, not a database error. */
export function parseParam<S extends z.ZodType>(value: unknown, schema: S, name: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new AppError(400, "invalid_param", `Malformed ${name}`, { [name]: parsed.error.issues[0]?.message ?? "invalid" });
  return parsed.data;
}
