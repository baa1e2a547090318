import { describe, expect, it } from "vitest";
import { Lease } from "./lease";

/* The lease's own rules (./lease.ts); log.test.ts drives it through real reads of the log. */
describe("Lease", () => {
  it("is valid for its length after the start of the read that renewed it, never longer", () => {
    const lease = new Lease(1_000);
    expect(lease.valid).toBe(false);
    lease.renew(performance.now());
    expect(lease.valid).toBe(true);
    lease.renew(performance.now() - 2_000); // a read that began long ago cannot shorten it...
    expect(lease.valid).toBe(true);
    lease.revoke();
    lease.renew(performance.now() - 1_001); // ...nor revive it
    expect(lease.valid).toBe(false);
  });

  it("a reader of a lapsed lease waits for the next renewal, not for its whole wait", async () => {
    const lease = new Lease(1_000);
    lease.renew(performance.now() - 1_500); // lapsed: the process read the log too late
    let woke = false;
    const waiting = lease.whenValid(60_000).then(() => (woke = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(woke).toBe(false);
    lease.renew(performance.now() - 1_200); // a read that ended too late to renew: keep waiting
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(woke).toBe(false);
    lease.renew(performance.now());
    await waiting;
    expect(lease.valid).toBe(true);
  });

  it("a failed read of the log ends every wait at once, and the next readers do not wait", async () => {
    const lease = new Lease(1_000);
    const waiting = lease.whenValid(60_000);
    lease.fail();
    await waiting;
    await lease.whenValid(60_000); // would outlast the test's timeout if it waited
    expect(lease.valid).toBe(false);
  });

  it("a wait ends after its bound when no read of the log comes", async () => {
    const lease = new Lease(1_000);
    await lease.whenValid(30);
    expect(lease.valid).toBe(false);
  });
});
