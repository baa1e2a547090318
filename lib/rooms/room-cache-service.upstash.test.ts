import { roomCacheSuite } from "../../tests/room-cache.suite";
import { REDIS_URL } from "../../tests/support/services";
import { startUpstashRestServer } from "../../tests/support/upstash-rest-server";

// The same expectations as over ioredis, through @upstash/redis and a local server that
// speaks the Upstash REST format to the real Redis.
roomCacheSuite({
  name: "@upstash/redis (REST)",
  start: async () => {
    const server = await startUpstashRestServer({ redisUrl: REDIS_URL });
    return { redis: { driver: "upstash", url: server.url, token: server.token }, close: server.close };
  },
  endpointAt: (port) => ({ driver: "upstash", url: `http://127.0.0.1:${port}`, token: "dead-endpoint-token" }),
});
