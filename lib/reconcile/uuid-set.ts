/*
 * The ids the list pass found live, for the passes after it (the room keys' SCAN, the
 * activity members' ZSCAN), held in this process in typed arrays: 16 bytes an id plus a
 * byte of occupancy, with open addressing. A million ids are ~34 MB, where a JS Set of
 * their strings took ~250 MB and a Redis set cost Redis ~4 s of a 1M-room run (SADD,
 * SMISMEMBER and the scripts' parsing), on the one thread every part of a run waits for.
 * Only canonical UUIDs (lowercase, hyphenated: what Postgres prints) are members; any other
 * text is not, so it is looked at as not live, and Postgres decides.
 */

const HEX = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) HEX[48 + i] = i;
for (let i = 0; i < 6; i++) HEX[97 + i] = 10 + i;

/** The four 32-bit words of a canonical UUID into `out` at `at`; false when `id` is not one. */
function parseUuid(id: string, out: Uint32Array, at = 0): boolean {
  if (id.length !== 36) return false;
  let word = 0;
  let digits = 0;
  let w = at;
  for (let i = 0; i < 36; i++) {
    const c = id.charCodeAt(i);
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== 45 /* - */) return false;
      continue;
    }
    const v = c < 128 ? HEX[c]! : -1;
    if (v < 0) return false;
    word = (word << 4) | v;
    if (++digits === 8) {
      out[w++] = word >>> 0;
      word = 0;
      digits = 0;
    }
  }
  return true;
}

function hashOf(k: Uint32Array): number {
  let h = Math.imul(k[0]! ^ Math.imul(k[1]!, 0x9e3779b1), 0x85ebca6b) ^ Math.imul(k[2]! ^ Math.imul(k[3]!, 0xc2b2ae35), 0x27d4eb2f);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  return (h ^ (h >>> 13)) >>> 0;
}

/**
 * A set of canonical UUIDs; optionally a number with each member (`values`), and a mark
 * that can be set on a member ({@link take}) and asked for ({@link unmarked}).
 */
export class UuidSet {
  private words: Uint32Array;
  /** Per slot: 0 empty, 1 a member, 2 a marked member. */
  private state: Uint8Array;
  private values: Float64Array | null;
  private mask: number;
  private readonly key = new Uint32Array(4);
  size = 0;

  constructor(capacity = 1024, options: { values?: boolean } = {}) {
    let slots = 16;
    while (slots < capacity * 2) slots *= 2;
    this.words = new Uint32Array(slots * 4);
    this.state = new Uint8Array(slots);
    this.values = options.values ? new Float64Array(slots) : null;
    this.mask = slots - 1;
  }

  /** Adds a canonical UUID (with its value, which replaces an earlier one); false (and nothing added) for any other text. */
  add(id: string, value = 0): boolean {
    if (!parseUuid(id, this.key)) return false;
    if ((this.size + 1) * 2 > this.state.length) this.grow();
    const slot = this.slot(this.key);
    if (!this.state[slot]) {
      this.state[slot] = 1;
      this.words.set(this.key, slot * 4);
      this.size++;
    }
    if (this.values) this.values[slot] = value;
    return true;
  }

  has(id: string): boolean {
    return parseUuid(id, this.key) && this.state[this.slot(this.key)] !== 0;
  }

  /** The id held in `words` at `at` (four words, as {@link UuidList} holds them) is a member. */
  hasWords(words: Uint32Array, at: number): boolean {
    this.key.set(words.subarray(at, at + 4));
    return this.state[this.slot(this.key)] !== 0;
  }

  /** A member's value, and the member is marked; undefined when `id` is not a member. */
  take(id: string): number | undefined {
    return parseUuid(id, this.key) ? this.takeSlot(this.slot(this.key)) : undefined;
  }

  /** {@link take} of the id held in `words` at `at`. */
  takeWords(words: Uint32Array, at: number): number | undefined {
    this.key.set(words.subarray(at, at + 4));
    return this.takeSlot(this.slot(this.key));
  }

  /** The members never taken, as canonical text, with their values. */
  *unmarked(): Generator<[id: string, value: number]> {
    for (let slot = 0; slot < this.state.length; slot++) {
      if (this.state[slot] === 1) yield [formatUuid(this.words, slot * 4), this.values ? this.values[slot]! : 0];
    }
  }

  private takeSlot(slot: number): number | undefined {
    if (!this.state[slot]) return undefined;
    this.state[slot] = 2;
    return this.values ? this.values[slot] : 0;
  }

  /** `k`'s slot, or the empty slot where it would go. */
  private slot(k: Uint32Array): number {
    const { words, state, mask } = this;
    let slot = hashOf(k) & mask;
    for (; state[slot]; slot = (slot + 1) & mask) {
      const at = slot * 4;
      if (words[at] === k[0] && words[at + 1] === k[1] && words[at + 2] === k[2] && words[at + 3] === k[3]) break;
    }
    return slot;
  }

  private grow(): void {
    const { words, state, values } = this;
    const slots = state.length * 2;
    this.words = new Uint32Array(slots * 4);
    this.state = new Uint8Array(slots);
    this.values = values ? new Float64Array(slots) : null;
    this.mask = slots - 1;
    const k = new Uint32Array(4);
    for (let slot = 0; slot < state.length; slot++) {
      if (!state[slot]) continue;
      k.set(words.subarray(slot * 4, slot * 4 + 4));
      const to = this.slot(k);
      this.state[to] = state[slot]!;
      this.words.set(k, to * 4);
      if (values) this.values![to] = values[slot]!;
    }
  }
}

/** Ids a chunk's worth at a time: 64k ids, 1 MB (and 512 KB of values). */
const LIST_CHUNK_IDS = 65_536;

/** One entry of a {@link UuidList} as it is read: the id's four words at `at` in `words`, and its value. */
export interface UuidEntry {
  words: Uint32Array;
  at: number;
  value: number;
}

/**
 * Canonical UUIDs in arrival order, 16 bytes each (and a number each with `values`), in
 * chunks that are never copied: the ids a pass holds back until the live set is complete
 * (live-ids.ts). Duplicates are kept; the reader decides.
 */
export class UuidList {
  private readonly chunks: { words: Uint32Array; values: Float64Array | null }[] = [];
  private last = LIST_CHUNK_IDS;
  size = 0;

  constructor(private readonly options: { values?: boolean } = {}) {}

  /** Appends a canonical UUID (with its value); false (and nothing appended) for any other text. */
  push(id: string, value = 0): boolean {
    if (this.last === LIST_CHUNK_IDS) {
      this.chunks.push({ words: new Uint32Array(LIST_CHUNK_IDS * 4), values: this.options.values ? new Float64Array(LIST_CHUNK_IDS) : null });
      this.last = 0;
    }
    const chunk = this.chunks[this.chunks.length - 1]!;
    if (!parseUuid(id, chunk.words, this.last * 4)) return false;
    if (chunk.values) chunk.values[this.last] = value;
    this.last++;
    this.size++;
    return true;
  }

  /** Every entry in arrival order (one object, updated as it goes); the list is emptied as it is read. */
  *drain(): Generator<UuidEntry> {
    const entry: UuidEntry = { words: new Uint32Array(0), at: 0, value: 0 };
    while (this.chunks.length > 0) {
      const chunk = this.chunks.shift()!;
      const count = this.chunks.length === 0 ? this.last : LIST_CHUNK_IDS;
      entry.words = chunk.words;
      for (let i = 0; i < count; i++) {
        entry.at = i * 4;
        entry.value = chunk.values ? chunk.values[i]! : 0;
        yield entry;
      }
    }
    this.last = LIST_CHUNK_IDS;
    this.size = 0;
  }

  /** The ids that are not in `set`, as canonical text, in arrival order; the list is emptied as it is read. */
  *notIn(set: UuidSet): Generator<string> {
    for (const { words, at } of this.drain()) if (!set.hasWords(words, at)) yield formatUuid(words, at);
  }
}

const hex8 = (word: number) => word.toString(16).padStart(8, "0");

/** The canonical text of the four words at `at`. */
export function formatUuid(words: Uint32Array, at: number): string {
  const [a, b, c, d] = [hex8(words[at]!), hex8(words[at + 1]!), hex8(words[at + 2]!), hex8(words[at + 3]!)];
  return `${a}-${b.slice(0, 4)}-${b.slice(4)}-${c.slice(0, 4)}-${c.slice(4)}${d}`;
}
