import { roomCacheSuite } from "../../tests/room-cache.suite";
import { REDIS_URL } from "../../tests/support/services";

roomCacheSuite({
  name: "ioredis (TCP)",
  start: async () => ({ redis: { driver: "ioredis", url: REDIS_URL }, close: async () => {} }),
  endpointAt: (port) => ({ driver: "ioredis", url: `redis://127.0.0.1:${port}` }),
});
