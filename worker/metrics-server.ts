import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type pino from "pino";
import type { Registry } from "prom-client";
import { bearerMatches } from "../lib/observability/metrics-auth";

/** Options of {@link startMetricsServer}. */
export interface MetricsServerOptions {
  registry: Registry;
  /** Port to listen on; 0 picks a free one (tests). */
  port: number;
  /** Interface to bind. Default all interfaces, so a Prometheus in another container can scrape. */
  host?: string;
  /** When set, scrapes need `Authorization: Bearer <token>` (METRICS_TOKEN, as for `/api/metrics`). */
  token?: string;
  log: pino.Logger;
}

export interface MetricsServer {
  /** The port actually bound. */
  port: number;
  close(): Promise<void>;
}

/**
 * The worker's Prometheus endpoint: `GET /metrics` serves this process's registry
 * (reconciliation runs, drift, durations, the warm-up's cache reads, Postgres queries).
 * The worker serves no other HTTP, so a bare node:http server is all it needs.
 */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const { registry, token, log } = options;
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? "/").split("?")[0];
    if (path !== "/metrics") return void response.writeHead(404, { "Content-Type": "text/plain" }).end("not found\n");
    if (request.method !== "GET" && request.method !== "HEAD") {
      return void response.writeHead(405, { Allow: "GET, HEAD", "Content-Type": "text/plain" }).end("method not allowed\n");
    }
    if (token && !bearerMatches(request.headers.authorization, token)) {
      return void response.writeHead(401, { "Content-Type": "text/plain", "WWW-Authenticate": "Bearer" }).end("unauthorized\n");
    }
    registry.metrics().then(
      (text) => {
        response.writeHead(200, { "Content-Type": registry.contentType, "Cache-Control": "no-store" });
        response.end(request.method === "HEAD" ? undefined : text);
      },
      (error: unknown) => {
        log.warn({ err: error }, "metrics collection failed");
        response.writeHead(500, { "Content-Type": "text/plain" }).end("metrics collection failed\n");
      },
    );
  });
  // Scrapers hold keep-alive connections; without this, close() would wait for them.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
