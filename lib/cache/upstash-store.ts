import { Redis } from "@upstash/redis";
import { isNoScript, type CacheStore, type LuaScript, type ScriptArg } from "./store";

export interface UpstashStoreOptions {
  url: string;
  token: string;
  /** Per-request timeout. Default 1000 ms; the breaker's own deadline is shorter on the SSR path. */
  timeoutMs?: number;
  /** Retries on network errors. Default 1: the breaker and the fallback to Postgres do the rest. */
  retries?: number;
}

export function createUpstashStore(options: UpstashStoreOptions): CacheStore {
  const client = new Redis({
    url: options.url,
    token: options.token,
    // Values are our own JSON strings; the client must hand them back untouched.
    automaticDeserialization: false,
    enableTelemetry: false,
    retry: { retries: options.retries ?? 1, backoff: (n) => 20 * 2 ** n },
    signal: () => AbortSignal.timeout(options.timeoutMs ?? 1_000),
    /*
     * The client's default, `no-store`, tells Next's fetch that the render in progress is
     * dynamic: inside the static home page's render it throws "Page changed from static to
     * dynamic at runtime", so every Redis call of that render failed and opened the breaker.
     * `default` is plain: Next neither caches these POSTs nor turns the page dynamic.
     */
    cache: "default",
  });
  const asString = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
  const evalOne = async (script: LuaScript, keys: string[], args: ScriptArg[]) => {
    // JSON carries text: a Buffer argument goes as the UTF-8 text it holds.
    const argv = args.map((a) => (Buffer.isBuffer(a) ? a.toString("utf8") : String(a)));
    try {
      return await client.evalsha(script.sha1, keys, argv);
    } catch (error) {
      if (!isNoScript(error)) throw error;
      return client.eval(script.source, keys, argv);
    }
  };
  const mget = async (keys: string[]) => (keys.length ? (await client.mget<unknown[]>(...keys)).map(asString) : []);
  return {
    driver: "upstash",
    get: async (key) => asString(await client.get(key)),
    mget,
    // The REST API answers in JSON, so the values arrive as text whatever is asked.
    mgetBuffers: async (keys) => (await mget(keys)).map((v) => (v === null ? null : Buffer.from(v))),
    async set(key, value, ttlSeconds) {
      if (ttlSeconds) await client.set(key, value, { ex: ttlSeconds });
      else await client.set(key, value);
    },
    del: (keys) => (keys.length ? client.del(...keys) : Promise.resolve(0)),
    eval: evalOne,
    // Parallel requests; the client's auto-pipelining sends them together.
    evalMany: (script, calls) => Promise.all(calls.map((c) => evalOne(script, c.keys, c.args))),
    async scan(cursor, match, count) {
      const [next, keys] = await client.scan(cursor, { match, count });
      return [String(next), keys];
    },
    async zscan(key, cursor, count) {
      const [next, flat] = await client.zscan(key, cursor, { count });
      return [String(next), flat.map(String)];
    },
    ttl: (key) => client.ttl(key),
    publish: (channel, message) => client.publish(channel, message),
    async ping() {
      await client.ping();
    },
    async close() {},
  };
}
