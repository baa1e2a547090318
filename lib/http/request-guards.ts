import { NextResponse, type NextRequest } from "next/server";
import { env } from "../env";
import { AppError } from "../errors";
import { readLimited } from "./body";
import { SAFE_METHODS, crossOrigin, originAllowed } from "./origin";

/**
 * What proxy.ts checks before Next handles a request it matched: the answers Next itself
 * would give as a 500 become the caller's 4xx, and server actions and form posts get the
 * origin rule route handlers get in their wrapper.
 *
 * - A path with a malformed percent-escape (`%`, `%C0%AF`): Next fails to decode the
 *   dynamic segment and answers 500. 400 here.
 * - A state-changing request from another origin (lib/http/origin.ts): 403. Next's own
 *   server-action check answers a foreign Origin with a 500, an Origin that is not a URL
 *   with a 500 too, and lets a post without Origin through whatever its Sec-Fetch-Site.
 * - A server action whose envelope Next cannot decode (a `Next-Action` body that is not a
 *   JSON array, a multipart body that does not parse): Next answers 500. 400 here. Over
 *   Next's action body limit (1 MB by default): 413.
 */

/** Next's default `serverActions.bodySizeLimit`. */
export const ACTION_BODY_LIMIT = 1024 * 1024;

export async function guardRequest(request: NextRequest): Promise<NextResponse | undefined> {
  try {
    decodeURIComponent(request.nextUrl.pathname);
  } catch {
    return refuse(new AppError(400, "invalid_path", "The path is not validly percent-encoded"));
  }
  if (SAFE_METHODS.has(request.method)) return undefined;
  if (!originAllowed(request.headers, env().allowedOrigins)) return refuse(crossOrigin());
  const problem = await malformedAction(request);
  return problem && refuse(problem);
}

async function malformedAction(request: NextRequest): Promise<AppError | undefined> {
  const type = request.headers.get("content-type") ?? "";
  const multipart = /^multipart\/form-data\b/i.test(type);
  if (!request.headers.has("next-action") && !multipart) return undefined;
  let body: Uint8Array;
  try {
    body = await readLimited(request, ACTION_BODY_LIMIT);
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  const invalid = new AppError(400, "invalid_action_request", "The form or action request is malformed");
  try {
    if (multipart) await new Response(body as BodyInit, { headers: { "content-type": type } }).formData();
    else if (!Array.isArray(JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body)))) return invalid;
  } catch {
    return invalid;
  }
  return undefined;
}

function refuse(error: AppError): NextResponse {
  return NextResponse.json(
    { error: { code: error.code, message: error.message } },
    { status: error.status, headers: error.status === 413 ? { Connection: "close" } : {} },
  );
}
