/*
 * JSON for Next's cache values, which hold Buffers (the RSC payload, segment data) and a
 * Map (segment path to Buffer). Both are tagged so they come back as what they were.
 */

const BUFFER = "__lobby_b64";
const MAP = "__lobby_map";

function replacer(this: unknown, key: string, value: unknown): unknown {
  // JSON.stringify has already called Buffer#toJSON by now: read the original from the holder.
  const original = (this as Record<string, unknown>)[key];
  if (original instanceof Uint8Array) return { [BUFFER]: Buffer.from(original).toString("base64") };
  if (original instanceof Map) return { [MAP]: [...original.entries()] };
  return value;
}

function reviver(_key: string, value: unknown): unknown {
  if (value && typeof value === "object" && !Array.isArray(value)) {
    const v = value as Record<string, unknown>;
    if (typeof v[BUFFER] === "string") return Buffer.from(v[BUFFER], "base64");
    if (Array.isArray(v[MAP])) return new Map(v[MAP] as [unknown, unknown][]);
  }
  return value;
}

export function encodeCacheValue(value: unknown): string {
  return JSON.stringify(value, replacer);
}

export function decodeCacheValue<T>(body: string): T {
  return JSON.parse(body, reviver) as T;
}

/** The codec pair as {@link PageCache} options take it. */
export const pageCacheCodec = { encode: encodeCacheValue, decode: decodeCacheValue } as const;
