/**
 * Reads a cached list envelope (`{"v":..,"at":..,"data":[{..},{..}]}`) in chunks and hands
 * out each element of `data` as its own JSON text, so a list of 100k rooms is checked
 * without ever holding the whole value or its parsed form: memory is one chunk plus one
 * element. What is left once the elements are cut out (the "skeleton", here
 * `{"v":..,"at":..,"data":[]}`) is kept, bounded, so the caller can validate the envelope.
 *
 * Elements are the objects found at depth 2 (inside an array inside the top object).
 * Anything else at that depth stays in the skeleton, where validation rejects it.
 */
export class EnvelopeElementScanner {
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** Pieces of the element being read, when it spans chunks; null outside an element. */
  private element: string[] | null = null;
  private skeletonParts: string[] = [];
  private skeletonLength = 0;
  /**
   * Between elements, what may come next: after an element only `,` or `]`; after the
   * comma we dropped, only the next element. Anything else is malformed JSON that the
   * dropped commas would otherwise hide (`[{..},]`, `[{..}{..}]`).
   */
  private expect: "any" | "commaOrEnd" | "element" = "any";
  /** True when the value is not shaped like an envelope of objects (or the skeleton grew past its bound). */
  malformed = false;

  constructor(private readonly maxSkeleton = 64 * 1024) {}

  /** Feeds the next chunk; calls `onElement` with each complete element's JSON text. */
  push(chunk: string, onElement: (json: string) => void): void {
    if (this.malformed) return;
    let elementStart = this.element ? 0 : -1;
    let skeletonStart = this.element ? -1 : 0;
    for (let i = 0; i < chunk.length; i++) {
      if (this.inString) {
        i = this.skipString(chunk, i);
        continue;
      }
      const c = chunk.charCodeAt(i);
      if (this.depth === 2 && !this.element && c !== 32 && c !== 10 && c !== 13 && c !== 9) {
        const ok =
          this.expect === "any" ||
          (this.expect === "commaOrEnd" && (c === 44 || c === 93)) ||
          (this.expect === "element" && c === 123);
        if (!ok) {
          this.malformed = true;
          return;
        }
      }
      if (c === 34) {
        this.inString = true;
      } else if (c === 123 /* { */ || c === 91 /* [ */) {
        if (c === 123 && this.depth === 2) {
          this.addSkeleton(chunk, skeletonStart, i);
          skeletonStart = -1;
          elementStart = i;
          this.element = [];
        }
        if (c === 91 && this.depth === 1) this.expect = "any";
        this.depth++;
      } else if (c === 125 /* } */ || c === 93 /* ] */) {
        this.depth--;
        if (this.depth < 0) {
          this.malformed = true;
          return;
        }
        if (this.depth === 2 && this.element) {
          this.element.push(chunk.slice(elementStart, i + 1));
          const json = this.element.length === 1 ? this.element[0]! : this.element.join("");
          this.element = null;
          elementStart = -1;
          skeletonStart = i + 1;
          this.expect = "commaOrEnd";
          onElement(json);
        }
      } else if (c === 44 /* , */ && this.depth === 2 && this.expect === "commaOrEnd") {
        // Separators between elements are dropped, so the skeleton reads `"data":[]`.
        this.addSkeleton(chunk, skeletonStart, i);
        skeletonStart = i + 1;
        this.expect = "element";
      }
    }
    if (this.element) this.element.push(chunk.slice(elementStart));
    else this.addSkeleton(chunk, skeletonStart, chunk.length);
  }

  /**
   * Inside a string from `i`: jumps to its closing quote with indexOf (string contents are
   * most of a list, and need no look), and returns that quote's index, or the chunk's
   * last index when the string runs on into the next chunk.
   */
  private skipString(chunk: string, i: number): number {
    if (this.escaped) {
      // The previous chunk ended on a backslash: this chunk's first character is escaped.
      this.escaped = false;
      i++;
    }
    const start = i;
    for (;;) {
      const quote = chunk.indexOf('"', i);
      const end = quote === -1 ? chunk.length : quote;
      let backslashes = 0;
      while (end - backslashes - 1 >= start && chunk.charCodeAt(end - backslashes - 1) === 92) backslashes++;
      if (quote === -1) {
        this.escaped = backslashes % 2 === 1;
        return chunk.length - 1;
      }
      if (backslashes % 2 === 0) {
        this.inString = false;
        return quote;
      }
      i = quote + 1; // an escaped quote
    }
  }

  /**
   * Continues at an element's place inside `data` (depth 2), as if `head` (the envelope up
   * to and including its `[`) and the elements before had been read: `afterComma` when one
   * came before (the next must be an element), else `data` may still be empty.
   */
  resumeInData(head: string, afterComma: boolean): void {
    this.depth = 2;
    this.expect = afterComma ? "element" : "any";
    this.skeletonParts = [head];
    this.skeletonLength = head.length;
  }

  /** The envelope without its elements, or undefined when the value was cut short or malformed. */
  finish(): string | undefined {
    if (this.malformed || this.element || this.inString || this.depth !== 0) return undefined;
    return this.skeletonParts.join("");
  }

  private addSkeleton(chunk: string, from: number, to: number): void {
    if (from < 0 || to <= from) return;
    this.skeletonLength += to - from;
    if (this.skeletonLength > this.maxSkeleton) this.malformed = true;
    else this.skeletonParts.push(chunk.slice(from, to));
  }
}

/** The head of an envelope as encodeEnvelope writes it, up to the `[` of its data. */
const CANONICAL_HEAD = /^\{"v":\d{1,16},"at":"[^"\\]{0,64}","data":\[/;

/**
 * The elements of a cached list envelope, chunk by chunk (pushed in order by the caller),
 * with a fast path for the list the read path wrote: {@link take} consumes the next element
 * when it is exactly the given JSON text followed by `,` or `]` (one comparison of the text
 * in place, nothing scanned or cut out), which is every element of an unchanged list. Else
 * {@link peek} cuts the next element out. A list in any other layout (whitespace, another
 * head) goes to {@link EnvelopeElementScanner} from where it departs, so what is accepted,
 * and the skeleton, are the scanner's.
 */
export class EnvelopeReader {
  private text = "";
  private pos = 0;
  private done = false;
  private mode: "start" | "fast" | "scan" = "start";
  private head = "";
  /** Fast: an element came before the current place (so `]` here would follow a comma). */
  private afterComma = false;
  /** Fast: the `]` of data is read; what follows it is the tail. */
  private ended = false;
  private tail = "";
  private current?: { json: string; end: number };
  private scanner?: EnvelopeElementScanner;
  private scanned: string[] = [];
  private index = 0;
  private malformed = false;

  constructor(private readonly maxSkeleton = 64 * 1024) {}

  /** The next chunk of the value; `last` when none follows. */
  push(chunk: string, last: boolean): void {
    this.done = last;
    if (this.mode === "scan") {
      this.scanned = this.scanned.slice(this.index);
      this.index = 0;
      this.scanner!.push(chunk, (json) => this.scanned.push(json));
      return;
    }
    if (this.ended) {
      this.tail += chunk;
      if (this.tail.length > this.maxSkeleton) this.malformed = true;
      return;
    }
    this.text = this.pos < this.text.length ? this.text.slice(this.pos) + chunk : chunk;
    this.pos = 0;
    this.current = undefined;
    if (this.mode === "start") {
      const head = CANONICAL_HEAD.exec(this.text);
      if (head) {
        this.mode = "fast";
        this.head = head[0];
        this.pos = head[0].length;
      } else if (last || this.text.length >= 256) {
        this.toScanner(false);
      }
    }
  }

  /** Consumes the next element when it is exactly `json`; false otherwise (or when it is not all buffered yet). */
  take(json: string): boolean {
    if (this.mode !== "fast" || this.ended) return false;
    const end = this.pos + json.length;
    if (end >= this.text.length) return false;
    const next = this.text.charCodeAt(end);
    if ((next !== 44 && next !== 93) || !this.text.startsWith(json, this.pos)) return false;
    this.pos = end;
    this.current = undefined;
    this.afterElement();
    return true;
  }

  /** The next element's text; null once there are no more elements; undefined when a chunk must be pushed first. */
  peek(): string | null | undefined {
    if (this.malformed) return null;
    if (this.mode === "scan") {
      if (this.index < this.scanned.length) return this.scanned[this.index];
      return this.done || this.scanner!.malformed ? null : undefined;
    }
    if (this.mode === "start") return this.done ? null : undefined;
    if (this.ended) return this.done ? null : undefined;
    if (this.current) return this.current.json;
    const { text, pos } = this;
    if (pos >= text.length) return this.done ? this.fail() : undefined;
    const c = text.charCodeAt(pos);
    if (c === 93 /* ] */ && !this.afterComma) {
      this.pos++;
      this.afterElement(true);
      return this.peek();
    }
    if (c !== 123 /* { */) return this.toScanner(this.afterComma);
    const end = objectEnd(text, pos);
    if (end === -1 || end >= text.length) return this.done ? this.fail() : undefined;
    const next = text.charCodeAt(end);
    if (next !== 44 && next !== 93) return this.toScanner(this.afterComma);
    this.current = { json: text.slice(pos, end), end };
    return this.current.json;
  }

  /** Past the element {@link peek} returned. */
  advance(): void {
    if (this.mode === "scan") {
      this.index++;
      return;
    }
    if (!this.current) return;
    this.pos = this.current.end;
    this.current = undefined;
    this.afterElement();
  }

  /** The envelope without its elements, once all of it is read; undefined when malformed or not all read. */
  skeleton(): string | undefined {
    if (this.malformed || !this.done) return undefined;
    if (this.mode === "scan") return this.index >= this.scanned.length ? this.scanner!.finish() : undefined;
    return this.mode === "fast" && this.ended ? `${this.head}]${this.tail}` : undefined;
  }

  /** At `,` or `]` after an element (or at the `]` of an empty data, `closed`). */
  private afterElement(closed = false): void {
    if (!closed && this.text.charCodeAt(this.pos) === 44) {
      this.pos++;
      this.afterComma = true;
      return;
    }
    if (!closed) this.pos++;
    this.ended = true;
    this.tail = this.text.slice(this.pos);
    this.text = "";
    this.pos = 0;
    if (this.tail.length > this.maxSkeleton) this.malformed = true;
  }

  private fail(): null {
    this.malformed = true;
    return null;
  }

  /** Hands the rest, from an element's place, to the scanner. */
  private toScanner(afterComma: boolean): string | null | undefined {
    const rest = this.text.slice(this.pos);
    const scanner = (this.scanner = new EnvelopeElementScanner(this.maxSkeleton));
    if (this.mode === "fast") scanner.resumeInData(this.head, afterComma);
    this.mode = "scan";
    this.text = "";
    this.pos = 0;
    this.current = undefined;
    this.scanned = [];
    this.index = 0;
    scanner.push(rest, (json) => this.scanned.push(json));
    return this.peek();
  }
}

/** The index just past the object that starts at `start`, or -1 when it runs past the text. */
function objectEnd(text: string, start: number): number {
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      // To the closing quote: one not preceded by an odd number of backslashes.
      for (;;) {
        i = text.indexOf('"', i + 1);
        if (i === -1) return -1;
        let backslashes = 0;
        while (text.charCodeAt(i - backslashes - 1) === 92) backslashes++;
        if (backslashes % 2 === 0) break;
      }
    } else if (c === 123 || c === 91) {
      depth++;
    } else if (c === 125 || c === 93) {
      if (--depth === 0) return i + 1;
    }
  }
  return -1;
}
