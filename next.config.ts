import type { NextConfig } from "next";

const nextConfig: NextConfig = {
  // Server-only drivers stay out of the bundle: they use Node APIs and native fallbacks.
  serverExternalPackages: ["ioredis", "postgres", "bullmq", "pino", "prom-client"],
  poweredByHeader: false,
};

export default nextConfig;
