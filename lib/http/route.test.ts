import { NextRequest } from "next/server";
import { describe, expect, it, vi } from "vitest";
import { metrics } from "../observability/metrics";
import { recordTiming } from "../observability/server-timing";
import { requestId, route } from "./route";

// The wrapper is server-only; this test is the server.
vi.mock("server-only", () => ({}));

const get = (headers: Record<string, string> = {}) => new NextRequest("http://localhost/api/x", { headers });
const noParams = { params: Promise.resolve({}) };

describe("route wrapper: request ids", () => {
  it("keeps a caller's well-formed x-request-id and echoes it", async () => {
    const handler = route(async () => {
      recordTiming("cache", 1.5, "hit");
      return new Response("ok");
    });
    const response = await handler(get({ "x-request-id": "lb-1234abcd" }), noParams);
    expect(response.headers.get("x-request-id")).toBe("lb-1234abcd");
    expect(response.headers.get("server-timing")).toMatch(/^cache;desc="hit";dur=1\.50, total;dur=/);
  });

  it("generates one for a missing or malformed id (no header injection, no unbounded ids)", () => {
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
    expect(requestId(get())).toMatch(uuid);
    expect(requestId(get({ "x-request-id": "short" }))).toMatch(uuid);
    expect(requestId(get({ "x-request-id": "has spaces in it" }))).toMatch(uuid);
    expect(requestId(get({ "x-request-id": "x".repeat(200) }))).toMatch(uuid);
  });

  it("counts an unexpected error for the dashboard and answers 503 with the id", async () => {
    const value = async () => (await metrics().requestErrors.get()).values.find((v) => v.labels.kind === "api")?.value ?? 0;
    const before = await value();
    const response = await route(async () => {
      throw new Error("boom");
    })(get(), noParams);
    expect(response.status).toBe(503);
    expect(response.headers.get("x-request-id")).toBeTruthy();
    expect(await value()).toBe(before + 1);
  });
});
