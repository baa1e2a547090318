import path from "node:path";
import { expect, test, type Page, type TestInfo } from "@playwright/test";
import { BASE_URL, METRICS_TOKEN } from "./env";
import { roomCard, roomIdByName, roomLink, seededRooms, uniqueName } from "./support";

/**
 * Security headers (README, Security) on every kind of response, and pages that run under
 * the Content-Security-Policy without a single violation, with JavaScript on and off.
 */

const expected: Record<string, RegExp> = {
  "content-security-policy": /(^|; )frame-ancestors 'none'(;|$)/,
  "x-frame-options": /^DENY$/,
  "x-content-type-options": /^nosniff$/,
  "referrer-policy": /^strict-origin-when-cross-origin$/,
  "cross-origin-opener-policy": /^same-origin$/,
  // The e2e servers are production builds.
  "strict-transport-security": /^max-age=\d{7,}$/,
};

function expectSecurityHeaders(headers: Headers | Record<string, string>, what: string) {
  const get = (name: string) => (headers instanceof Headers ? headers.get(name) : headers[name]) ?? "";
  for (const [name, pattern] of Object.entries(expected)) expect(get(name), `${name} on ${what}`).toMatch(pattern);
  for (const directive of ["default-src 'self'", "script-src-attr 'none'", "object-src 'none'", "base-uri 'none'", "form-action 'self'", "connect-src 'self'"]) {
    expect(get("content-security-policy"), `${directive} on ${what}`).toContain(directive);
  }
}

test("every kind of response carries the security headers, a page-cache hit included", async () => {
  const roomId = await roomIdByName(seededRooms()[0]!);
  // Response kinds: the static home page (the second from the Redis page cache), dynamic
  // pages, route handlers, errors, answers made by proxy.ts (401 and a rewritten 404).
  const paths = ["/", "/", "/rooms", `/rooms/${roomId}`, "/search?q=meetup", "/api/rooms", "/api/session", "/api/health", "/api/search?q=", "/no-such-page", "/rooms/not-a-room", "/dashboard", "/api/metrics"];
  let asset = "";
  for (const p of paths) {
    const response = await fetch(BASE_URL + p);
    expectSecurityHeaders(response.headers, `${p} (${response.status})`);
    const text = await response.text();
    asset ||= /\/_next\/static\/[^"]+\.js/.exec(text)?.[0] ?? "";
  }
  // A page-cache hit is what a second visitor gets: the same headers (Next applies them to
  // whatever answers the route, its own caches and the cache handler's entries alike).
  const again = await fetch(`${BASE_URL}/`);
  expect(again.headers.get("x-nextjs-cache")).toBe("HIT");
  expectSecurityHeaders(again.headers, "/ (page-cache hit)");

  expect(asset).not.toBe("");
  const script = await fetch(BASE_URL + asset);
  expect(script.status).toBe(200);
  expectSecurityHeaders(script.headers, asset);

  // A Server-Sent Events stream: headers only, then hang up.
  const abort = new AbortController();
  const stream = await fetch(`${BASE_URL}/api/events`, { signal: abort.signal });
  expect(stream.headers.get("content-type")).toContain("text/event-stream");
  expectSecurityHeaders(stream.headers, "/api/events");
  abort.abort();
});

/** Collects CSP violations: the DOM event (registered before any page script) and Chromium's console report. */
async function watchCsp(page: Page): Promise<string[]> {
  const violations: string[] = [];
  page.on("console", (message) => {
    if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
  });
  await page.exposeFunction("__cspViolation", (text: string) => violations.push(text));
  await page.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => {
      void (window as unknown as { __cspViolation(t: string): Promise<void> }).__cspViolation(
        `${e.effectiveDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}`,
      );
    });
  });
  return violations;
}

const shot = (page: Page, info: TestInfo, name: string) =>
  page.screenshot({ path: path.join(info.project.outputDir, `${name}.png`), fullPage: true, animations: "disabled" });

test.describe("with JavaScript", () => {
  test.use({ httpCredentials: { username: "ops", password: METRICS_TOKEN } });

  test("no page violates the CSP: loading, hydrating, live streams, forms, actions", async ({ page }, info) => {
    const violations = await watchCsp(page);
    const roomId = await roomIdByName(seededRooms()[1]!);

    await page.goto("/");
    await expect(page.getByTestId("viewer-name")).toBeVisible(); // hydrated, the session fetched
    // A form handled by a server action, in place.
    const name = uniqueName("CSP Check");
    await page.getByLabel("Name", { exact: true }).fill(name);
    await page.getByRole("button", { name: "Create room" }).click();
    await expect(roomCard(page, name).getByText("Yours")).toBeVisible();
    await shot(page, info, "csp-home");

    await roomLink(page, name).click();
    await expect(page.locator('.chat-body[data-stream="ready"]')).toBeAttached(); // its event stream is open
    const box = page.getByLabel("Message", { exact: true });
    await box.fill("Sent under the content security policy");
    await box.press("Enter");
    await expect(page.getByRole("list", { name: "Messages" })).toContainText("Sent under the content security policy");
    await shot(page, info, "csp-room");

    for (const p of [`/rooms/${roomId}`, "/rooms", "/search?q=meetup", "/dashboard", "/no-such-page"]) {
      await page.goto(p, { waitUntil: "load" });
      if (p !== "/dashboard" && p !== "/no-such-page") await expect(page.getByTestId("viewer-name")).toBeVisible();
    }
    expect(violations).toEqual([]);
  });
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("no page violates the CSP, and a form posts", async ({ page }, info) => {
    const violations = await watchCsp(page);
    const roomId = await roomIdByName(seededRooms()[1]!);
    for (const p of ["/", `/rooms/${roomId}`, "/rooms", "/search?q=meetup", "/no-such-page"]) {
      await page.goto(p, { waitUntil: "load" });
    }
    await page.goto("/");
    const name = uniqueName("CSP No-JS");
    await page.getByLabel("Name", { exact: true }).fill(name);
    await page.getByRole("button", { name: "Create room" }).click();
    await expect(roomLink(page, name)).toBeVisible();
    await shot(page, info, "csp-home-no-js");
    expect(violations).toEqual([]);
  });
});
