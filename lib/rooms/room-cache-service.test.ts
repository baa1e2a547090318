import { roomCacheSuite } from "../../tests/room-cache.suite";
import { ON_CLUSTER, TEST_REDIS } from "../../tests/support/services";

roomCacheSuite({
  name: ON_CLUSTER ? "ioredis on a Redis Cluster" : "ioredis (TCP)",
  start: async () => ({ redis: TEST_REDIS, close: async () => {} }),
  endpointAt: (port) => ({ driver: "ioredis", url: `redis://127.0.0.1:${port}` }),
});
