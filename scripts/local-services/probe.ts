import { connect } from "node:net";
import type { Endpoint } from "./endpoint";

/**
 * What a TCP connection to the endpoint finds: `answers` (something accepted it),
 * `nothing` (refused: no process listens there, so an embedded service may take the port),
 * or the error's code for anything else (a timeout, an unknown host), which is reported,
 * never guessed around.
 */
export type ProbeResult = { state: "answers" } | { state: "nothing" } | { state: "error"; code: string };

export function probeTcp({ host, port }: Endpoint, timeoutMs = 2_000): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (result: ProbeResult) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => done({ state: "error", code: "ETIMEDOUT" }));
    socket.once("connect", () => done({ state: "answers" }));
    socket.once("error", (error: NodeJS.ErrnoException) => {
      // Node 20 tries each address of a name in turn; when all refuse, the error is an
      // AggregateError whose code is missing, but whose parts each say ECONNREFUSED.
      const codes = "errors" in error ? (error.errors as NodeJS.ErrnoException[]).map((e) => e.code) : [error.code];
      done(codes.every((c) => c === "ECONNREFUSED") ? { state: "nothing" } : { state: "error", code: codes.find((c) => c !== "ECONNREFUSED") ?? String(codes[0]) });
    });
  });
}

/**
 * Resolves once a Redis at the endpoint answers PING with PONG; rejects at the deadline,
 * or when `signal` aborts (the caller gave up: no more connection attempts).
 */
export async function waitForRedis(endpoint: Endpoint, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    signal?.throwIfAborted();
    if (await pingRedis(endpoint)) return;
    if (Date.now() > deadline) throw new Error(`no PONG from ${endpoint.host}:${endpoint.port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function pingRedis({ host, port }: Endpoint): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let reply = "";
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.on("data", (chunk) => {
      reply += chunk.toString("latin1");
      // A server still loading its data answers -LOADING: not ready yet.
      if (reply.includes("\r\n")) done(reply.startsWith("+PONG"));
    });
    socket.once("error", () => done(false));
  });
}
