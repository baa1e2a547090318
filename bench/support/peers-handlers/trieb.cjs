/*
 * @trieb.work/nextjs-turbo-redis-cache as its README's "Option B" sets it up (a wrapper file
 * naming `cacheHandler` in next.config), changing only what the benchmark must: the Redis
 * logical database and the key prefix of its own. Every other option is the package's
 * default: in-memory caching of Redis reads for 10 s, get deduplication, the shared tags
 * map synced over pub/sub. The bench never reconfigures the Redis it is given (it may be
 * shared), so the keyspace notifications the README asks for (`notify-keyspace-events
 * Exe`, used to drop expired and evicted keys from the tags map) are off and the bench sets
 * SKIP_KEYSPACE_CONFIG_CHECK=true; no key expires or is evicted during a run.
 */
const CachedHandler = require("@trieb.work/nextjs-turbo-redis-cache").default;
const { peerEnv } = require("./peer-env.cjs");

const { url, database, keyPrefix } = peerEnv();

module.exports = class BenchTriebHandler extends CachedHandler {
  constructor(options) {
    super({ ...options, redisUrl: url, database, keyPrefix });
  }
};
