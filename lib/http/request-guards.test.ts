import { NextRequest } from "next/server";
import { describe, expect, it } from "vitest";
import { guardRequest } from "./request-guards";

const OWN = "http://lobby.test";
const post = (path: string, headers: Record<string, string>, body?: string) =>
  new NextRequest(`${OWN}${path}`, { method: "POST", headers: { host: "lobby.test", ...headers }, body });

async function answer(request: NextRequest) {
  const res = await guardRequest(request);
  return res && { status: res.status, code: ((await res.json()) as { error: { code: string } }).error.code };
}

describe("proxy guards: 4xx where Next would answer 500 or run a forged post", () => {
  it("refuses a path with a malformed percent-escape (Next fails to decode the segment: 500)", async () => {
    for (const path of ["/api/rooms/by-id/%C0%AF", "/api/rooms/by-id/%", "/rooms/%E2%80"]) {
      expect(await answer(new NextRequest(`${OWN}${path}`)), path).toEqual({ status: 400, code: "invalid_path" });
    }
    expect(await answer(new NextRequest(`${OWN}/rooms/%41`))).toBeUndefined();
  });

  it("refuses server actions and form posts from another origin, and lets page views through", async () => {
    expect(await answer(post("/", { origin: "https://evil.example", "next-action": "ab12", "content-type": "text/plain" }, "[]"))).toEqual({ status: 403, code: "cross_origin" });
    expect(await answer(post("/", { origin: "", "next-action": "ab12", "content-type": "text/plain" }, "[]"))).toEqual({ status: 403, code: "cross_origin" });
    expect(await answer(post("/", { "sec-fetch-site": "cross-site", "content-type": "multipart/form-data; boundary=b" }, "--b--\r\n"))).toEqual({ status: 403, code: "cross_origin" });
    expect(await answer(new NextRequest(`${OWN}/`, { headers: { origin: "https://evil.example" } }))).toBeUndefined();
  });

  it("refuses an action envelope Next cannot decode (500 there) and passes one it can", async () => {
    const own = { origin: OWN, "next-action": "ab12", "content-type": "text/plain;charset=UTF-8" };
    for (const body of ["garbage", '{"a":1}', "5", "[", "\u00ff"]) {
      expect(await answer(post("/", own, body)), body).toEqual({ status: 400, code: "invalid_action_request" });
    }
    expect(await answer(post("/", own, '[{"status":"idle"},"$K1"]'))).toBeUndefined();
    const form = { origin: OWN, "content-type": "multipart/form-data; boundary=b" };
    expect(await answer(post("/", form, "[[[[not multipart"))).toEqual({ status: 400, code: "invalid_action_request" });
    expect(await answer(post("/", form, '--b\r\nContent-Disposition: form-data; name="name"\r\n\r\nRoom\r\n--b--\r\n'))).toBeUndefined();
    expect(await answer(post("/", { ...own, "content-length": String(2 * 1024 * 1024) }, "[]"))).toEqual({ status: 413, code: "too_large" });
  });
});
