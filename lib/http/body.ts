import { parse as parseContentType } from "content-type";
import { AppError } from "../errors";

/** The largest JSON body any route takes (a message is 2,000 characters: ~8 KB at most). */
export const JSON_BODY_LIMIT = 64 * 1024;

export const tooLarge = (limit: number) =>
  new AppError(413, limit === 0 ? "body_not_allowed" : "too_large", limit === 0 ? "This request takes no body" : "The body is too large");

/**
 * Exactly `application/json`, parsed (RFC 9110 media type, case-insensitive), with no
 * charset but UTF-8. A substring check let `text/plain; charset=application/json` through:
 * a content type a foreign page may send without a CORS preflight.
 */
export function isJsonMediaType(header: string | null): boolean {
  if (!header) return false;
  try {
    const { type, parameters } = parseContentType(header);
    const charset = parameters.charset?.toLowerCase();
    return type === "application/json" && (charset === undefined || charset === "utf-8");
  } catch {
    return false;
  }
}

/**
 * The body, read with a byte count and refused (413) the moment it passes `limit`: a
 * declared `Content-Length` over the limit is refused before a byte is read, and a
 * chunked body as soon as the count passes it, so a 20 MB upload is never held in memory
 * (nor, with the `Connection: close` the route wrapper adds to a 413, read to its end).
 */
export async function readLimited(request: Request, limit: number): Promise<Uint8Array> {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) throw tooLarge(limit);
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  const body = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    body.set(c, at);
    at += c.byteLength;
  }
  return body;
}

/** For routes that take no body (`POST .../read`): anything sent is a 413, and nothing is read past the first chunk. */
export async function refuseBody(request: Request): Promise<void> {
  await readLimited(request, 0);
}
