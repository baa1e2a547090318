import { describe, expect, it } from "vitest";
import { PG_RECONNECT_MS, fivexx } from "./report";

describe("the checker's 5xx classification", () => {
  const outage = { start: 10_000, end: 15_000 };
  const write = (start: number, end: number, status: number) => ({ start, end, status }) as never;

  it("a 5xx overlapping the outage is during it, one in the reconnect window after it is apart, any other fails the run", () => {
    const writes = [
      write(9_900, 12_000, 503), // began just before the outage, caught by it
      write(16_000, 21_000, 503), // began 1 s after the restore: reconnecting
      write(15_000 + PG_RECONNECT_MS + 1, 15_000 + PG_RECONNECT_MS + 500, 500), // well after: outside
      write(2_000, 2_100, 500), // before: outside
      write(3_000, 3_100, 201),
    ];
    expect(fivexx({ verdicts: [], writes, pgOutage: outage })).toEqual({ during: 1, reconnecting: 1, outside: 2 });
  });
});
