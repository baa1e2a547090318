/*
 * One full SCAN as ranges that can run at the same time.
 *
 * Redis walks its key table in reverse-binary order of the bucket index (dict.c, dictScan):
 * the cursor's lowest bit is the highest bit of the position in the walk, whatever the
 * table's size, and the order survives a resize (that is how SCAN keeps its guarantee while
 * the table grows or shrinks). So the walk from cursor 0 covers the first half of the walk
 * until it returns an odd cursor, and the walk from cursor 1 covers the second half until
 * it returns 0. Each keeps SCAN's guarantee for its half (a key present from start to end is
 * returned), the two may overlap (a key twice, as SCAN itself may), and they can run side
 * by side: each call of a lone SCAN waits for the previous reply's cursor, and Redis idles
 * meanwhile; with two, Redis answers one while this process reads the other's reply.
 */

/** A part of a full SCAN: where it starts, and whether a returned cursor ends it. */
export interface ScanRange {
  start: string;
  ends(next: string): boolean;
}

/** The last decimal digit's parity is the cursor's lowest bit (cursors are unsigned 64-bit decimals). */
const isOdd = (cursor: string) => (cursor.charCodeAt(cursor.length - 1) - 48) % 2 === 1;

/** The two halves of a full SCAN of one node. */
export function scanHalves(): ScanRange[] {
  return [
    { start: "0", ends: (next) => next === "0" || isOdd(next) },
    { start: "1", ends: (next) => next === "0" },
  ];
}

/**
 * The halves of every master of a cluster, for a store whose cursor is `<master>:<cursor>`
 * and moves on to the next master (or to "0") once one is done: each range stays on its
 * own master.
 */
export function clusterScanHalves(masters: number): ScanRange[] {
  return Array.from({ length: masters }, (_, i) =>
    scanHalves().map(({ start, ends }) => ({
      start: `${i}:${start}`,
      ends: (next: string) => {
        const m = /^(\d+):(\d+)$/.exec(next);
        return !m || Number(m[1]) !== i || ends(m[2]!);
      },
    })),
  ).flat();
}
