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
