import http from "node:http";
import { SESSION_COOKIE, encodeSession } from "../lib/session/session";
import { E2E_PORT, appEnv } from "./env";
import { db } from "./support";

/**
 * A plain node:http client for what Playwright's request context cannot do: pick the local
 * address a request comes from (127.0.0.0/8 is all loopback, so 127.0.0.2 is "another
 * client" to the server), send bodies in chunks and stop when the answer comes, keep a
 * Server-Sent Events stream open, and send exactly the headers given.
 */
export interface RawRequest {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** The address the connection comes from (default: the system's choice, 127.0.0.1). */
  from?: string;
  port?: number;
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

export function rawRequest(req: RawRequest): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const r = http.request(
      {
        host: "127.0.0.1",
        port: req.port ?? E2E_PORT,
        method: req.method ?? "GET",
        path: req.path,
        headers: req.headers,
        localAddress: req.from,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      },
    );
    r.on("error", reject);
    r.end(req.body);
  });
}

/** An open event stream: its status, and a way to close it. */
export interface OpenStream {
  status: number;
  close(): void;
}

/** Opens `GET path` and resolves once the response head arrives (the stream stays open until `close`). */
export function openStream(path: string, options: { from?: string; headers?: Record<string, string>; port?: number } = {}): Promise<OpenStream> {
  return new Promise((resolve, reject) => {
    const r = http.request(
      {
        host: "127.0.0.1",
        port: options.port ?? E2E_PORT,
        path,
        headers: { accept: "text/event-stream", ...options.headers },
        localAddress: options.from,
        agent: false,
      },
      (res) => {
        res.resume();
        resolve({ status: res.statusCode ?? 0, close: () => r.destroy() });
      },
    );
    r.on("error", (e) => {
      // A destroyed stream errors after close; only a failure to connect rejects.
      reject(e);
    });
    r.end();
  });
}

/**
 * Sends `total` bytes in 64 KB chunks, honouring backpressure, and stops writing as soon as
 * the response head arrives. Resolves with the status and how many bytes had been handed to
 * the socket by then: a server that answers while reading stops a 20 MB upload early; one
 * that buffers the whole body first cannot answer before the last byte. A server that
 * answers and closes the connection while the client is still sending may make the next
 * write fail (EPIPE, ECONNRESET) before the client has read the answer: that is `closed`,
 * with the bytes sent until then.
 */
export function streamBody(req: {
  method: string;
  path: string;
  total: number;
  headers?: Record<string, string>;
  /** Declare the length up front (Content-Length) or stream it chunked. */
  declareLength: boolean;
}): Promise<{ status: number; closed: boolean; bytesWritten: number; text: string }> {
  return new Promise((resolve, reject) => {
    let answered = false;
    let written = 0;
    const chunk = Buffer.alloc(64 * 1024, "a");
    const headers: Record<string, string> = { "content-type": "application/json", ...req.headers };
    if (req.declareLength) headers["content-length"] = String(req.total);
    const r = http.request({ host: "127.0.0.1", port: E2E_PORT, method: req.method, path: req.path, headers, agent: false }, (res) => {
      answered = true;
      const at = written;
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        r.destroy();
        resolve({ status: res.statusCode ?? 0, closed: false, bytesWritten: at, text: Buffer.concat(chunks).toString("utf8") });
      });
    });
    // The server may close the connection while we still write: that is the point.
    r.on("error", (e: NodeJS.ErrnoException) => {
      if (answered) return;
      if (e.code === "EPIPE" || e.code === "ECONNRESET") resolve({ status: 0, closed: true, bytesWritten: written, text: "" });
      else reject(e);
    });
    // One chunk per turn of the event loop, so an answer that has arrived is seen before the
    // next write (a server that closes after its 413 would otherwise fail that write first).
    const pump = async () => {
      while (!answered && written < req.total) {
        const n = Math.min(chunk.length, req.total - written);
        written += n;
        const flushed = r.write(n === chunk.length ? chunk : chunk.subarray(0, n));
        await new Promise<void>((resolve) => (flushed ? setImmediate(resolve) : r.once("drain", () => resolve())));
      }
      if (!answered) r.end();
    };
    void pump();
  });
}

/** The database's clock, to mark when a spec began (see {@link deleteRoomsCreatedSince}). */
export async function databaseNow(): Promise<Date> {
  const [row] = await db()<{ now: Date }[]>`select now() as now`;
  return row!.now;
}

/**
 * Deletes every live room created since `since` through the API, as its owner (a session
 * cookie signed with the run's SESSION_SECRET), so the caches and the home page follow.
 * The specs share one database and some count its rooms: a spec that creates rooms leaves
 * the list as it found it.
 */
export async function deleteRoomsCreatedSince(since: Date): Promise<void> {
  const rows = await db()<{ id: string; owner_id: string; owner_name: string }[]>`
    select id, owner_id, owner_name from rooms where created_at >= ${since} and deleted_at is null`;
  for (const r of rows) {
    const cookie = encodeSession(appEnv.SESSION_SECRET!, { id: r.owner_id, name: r.owner_name });
    const res = await rawRequest({ method: "DELETE", path: `/api/rooms/by-id/${r.id}`, headers: { cookie: `${SESSION_COOKIE}=${cookie}` } });
    if (res.status !== 204 && res.status !== 404) throw new Error(`could not delete room ${r.id}: ${res.status} ${res.text}`);
  }
}
