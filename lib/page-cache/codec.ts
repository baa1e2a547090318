/*
 * JSON for Next's cache values, which hold Buffers (the RSC payload, segment data) and a
 * Map (segment path to Buffer). Both are tagged so they come back as what they were.
 */

const BUFFER = "__lobby_b64";
const MAP = "__lobby_map";

/**
 * Buffers and Maps swapped for their tagged forms before JSON.stringify sees them: a
 * replacer would come too late for Buffers, whose toJSON turns a 100 KB payload into an
 * array of 100,000 numbers first (a profile of a render-per-request run showed it).
 */
function toPlain(value: unknown): unknown {
  if (value instanceof Uint8Array) return { [BUFFER]: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64") };
  if (value instanceof Map) return { [MAP]: [...value.entries()].map(([k, v]) => [k, toPlain(v)]) };
  if (Array.isArray(value)) return value.map(toPlain);
  if (value && typeof value === "object" && typeof (value as { toJSON?: unknown }).toJSON !== "function") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = toPlain(v);
    return out;
  }
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
  return JSON.stringify(toPlain(value));
}

export function decodeCacheValue<T>(body: string): T {
  return JSON.parse(body, reviver) as T;
}

/** The codec pair as {@link PageCache} options take it. */
export const pageCacheCodec = { encode: encodeCacheValue, decode: decodeCacheValue } as const;
