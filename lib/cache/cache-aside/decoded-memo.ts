import type { z } from "zod";
import { decodeEnvelope, envelopeTag } from "../protocol";
import type { ReadResult, ReadSpec } from "./types";

/** Keys whose last decoded value is kept in memory (oldest dropped first). */
const DECODED_MEMO_SIZE = 500;

/** A key's last decoded value: its bytes, their envelope's tag, and what they decoded to. */
interface Decoded {
  raw: string;
  tag: string;
  schema: z.ZodType<unknown>;
  result: ReadResult<unknown>;
}

/**
 * Parses and validates cached values, once per distinct value: a hot key's bytes are the
 * same request after request, so the last decode of each key is kept and handed out again
 * while Redis returns the same string (a string compare, not a JSON.parse and a zod pass
 * over 50 rooms). Callers get shared objects and must not mutate them.
 */
export class DecodedMemo {
  private readonly decoded = new Map<string, Decoded>();

  /** The last value decoded for the spec's key with the spec's schema, if any. */
  held<T>(spec: ReadSpec<T>): { tag: string; result: ReadResult<T> } | undefined {
    const known = this.decoded.get(spec.key);
    return known?.schema === spec.schema ? { tag: known.tag, result: known.result as ReadResult<T> } : undefined;
  }

  /** The value, or undefined when it does not parse or validate (a corrupt entry). */
  decode<T>(spec: ReadSpec<T>, raw: string): ReadResult<T> | undefined {
    const known = this.decoded.get(spec.key);
    if (known && known.raw === raw && known.schema === spec.schema) return known.result as ReadResult<T>;
    const decoded = decodeEnvelope(spec.schema, raw);
    const result: ReadResult<T> | undefined = decoded && { ...decoded, source: "cache" };
    if (result) {
      this.decoded.delete(spec.key);
      this.decoded.set(spec.key, { raw, tag: envelopeTag(raw), schema: spec.schema, result });
      if (this.decoded.size > DECODED_MEMO_SIZE) this.decoded.delete(this.decoded.keys().next().value as string);
    }
    return result;
  }
}
