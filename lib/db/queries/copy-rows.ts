/*
 * The live list's COPY text, turned into the JSON the read path caches for each room. Pure
 * (no database, no drizzle), so it runs in the list thread (copy-rows.worker.ts) and loads
 * there in milliseconds; room-reconciliation.test.ts holds it to the read path's own JSON.
 */

/**
 * A batch of live rooms as the list thread hands it over: their JSON as bytes, and numbers in
 * typed arrays, all transferred rather than copied. No string larger than a room: a string
 * past V8's large-object size (128 KB) lives in the old generation from birth, and a batch's
 * worth a batch left hundreds of megabytes of garbage waiting for a full collection (peak RSS
 * 862 MB at 1M rooms, against 390 MB before the thread).
 */
export interface PackedRooms {
  listVersion: number;
  /** The rooms' JSON in UTF-8, in order, a comma between (its own ArrayBuffer; the view is the used part). */
  bytes: Uint8Array;
  /** Where each room's JSON starts in `bytes`, and (last) where the next would: n + 1 entries. */
  starts: Int32Array;
  /** Every room's JSON is ASCII (so a byte is a character). */
  ascii: boolean;
  versions: Float64Array;
  /** createdAt in ms (the list's order). */
  createdMs: Float64Array;
  /** Last activity in ms. */
  activity: Float64Array;
}

/**
 * COPY's text, a chunk at a time, into batches of `batchSize` rooms. A line at a time, each
 * decoded on its own: a newline byte is never inside a UTF-8 character.
 */
export class LiveListParser {
  private rest: Buffer | null = null;
  private listVersion: number | undefined;
  private batch: BatchWriter;

  constructor(private readonly batchSize: number) {
    this.batch = new BatchWriter(batchSize);
  }

  /** The next chunk of COPY text; returns the batches it completes. */
  push(chunk: Uint8Array): PackedRooms[] {
    const bytes = this.rest ? Buffer.concat([this.rest, chunk]) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    const done: PackedRooms[] = [];
    let start = 0;
    for (let end = bytes.indexOf(10, start); end !== -1; end = bytes.indexOf(10, start)) {
      const line = bytes.toString("utf8", start, end);
      // A line of as many characters as bytes is ASCII, and so is its JSON (escapes are ASCII).
      this.add(copyFields(line), line.length === end - start);
      start = end + 1;
      if (this.batch.count === this.batchSize) done.push(this.pack());
    }
    // A copy: the chunk's memory is not kept for a line's tail.
    this.rest = start < bytes.length ? Buffer.from(bytes.subarray(start)) : null;
    return done;
  }

  /** The COPY has ended: its last batch (if any rooms are left) and the list version (undefined for an empty list). */
  end(): { last: PackedRooms | undefined; listVersion: number | undefined } {
    if (this.rest) throw new Error("the live list's COPY ended inside a row");
    return { last: this.batch.count > 0 ? this.pack() : undefined, listVersion: this.listVersion };
  }

  private add(f: string[], ascii: boolean): void {
    this.listVersion ??= Number(f[9]);
    const createdAt = isoTimestamp(f[6]!);
    const version = Number(f[5]);
    // id is a uuid column (hex and hyphens), version a number, the times ISO text: none needs escaping.
    // The keys in the read path's order (lib/db/queries/rooms.ts, roomColumns): JSON text depends on it.
    const json = `{"id":"${f[0]}","name":${jsonString(f[1]!)},"description":${jsonString(f[2]!)},"ownerId":${jsonString(f[3]!)},"ownerName":${jsonString(f[4]!)},"version":${version},"createdAt":"${createdAt}","updatedAt":"${isoTimestamp(f[7]!)}"}`;
    this.batch.add(json, ascii, version, Date.parse(createdAt), Number(f[8]));
  }

  private pack(): PackedRooms {
    const packed = this.batch.pack(this.listVersion!);
    this.batch = new BatchWriter(this.batchSize);
    return packed;
  }
}

/** One batch being written: each room's JSON straight into the bytes, a comma between. */
class BatchWriter {
  count = 0;
  private bytes: Buffer;
  private at = 0;
  private ascii = true;
  private readonly starts: Int32Array;
  private readonly versions: Float64Array;
  private readonly createdMs: Float64Array;
  private readonly activity: Float64Array;

  constructor(size: number) {
    // Not from Buffer's shared pool: the memory is transferred to the other thread.
    this.bytes = Buffer.allocUnsafeSlow(Math.max(1024, size * 320));
    this.starts = new Int32Array(size + 1);
    this.versions = new Float64Array(size);
    this.createdMs = new Float64Array(size);
    this.activity = new Float64Array(size);
  }

  add(json: string, ascii: boolean, version: number, createdMs: number, activity: number): void {
    const i = this.count++;
    if (i > 0) this.bytes[this.at++] = 44; // ,
    // At most 3 bytes a UTF-16 unit.
    if (this.at + json.length * 3 > this.bytes.length) this.grow(this.at + json.length * 3);
    this.starts[i] = this.at;
    this.at += this.bytes.write(json, this.at);
    this.ascii &&= ascii;
    this.versions[i] = version;
    this.createdMs[i] = createdMs;
    this.activity[i] = activity;
  }

  pack(listVersion: number): PackedRooms {
    const n = this.count;
    // The end of the last room, as if a comma followed it, like every other.
    this.starts[n] = this.at + 1;
    return {
      listVersion,
      bytes: new Uint8Array(this.bytes.buffer, 0, this.at),
      starts: this.starts.subarray(0, n + 1),
      ascii: this.ascii,
      versions: this.versions.subarray(0, n),
      createdMs: this.createdMs.subarray(0, n),
      activity: this.activity.subarray(0, n),
    };
  }

  private grow(needed: number): void {
    const bytes = Buffer.allocUnsafeSlow(Math.max(needed, this.bytes.length * 2));
    this.bytes.copy(bytes, 0, 0, this.at);
    this.bytes = bytes;
  }
}

/**
 * One line of COPY's text format as its fields: tab-separated; inside a field a backslash
 * escapes itself, the tab and newline it stands for, and a few control characters (COPY TO
 * emits no other sequence); `\N` alone is NULL (no column here is nullable).
 */
export function copyFields(line: string): string[] {
  const fields = line.split("\t");
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i]!;
    if (field.includes("\\")) fields[i] = field.replace(/\\(.)/g, (_, c: string) => COPY_ESCAPES[c] ?? c);
  }
  return fields;
}

const COPY_ESCAPES: Record<string, string> = { b: "\b", f: "\f", n: "\n", r: "\r", t: "\t", v: "\v" };

/** What JSON.stringify escapes: quote, backslash, control characters, surrogates (lone ones; pairs are merely passed on to it). */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** JSON.stringify(text), without its call for text that needs no escape (most names). */
const jsonString = (text: string) => (NEEDS_ESCAPE.test(text) ? JSON.stringify(text) : `"${text}"`);

const PG_UTC = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?\+00$/;

/**
 * What `JSON.stringify(new Date(text))` gives for a timestamptz as postgres.js hands it
 * over (drizzle turns off its date parsing, and its mapper is `new Date(text)`), without
 * building the Date: for the common UTC form the milliseconds are the first three fraction
 * digits (a Date truncates, it does not round); any other form goes through Date.
 */
export function isoTimestamp(value: string | Date): string {
  if (typeof value !== "string") return value.toISOString();
  // The usual case, microseconds in full (`2026-12-07 13:25:32.561234+00`: the one form of 29 characters), by position.
  if (value.length === 29 && PG_UTC.test(value)) {
    return `${value.slice(0, 10)}T${value.slice(11, 23)}Z`;
  }
  const m = PG_UTC.exec(value);
  if (!m) return new Date(value).toISOString();
  return `${m[1]}T${m[2]}.${((m[3] ?? "") + "000").slice(0, 3)}Z`;
}
