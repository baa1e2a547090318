import path from "node:path";
import type { NextConfig } from "next";
import { allowedOriginsSetting, pageCacheSetting } from "./lib/env";

const nextConfig: NextConfig = {
  // Server-only drivers stay out of the bundle: they use Node APIs and native fallbacks.
  serverExternalPackages: ["ioredis", "postgres", "bullmq", "pino", "prom-client"],
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
  cacheHandler: pageCacheSetting() === "redis" ? path.resolve("dist/cache-handler.mjs") : undefined,
  experimental: {
    /*
     * Next refuses a server action whose Origin is not the request's host unless it is
     * listed here; proxy.ts has already refused every origin but these and the app's own
     * (lib/http/origin.ts), so both checks agree. `next start` evaluates this file again,
     * so ALLOWED_ORIGINS set for the server is enough (measured).
     */
    serverActions: { allowedOrigins: [...allowedOriginsSetting()].map((origin) => new URL(origin).host) },
  },
};

export default nextConfig;
