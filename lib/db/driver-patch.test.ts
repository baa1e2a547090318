import postgres from "postgres";
import { afterAll, describe, expect, it } from "vitest";
import { PG_ADMIN_URL } from "../../tests/support/services";

/*
 * The patch of postgres.js in patches/ (porsager/postgres#1154, #1208): a query sent on a
 * connection whose socket has closed is rejected, instead of the driver writing to the
 * null socket from a setImmediate (an uncaught TypeError that ends the process; under
 * vitest, an unhandled error that fails the run, and a query that never settles).
 * A reserved connection is the case that hits it: it is not rotated out of a pool.
 */

const admin = postgres(PG_ADMIN_URL, { max: 1, onnotice: () => {} });

afterAll(async () => {
  await admin.end({ timeout: 5 });
});

describe("postgres.js, patched", () => {
  it("a query on a reserved connection whose backend was terminated rejects with CONNECTION_CLOSED", async () => {
    let closed!: () => void;
    const closedOnce = new Promise<void>((resolve) => (closed = resolve));
    const sql = postgres(PG_ADMIN_URL, { max: 1, onnotice: () => {}, onclose: () => closed() });
    try {
      const reserved = await sql.reserve();
      const [row] = await reserved<{ pid: number }[]>`select pg_backend_pid() as pid`;
      await admin`select pg_terminate_backend(${row!.pid})`;
      await closedOnce; // the driver saw the socket close
      await expect(reserved`select 1`).rejects.toMatchObject({ code: "CONNECTION_CLOSED" });
      reserved.release();
    } finally {
      await sql.end({ timeout: 1 });
    }
  });
});
