import { Queue, type Job, type JobsOptions } from "bullmq";
import { ROOMS_QUEUE, defaultJobOptions, parsePayload, queueOptions, type JobName, type JobPayload } from "./contract";

export type RoomsQueue = Queue;

/** The producer side of the rooms queue; `name` is overridable so tests own their queue. */
export function createRoomsQueue(redisUrl: string, keyPrefix: string, name: string = ROOMS_QUEUE): RoomsQueue {
  return new Queue(name, { ...queueOptions(redisUrl, keyPrefix), defaultJobOptions });
}

/** Adds a job after validating its payload against the contract (the worker validates again). */
export async function enqueue<N extends JobName>(
  queue: RoomsQueue,
  name: N,
  payload: JobPayload<N>,
  opts?: JobsOptions,
): Promise<Job> {
  return queue.add(name, parsePayload(name, payload), opts);
}
