import type { Queue } from "bullmq";
import { describeTcp, type TcpRedis } from "../cache/redis-target";
import { ROOMS_QUEUE } from "./contract";
import { RoomsQueue } from "./producer";

const g = globalThis as unknown as { [key: symbol]: Map<string, Queue> | undefined };
const KEY = Symbol.for("lobby.sharedQueues");

/**
 * The rooms queue for a web process (the dashboard reads its counts and scheduler), created
 * once per process and kept on globalThis: every Queue holds its own Redis connection, so
 * one per request would leak them. Unlike the worker's, this connection fails fast (no
 * offline queue, one retry): a page asking while Redis is down gets an error at once, not a
 * promise that waits for the reconnect.
 */
export function sharedRoomsQueue(tcp: TcpRedis, keyPrefix: string, name: string = ROOMS_QUEUE): Queue {
  const queues = (g[KEY] ??= new Map());
  const id = `${tcp.driver === "ioredis" ? tcp.url : describeTcp(tcp)}|${keyPrefix}|${name}`;
  let queue = queues.get(id);
  if (!queue) {
    queue = new RoomsQueue(name, tcp, keyPrefix, { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 1_000 });
    // Connection errors surface through the calls that fail; unhandled they would crash the process.
    queue.on("error", () => {});
    queues.set(id, queue);
  }
  return queue;
}

/** Closes the shared queues (tests). */
export async function closeSharedQueues(): Promise<void> {
  const queues = g[KEY];
  if (!queues) return;
  const all = [...queues.values()];
  queues.clear();
  await Promise.all(all.map((q) => q.close()));
}
