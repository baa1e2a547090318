/*
 * What the peers' page cache handlers read from the environment, validated: the benchmark
 * (bench/support/peers.ts) starts each peer with a Redis URL (its own logical database) and
 * a key prefix of its own. Plain CommonJS: Next loads a cache handler outside its bundles.
 */
const { z } = require("zod");

const schema = z.object({
  BENCH_PEER_REDIS_URL: z.url().refine((u) => u.startsWith("redis://"), "must be a redis:// URL"),
  BENCH_PEER_KEY_PREFIX: z.string().regex(/^benchpeer-[a-z]+:$/, "must look like benchpeer-<name>:"),
});

/** `{ url, database, keyPrefix }` for a peer handler; throws naming the bad variable. */
function peerEnv(source = process.env) {
  const result = schema.safeParse(source);
  if (!result.success) {
    throw new Error("Invalid environment for a bench peer handler:\n" + result.error.issues.map((i) => `  ${String(i.path[0])}: ${i.message}`).join("\n"));
  }
  const url = new URL(result.data.BENCH_PEER_REDIS_URL);
  const database = url.pathname.length > 1 ? Number(url.pathname.slice(1)) : 0;
  url.pathname = "";
  return { url: url.toString().replace(/\/$/, ""), database, keyPrefix: result.data.BENCH_PEER_KEY_PREFIX };
}

module.exports = { peerEnv };
