/**
 * A local stand-in for the Upstash REST API (the wire format @upstash/redis speaks), so the
 * `@upstash/redis` driver can be tested against the real local Redis instead of a mock.
 * Every command is forwarded to Redis over one ioredis connection.
 *
 *   import { startUpstashRestServer } from "./upstash-rest-server";
 *   npx tsx tests/support/upstash-rest-server.ts      # standalone; PORT (8079) and TOKEN env
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { pathToFileURL } from "node:url";
import { Redis } from "ioredis";

export interface UpstashRestServer {
  url: string;
  token: string;
  close(): Promise<void>;
}

type Arg = string | number | boolean;
type Slot = { result: unknown } | { error: string };

/** Answered with this status and `{"error": message}`. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Commands that would change the state of the one shared connection (subscriber mode, an open
 * MULTI, another database) and so corrupt every other request's replies. Upstash serves
 * SUBSCRIBE as a server-sent-event stream, which this test server does not implement.
 */
const CONNECTION_STATE = new Set(
  "subscribe psubscribe ssubscribe unsubscribe punsubscribe sunsubscribe monitor multi exec discard watch unwatch select hello reset quit".split(" "),
);

function toCommand(value: unknown): [string, ...string[]] {
  if (!Array.isArray(value) || value.length === 0) throw new HttpError(400, "ERR a command is a non-empty JSON array");
  const parts = value.map((v: unknown) => {
    // The client sends numbers and booleans as JSON values (["set","k","v","ex",60]); Redis only
    // knows strings. Upstash stores 12.5 as "12.5" and true as "true", as String() does.
    if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") return String(v as Arg);
    throw new HttpError(400, `ERR command arguments must be strings, numbers or booleans, got ${JSON.stringify(v)}`);
  });
  const [name, ...args] = parts as [string, ...string[]];
  if (CONNECTION_STATE.has(name.toLowerCase())) throw new HttpError(400, `ERR '${name}' is not supported by the local Upstash REST server`);
  return [name, ...args];
}

/**
 * A Redis reply as Upstash would put it in JSON. With base64, every string (at any depth) is
 * base64 of its UTF-8 bytes, "OK" included: the client's decoder leaves a bare "OK" alone only
 * at the top level and would mangle it (or "PONG") inside an array, and ioredis cannot tell us
 * which strings were status replies anyway, so encoding all of them is the only safe choice.
 */
function toWire(value: unknown, base64: boolean): unknown {
  if (typeof value === "string") return base64 ? Buffer.from(value, "utf8").toString("base64") : value;
  if (Buffer.isBuffer(value)) return base64 ? value.toString("base64") : value.toString("utf8");
  if (typeof value === "number" || value === null || value === undefined) return value ?? null;
  if (Array.isArray(value)) return value.map((v) => toWire(v, base64));
  // An error nested in a reply (a Lua table holding one): Upstash renders its message.
  if (value instanceof Error) return toWire(value.message, base64);
  // ioredis turns HGETALL into an object even through call(); Upstash answers the RESP array
  // [field, value, ...], and the client's decoder maps any non-array object to null.
  if (typeof value === "object") return toWire(Object.entries(value).flat(), base64);
  return toWire(String(value), base64);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw new HttpError(400, "ERR the request body is not valid JSON");
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "Content-Type": "application/json" });
  res.end(JSON.stringify(body));
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

export async function startUpstashRestServer(
  options: { redisUrl?: string; token?: string; port?: number } = {},
): Promise<UpstashRestServer> {
  const token = options.token ?? randomBytes(16).toString("hex");
  // RESP2, as Upstash answers: flat arrays, scores as strings. maxRetriesPerRequest 1 so a dead
  // Redis fails requests (and startup) promptly instead of queueing them for ~20 reconnects.
  const redis = new Redis(options.redisUrl ?? "redis://127.0.0.1:6379", { protocol: 2, maxRetriesPerRequest: 1 });
  try {
    await redis.ping();
  } catch (error) {
    redis.disconnect();
    throw error;
  }

  /** /pipeline and /multi-exec: one ioredis batch (written in one go, so other requests
   * never interleave into a MULTI), one {result} or {error} per command. */
  async function batch(commands: [string, ...string[]][], atomic: boolean, base64: boolean): Promise<Slot[]> {
    const chain = atomic ? redis.multi() : redis.pipeline();
    for (const [name, ...args] of commands) chain.call(name, ...args);
    let replies: [Error | null, unknown][] | null;
    try {
      replies = await chain.exec();
    } catch (error) {
      // EXECABORT: a command was rejected while queueing, so nothing ran.
      throw new HttpError(400, message(error));
    }
    if (!replies) throw new HttpError(400, "EXECABORT transaction aborted");
    return replies.map(([error, result]) => (error ? { error: error.message } : { result: toWire(result, base64) }));
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.headers.authorization !== `Bearer ${token}`) throw new HttpError(401, "Unauthorized");
    const path = new URL(req.url ?? "/", "http://localhost").pathname.replace(/\/+$/, "") || "/";
    if (req.method !== "POST" || !["/", "/pipeline", "/multi-exec"].includes(path)) {
      throw new HttpError(404, `ERR no route for ${req.method} ${path}`);
    }
    const base64 = String(req.headers["upstash-encoding"] ?? "").toLowerCase() === "base64";
    const body = await readJson(req);
    if (path === "/") {
      const [name, ...args] = toCommand(body);
      try {
        send(res, 200, { result: toWire(await redis.call(name, ...args), base64) });
      } catch (error) {
        throw new HttpError(400, message(error));
      }
      return;
    }
    if (!Array.isArray(body) || body.length === 0) throw new HttpError(400, "ERR a pipeline is a non-empty JSON array of commands");
    send(res, 200, await batch(body.map(toCommand), path === "/multi-exec", base64));
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent) return res.destroy();
      send(res, error instanceof HttpError ? error.status : 500, { error: message(error) });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    token,
    async close() {
      // close() drops idle keep-alive sockets but waits for busy ones (a BLPOP in flight, a
      // client a test abandoned mid-request); a teardown must not hang on them. Likewise
      // disconnect(), not quit(): QUIT would queue behind a blocked command.
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      redis.disconnect();
    },
  };
}

// Standalone: `npx tsx tests/support/upstash-rest-server.ts`, then point UPSTASH_REDIS_REST_URL/TOKEN at it.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const server = await startUpstashRestServer({
    port: Number(process.env.PORT ?? 8079),
    token: process.env.TOKEN,
    redisUrl: process.env.REDIS_URL,
  });
  console.log(`Upstash REST server on ${server.url} (token ${server.token}) -> ${process.env.REDIS_URL ?? "redis://127.0.0.1:6379"}`);
  const stop = () => void server.close().then(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}
