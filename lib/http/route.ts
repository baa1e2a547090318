import "server-only";
import { NextResponse, type NextRequest } from "next/server";
import { z } from "zod";
import { AppError } from "../errors";
import { logger } from "../observability/logger";
import { serverTimingHeader, withTimings } from "../observability/server-timing";
import { fieldErrors } from "../validation";

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

type Handler<P> = (request: NextRequest, context: { params: Promise<P> }) => Promise<Response>;

/**
 * Every route handler goes through here: AppErrors become `{ error: { code, message,
 * fields? } }` with their status, anything else a logged 500 that echoes nothing, and
 * every response carries `Server-Timing` (cache outcome, cache and database time).
 */
export function route<P = Record<string, never>>(handler: Handler<P>): Handler<P> {
  return async (request, context) => {
    const started = performance.now();
    let response: Response;
    let timings;
    try {
      ({ result: response, timings } = await withTimings(() => handler(request, context)));
    } catch (error) {
      if (error instanceof AppError) response = errorResponse(error);
      else {
        logger().error({ err: error, path: request.nextUrl.pathname }, "request failed");
        response = errorResponse(new AppError(503, "unavailable", "The service is temporarily unavailable"));
      }
    }
    const header = timings ? serverTimingHeader(timings) : "";
    response.headers.set("Server-Timing", [header, `total;dur=${(performance.now() - started).toFixed(2)}`].filter(Boolean).join(", "));
    return response;
  };
}

/** Parses a JSON body with a zod schema; 415/400 AppErrors on anything else. */
export async function readJson<S extends z.ZodType>(request: Request, schema: S): Promise<z.output<S>> {
  if (!request.headers.get("content-type")?.toLowerCase().includes("application/json")) {
    throw new AppError(415, "unsupported_media_type", "Send a JSON body with Content-Type: application/json");
  }
  const text = await request.text();
  if (text.length > 64 * 1024) throw new AppError(413, "too_large", "The body is too large");
  let body: unknown;
  try {
    body = JSON.parse(text);
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
