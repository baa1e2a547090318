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

/** The four 32-bit words of a canonical UUID into `out`; false when `id` is not one. */
function parseUuid(id: string, out: Uint32Array): boolean {
  if (id.length !== 36) return false;
  let word = 0;
  let digits = 0;
  let w = 0;
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

export class UuidSet {
  private words: Uint32Array;
  private used: Uint8Array;
  private mask: number;
  private readonly key = new Uint32Array(4);
  size = 0;

  constructor(capacity = 1024) {
    let slots = 16;
    while (slots < capacity * 2) slots *= 2;
    this.words = new Uint32Array(slots * 4);
    this.used = new Uint8Array(slots);
    this.mask = slots - 1;
  }

  /** Adds a canonical UUID; false (and nothing added) for any other text. */
  add(id: string): boolean {
    if (!parseUuid(id, this.key)) return false;
    if ((this.size + 1) * 2 > this.used.length) this.grow();
    if (this.insert(this.key)) this.size++;
    return true;
  }

  has(id: string): boolean {
    if (!parseUuid(id, this.key)) return false;
    return this.find(this.key) !== -1;
  }

  private find(k: Uint32Array): number {
    const { words, used, mask } = this;
    for (let slot = hashOf(k) & mask; used[slot]; slot = (slot + 1) & mask) {
      const at = slot * 4;
      if (words[at] === k[0] && words[at + 1] === k[1] && words[at + 2] === k[2] && words[at + 3] === k[3]) return slot;
    }
    return -1;
  }

  /** True when `k` was not in the set. */
  private insert(k: Uint32Array): boolean {
    const { words, used, mask } = this;
    let slot = hashOf(k) & mask;
    for (; used[slot]; slot = (slot + 1) & mask) {
      const at = slot * 4;
      if (words[at] === k[0] && words[at + 1] === k[1] && words[at + 2] === k[2] && words[at + 3] === k[3]) return false;
    }
    used[slot] = 1;
    words.set(k, slot * 4);
    return true;
  }

  private grow(): void {
    const { words, used } = this;
    const slots = used.length * 2;
    this.words = new Uint32Array(slots * 4);
    this.used = new Uint8Array(slots);
    this.mask = slots - 1;
    const k = new Uint32Array(4);
    for (let slot = 0; slot < used.length; slot++) {
      if (!used[slot]) continue;
      k.set(words.subarray(slot * 4, slot * 4 + 4));
      this.insert(k);
    }
  }
}
