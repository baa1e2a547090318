import { describe, expect, it } from "vitest";
import { tcpProxy } from "../../tests/support/net-faults";
import { PG_ADMIN_URL } from "../../tests/support/services";
import { createDb } from "./client";

type PoolOptions = { shared: { retries: number }; backoff: (failures: number) => number };

describe("createDb", () => {
  it("after an outage of many failed connects, a connection tries again well within a read's deadline once Postgres is back", async () => {
    const proxy = await tcpProxy(Number(new URL(PG_ADMIN_URL).port || 5432));
    const url = new URL(PG_ADMIN_URL);
    url.port = String(proxy.port);
    const handle = createDb(url.toString(), { max: 4 });
    const options = handle.sql.options as unknown as PoolOptions;
    try {
      await handle.sql`select 1`;
      await proxy.cut(); // refused, as when Postgres is down
      // Requests keep coming during the outage: each fails, and the pool counts its failures in a row.
      while (options.shared.retries < 10) await Promise.all(Array.from({ length: 4 }, () => handle.sql`select 1`.catch(() => {})));
      // The wait before a connection that failed tries again (postgres.js's own: 10-20 s by now,
      // reset only by a successful connect, so the first requests after the outage failed).
      const waits = Array.from({ length: 100 }, () => options.backoff(options.shared.retries));
      // At most 1 s: a third of a read's 3 s deadline (lib/cache/cache-aside/outage.ts).
      expect(Math.max(...waits)).toBeLessThanOrEqual(1);
      await proxy.restore();
      expect(await handle.sql`select 1 as one`).toEqual([{ one: 1 }]);
    } finally {
      await handle.close();
      await proxy.close();
    }
  });
});
