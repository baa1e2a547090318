import { describe, expect, it } from "vitest";
import { createTestDatabase } from "../../../tests/support/test-env";
import { isoTimestamp } from "./room-reconciliation";

/** isoTimestamp must give, byte for byte, what the read path's JSON holds: Date's toISOString of drizzle's Date. */
describe("isoTimestamp", () => {
  it("matches Date for Postgres's own timestamptz text, microseconds and all", async () => {
    const db = await createTestDatabase();
    try {
      const rows = await db.sql<{ t: string }[]>`
        select (timestamptz '2026-11-21 21:00:56.000000+00' + (i * 7919 || ' microseconds')::interval)::text as t
        from generate_series(0, 3000) i
        union all select '2026-11-21 21:00:56.999999+00'
        union all select '2026-11-21 23:59:59.9995+00'`;
      for (const { t } of rows) expect(isoTimestamp(t)).toBe(new Date(t).toISOString());
    } finally {
      await db.drop();
    }
  });

  it("falls back to Date for forms other than UTC", () => {
    for (const t of ["2026-11-21 23:00:56.123456+02", "2026-11-21 21:00:56+05:30", "2026-11-21T21:00:56.123Z"]) {
      expect(isoTimestamp(t)).toBe(new Date(t).toISOString());
    }
    const d = new Date();
    expect(isoTimestamp(d)).toBe(d.toISOString());
  });
});
