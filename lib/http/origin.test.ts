import { NextRequest } from "next/server";
import { describe, expect, it, vi } from "vitest";
import { parseEnv } from "../env";
import { originAllowed } from "./origin";
import { route } from "./route";

// The wrapper is server-only; this test is the server.
vi.mock("server-only", () => ({}));

const OWN = "lobby.test:3000";
const headers = (h: Record<string, string>) => new Headers({ host: OWN, ...h });
const none = new Set<string>();

describe("CSRF: state-changing requests come from this deployment's pages (originAllowed)", () => {
  it.each([
    ["the app's own origin", { origin: `http://${OWN}` }, true],
    ["its own origin over https (TLS ends at a proxy)", { origin: `https://${OWN}` }, true],
    ["the public host a proxy keeps in X-Forwarded-Host", { origin: "https://chat.example.com", "x-forwarded-host": "chat.example.com, lobby.test" }, true],
    ["another site", { origin: "https://evil.example" }, false],
    ["our Host, but a forwarded host that is not ours (Next would refuse it: so do we)", { origin: `http://${OWN}`, "x-forwarded-host": "evil.example" }, false],
    ["an empty Origin", { origin: "" }, false],
    ["a host that only starts like ours", { origin: "http://lobby.test:3000.evil.example" }, false],
    ["another port of our host", { origin: "http://lobby.test:4000" }, false],
    ["Origin: null (sandboxed frame)", { origin: "null" }, false],
    ["an Origin that is not a URL", { origin: "garbage" }, false],
    ["a non-web scheme", { origin: "file://" }, false],
    ["no Origin, Sec-Fetch-Site cross-site", { "sec-fetch-site": "cross-site" }, false],
    ["no Origin, Sec-Fetch-Site same-site (a sibling subdomain)", { "sec-fetch-site": "same-site" }, false],
    ["no Origin, Sec-Fetch-Site same-origin", { "sec-fetch-site": "same-origin" }, true],
    ["no Origin, Sec-Fetch-Site none (typed by the user)", { "sec-fetch-site": "none" }, true],
    ["neither header (curl, tests, the bench)", {}, true],
    ["our Origin, whatever Sec-Fetch-Site claims", { origin: `http://${OWN}`, "sec-fetch-site": "cross-site" }, true],
  ])("%s: %s", (_label, h, allowed) => {
    expect(originAllowed(headers(h as Record<string, string>), none)).toBe(allowed);
  });

  it("ALLOWED_ORIGINS adds exact origins (scheme, host and port), validated and normalised at start", () => {
    const { allowedOrigins } = parseEnv({ ALLOWED_ORIGINS: "https://Chat.Example.com, http://localhost:8080" });
    expect([...allowedOrigins]).toEqual(["https://chat.example.com", "http://localhost:8080"]);
    expect(originAllowed(headers({ origin: "https://chat.example.com" }), allowedOrigins)).toBe(true);
    expect(originAllowed(headers({ origin: "http://chat.example.com" }), allowedOrigins)).toBe(false);
    expect(parseEnv({}).allowedOrigins.size).toBe(0);
    for (const bad of ["chat.example.com", "https://chat.example.com/app", "ftp://x.example", "https://u:p@x.example", "https://x.example/"]) {
      expect(() => parseEnv({ ALLOWED_ORIGINS: bad }), bad).toThrow(/ALLOWED_ORIGINS/);
    }
  });

  it("the route wrapper answers a foreign origin 403 before the handler runs, on every state-changing method", async () => {
    const handler = vi.fn(async () => new Response(null, { status: 204 }));
    const wrapped = route(handler);
    for (const method of ["POST", "PUT", "PATCH", "DELETE"]) {
      const res = await wrapped(new NextRequest(`http://${OWN}/api/x`, { method, headers: { origin: "https://evil.example" } }), { params: Promise.resolve({}) });
      expect(res.status, method).toBe(403);
      expect((await res.json()).error.code).toBe("cross_origin");
    }
    expect(handler).not.toHaveBeenCalled();
    // Reads are not checked: a cross-site GET changes nothing.
    const get = await wrapped(new NextRequest(`http://${OWN}/api/x`, { headers: { origin: "https://evil.example" } }), { params: Promise.resolve({}) });
    expect(get.status).toBe(204);
  });
});
