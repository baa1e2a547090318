import path from "node:path";
import type { NextConfig } from "next";
import { allowedOriginsSetting, benchPagePeerSetting, pageCacheSetting } from "./lib/env";

const development = process.env.NODE_ENV === "development";

/*
 * Content-Security-Policy, one static policy for every response (README, Security).
 *
 * The home page is rendered once and served to everyone from the shared page cache, so it
 * cannot carry a per-request nonce; and Next's inline scripts (the RSC payload,
 * `self.__next_f.push(...)`) hold the page's data, so their hashes change with every
 * write. Inline scripts are therefore allowed ('unsafe-inline'): what stops injected
 * markup from running is React's escaping (user text is never HTML here). What the policy
 * does enforce: scripts, styles, fonts, images and connections from this origin only (an
 * injected `<script src>`, a stylesheet or a beacon to another host is blocked), no inline
 * event handlers (`script-src-attr 'none'`: the usual payload of an HTML injection), no
 * plugins, no `<base>` rewriting, forms posting only here, and no framing at all.
 * Style attributes stay allowed (avatars set a colour through one); `<style>` elements do
 * not. Development adds 'unsafe-eval', which React's dev build needs.
 */
const contentSecurityPolicy = [
  "default-src 'self'",
  `script-src 'self' 'unsafe-inline'${development ? " 'unsafe-eval'" : ""}`,
  "script-src-attr 'none'",
  "style-src 'self'",
  "style-src-attr 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

/** Sent with every response: pages (cached or not), route handlers, static files, 404s. */
const securityHeaders = [
  { key: "Content-Security-Policy", value: contentSecurityPolicy },
  // frame-ancestors for browsers that predate it.
  { key: "X-Frame-Options", value: "DENY" },
  { key: "X-Content-Type-Options", value: "nosniff" },
  // Other sites learn the origin at most, never a room id or a search query in the path.
  { key: "Referrer-Policy", value: "strict-origin-when-cross-origin" },
  // A page this one opens (a link in a message) gets no handle on it, and the reverse.
  { key: "Cross-Origin-Opener-Policy", value: "same-origin" },
  // A production build is meant to be served over HTTPS (a proxy in front terminates TLS);
  // browsers ignore the header on plain HTTP, so a local `npm start` is unaffected. One
  // year, this host only: subdomains and preload lists are the operator's call, at the proxy.
  ...(development ? [] : [{ key: "Strict-Transport-Security", value: "max-age=31536000" }]),
];

/*
 * The benchmark's peers scenario (bench/support/peers.ts) builds and starts the app with
 * BENCH_PAGE_PEER set: another project's cache handler, in a build directory of its own, so
 * Lobby's `.next` is never touched. Refused unless BENCH_ROUTES=true (lib/env.ts).
 */
const benchPeer = benchPagePeerSetting();

const nextConfig: NextConfig = {
  ...(benchPeer ? { distDir: benchPeer.distDir } : {}),
  // Server-only drivers stay out of the bundle: they use Node APIs and native fallbacks.
  serverExternalPackages: ["ioredis", "postgres", "bullmq", "pino", "prom-client", "bentocache", "redis"],
  poweredByHeader: false,
  /*
   * Next hashes every HTML response in JavaScript to make its ETag (FNV-1a, one character
   * at a time): a CPU profile of a cached 50-room home page put a third of the server's
   * time there. The pages change on writes and carry their own cache headers.
   */
  generateEtags: false,
  /*
   * Rendered pages live in Redis, shared by every instance, under the same version guard
   * as the data cache (lib/page-cache). Next imports the handler at run time, outside its
   * bundles, so `npm run build` compiles it to dist/ first.
   */
  cacheHandler: benchPeer ? path.resolve(benchPeer.handler) : pageCacheSetting() === "redis" ? path.resolve("dist/cache-handler.mjs") : undefined,
  experimental: {
    /*
     * Next refuses a server action whose Origin is not the request's host unless it is
     * listed here; proxy.ts has already refused every origin but these and the app's own
     * (lib/http/origin.ts), so both checks agree. `next start` evaluates this file again,
     * so ALLOWED_ORIGINS set for the server is enough (measured).
     */
    serverActions: { allowedOrigins: [...allowedOriginsSetting()].map((origin) => new URL(origin).host) },
  },
  async headers() {
    return [{ source: "/:path*", headers: securityHeaders }];
  },
};

export default nextConfig;
