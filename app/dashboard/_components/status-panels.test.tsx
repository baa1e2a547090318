import { describe, expect, it } from "vitest";
import { replicaTile } from "./status-panels";

/* A read replica's tile on the dashboard: what an operator must tell apart at a glance. */
describe("a read replica's tile", () => {
  const base = { name: "replica-1:5432/lobby", up: true, breaker: "closed" as const, lagBytes: 1_024, replayAgeMs: 1_540, inRecovery: true };

  it("serving: its lag in bytes and the age of its last replay", () => {
    expect(replicaTile(base)).toEqual({ value: "Serving", detail: "replica-1:5432/lobby, 1,024 bytes behind, last replay 1.5 s ago", tone: "ok" });
  });

  it("its circuit open (too far behind, or failing): out of rotation, reads on the primary", () => {
    expect(replicaTile({ ...base, breaker: "open" })).toMatchObject({ value: "Out of rotation", tone: "warn" });
  });

  it("unreachable: down, with the error", () => {
    expect(replicaTile({ ...base, up: false, error: "connect ECONNREFUSED" })).toEqual({
      value: "Down",
      detail: "replica-1:5432/lobby: connect ECONNREFUSED; reads go to the primary",
      tone: "warn",
    });
  });

  it("not a replica of this primary: excluded for good, with the reason, whatever else it reports", () => {
    expect(replicaTile({ ...base, excluded: "another system identifier" })).toEqual({ value: "Excluded", detail: "replica-1:5432/lobby: another system identifier", tone: "bad" });
  });
});
