import { Queue } from "bullmq";
import { ROOMS_QUEUE, defaultJobOptions, queueConnection, queuePrefix } from "./contract";

const g = globalThis as unknown as { [key: symbol]: Map<string, Queue> | undefined };
const KEY = Symbol.for("lobby.sharedQueues");

/**
 * The rooms queue for a web process (the dashboard reads its counts and scheduler), created
 * once per process and kept on globalThis: every Queue holds its own Redis connection, so
 * one per request would leak them. Unlike the worker's, this connection fails fast (no
 * offline queue, one retry): a page asking while Redis is down gets an error at once, not a
 * promise that waits for the reconnect.
 */
export function sharedRoomsQueue(redisUrl: string, keyPrefix: string, name: string = ROOMS_QUEUE): Queue {
  const queues = (g[KEY] ??= new Map());
  const id = `${redisUrl}|${keyPrefix}|${name}`;
  let queue = queues.get(id);
  if (!queue) {
    queue = new Queue(name, {
      connection: queueConnection(redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 1_000 }),
      prefix: queuePrefix(keyPrefix),
      defaultJobOptions,
    });
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
