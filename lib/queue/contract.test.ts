import { UnrecoverableError } from "bullmq";
import { describe, expect, it } from "vitest";
import { JOB, parsePayload, queueConnection, queuePrefix } from "./contract";

describe("queue contract", () => {
  it("accepts valid payloads and fills nothing in", () => {
    expect(parsePayload(JOB.reconcile, { force: true, dryRun: false, reason: "cli" })).toEqual({ force: true, dryRun: false, reason: "cli" });
    expect(parsePayload(JOB.reconcile, undefined)).toEqual({});
    expect(parsePayload(JOB.warm, { rooms: 10 })).toEqual({ rooms: 10 });
  });

  it("rejects bad payloads and unknown jobs as unrecoverable", () => {
    for (const [name, data] of [
      [JOB.reconcile, { force: "yes" }],
      [JOB.reconcile, { force: true, extra: 1 }],
      [JOB.warm, { rooms: -1 }],
      ["drop-everything", {}],
    ] as const) {
      expect(() => parsePayload(name, data)).toThrow(UnrecoverableError);
    }
  });

  it("derives BullMQ's prefix from REDIS_KEY_PREFIX and connects with the worker's options", () => {
    expect(queuePrefix("")).toBe("{bull}");
    expect(queuePrefix("staging:")).toBe("staging:{bull}");
    expect(queueConnection({ driver: "ioredis", url: "redis://127.0.0.1:6379" }).connection).toMatchObject({ url: "redis://127.0.0.1:6379", maxRetriesPerRequest: null });
  });
});
