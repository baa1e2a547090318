import { describe, expect, it } from "vitest";
import { holdNextPass, probePass, probeSnapshot } from "./probe";

describe("bench probe", () => {
  it("counts passes only when enabled, and holds exactly the next pass for the time armed", async () => {
    const start = probeSnapshot("load");
    await probePass("load", false);
    expect(probeSnapshot("load").passes).toBe(start.passes);

    holdNextPass("load", 150);
    const t0 = performance.now();
    const held = probePass("load", true);
    const during = probeSnapshot("load");
    expect(during.holding).toBe(1);
    expect(during.finished).toBe(start.finished);
    await held;
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140);

    const t1 = performance.now();
    await probePass("load", true); // the hold was consumed
    expect(performance.now() - t1).toBeLessThan(50);
    expect(probeSnapshot("load")).toMatchObject({ passes: start.passes + 2, finished: start.finished + 2, holding: 0, holdNextMs: 0 });
    // The other point is untouched.
    expect(probeSnapshot("render").passes).toBe(0);
  });
});
