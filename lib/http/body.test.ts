import { NextRequest } from "next/server";
import { describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { AppError } from "../errors";
import { JSON_BODY_LIMIT, isJsonMediaType, refuseBody } from "./body";
import { readJson, route } from "./route";

// The wrapper is server-only; this test is the server.
vi.mock("server-only", () => ({}));

const MB = 1024 * 1024;

/** A 20 MB body produced on demand, counting what the reader actually pulled. */
function hugeBody(total = 20 * MB) {
  let pulled = 0;
  const chunk = new Uint8Array(16 * 1024).fill(0x61);
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (pulled >= total) return controller.close();
      pulled += chunk.byteLength;
      controller.enqueue(chunk);
    },
  });
  return { stream, pulled: () => pulled };
}

const post = (body: BodyInit | null, headers: Record<string, string> = { "content-type": "application/json" }) =>
  new NextRequest("http://lobby.test/api/x", { method: "POST", body, headers, duplex: "half" } as ConstructorParameters<typeof NextRequest>[1]);

async function appError(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
}

describe("JSON bodies: exact media type, limited while read", () => {
  it.each([
    ["application/json", true],
    ["Application/JSON; charset=UTF-8", true],
    ['application/json; charset="utf-8"', true],
    ["text/plain; charset=application/json", false],
    ["text/plain", false],
    ["application/jsonp", false],
    ["application/json-patch+json", false],
    ["multipart/form-data; x=application/json", false],
    ["application/json; charset=latin1", false],
    ["application/json, text/plain", false],
    ["", false],
  ])("%s → %s", (type, ok) => {
    expect(isJsonMediaType(type)).toBe(ok);
  });

  it("refuses text/plain; charset=application/json with 415 without reading it", async () => {
    const error = await appError(readJson(post('{"name":"x"}', { "content-type": "text/plain; charset=application/json" }), z.object({ name: z.string() })));
    expect([error.status, error.code]).toEqual([415, "unsupported_media_type"]);
  });

  it("stops reading a 20 MB chunked body once it passes 64 KB, and answers 413", async () => {
    const body = hugeBody();
    const error = await appError(readJson(post(body.stream), z.unknown()));
    expect([error.status, error.code]).toEqual([413, "too_large"]);
    // What was pulled: the limit and the chunk that crossed it (plus what the stream queued ahead).
    expect(body.pulled()).toBeLessThan(JSON_BODY_LIMIT + 4 * 16 * 1024);
  });

  it("refuses a declared Content-Length over the limit before reading a byte", async () => {
    const body = hugeBody();
    const request = post(body.stream, { "content-type": "application/json", "content-length": String(20 * MB) });
    const response = await route(async (r) => {
      await readJson(r, z.unknown());
      return new Response(null, { status: 204 });
    })(request, { params: Promise.resolve({}) });
    expect(response.status).toBe(413);
    // The connection closes after a 413, so the server stops reading the rest of the upload.
    expect(response.headers.get("connection")).toBe("close");
    expect(body.pulled()).toBeLessThanOrEqual(4 * 16 * 1024);
  });

  it("reads what fits, and refuses bytes that are not UTF-8 as invalid JSON", async () => {
    expect(await readJson(post(JSON.stringify({ body: "x".repeat(60 * 1024) })), z.object({ body: z.string() }))).toEqual({ body: "x".repeat(60 * 1024) });
    const error = await appError(readJson(post(new Uint8Array([0x22, 0xff, 0x22])), z.unknown()));
    expect(error.code).toBe("invalid_json");
  });

  it("a route that takes no body refuses any, reading at most one chunk", async () => {
    await refuseBody(post(null));
    const body = hugeBody();
    const error = await appError(refuseBody(post(body.stream)));
    expect([error.status, error.code]).toEqual([413, "body_not_allowed"]);
    expect(body.pulled()).toBeLessThanOrEqual(4 * 16 * 1024);
  });
});
