import { Queue, type Job, type JobsOptions } from "bullmq";
import type { RedisOptions } from "ioredis";
import type { TcpRedis } from "../cache/redis-target";
import { ROOMS_QUEUE, defaultJobOptions, parsePayload, queueOptions, type JobName, type JobPayload } from "./contract";

/** A BullMQ Queue that also closes the connection it was given (a cluster's, which BullMQ leaves open). */
export class RoomsQueue extends Queue {
  private readonly release: () => Promise<void>;

  constructor(name: string, tcp: TcpRedis, keyPrefix: string, overrides: Partial<RedisOptions> = {}) {
    const { options, release } = queueOptions(tcp, keyPrefix, overrides);
    super(name, { ...options, defaultJobOptions });
    this.release = release;
  }

  override async close(): Promise<void> {
    try {
      await super.close();
    } finally {
      await this.release();
    }
  }

  override async disconnect(): Promise<void> {
    try {
      await super.disconnect();
    } finally {
      await this.release();
    }
  }
}

/** The producer side of the rooms queue; `name` is overridable so tests own their queue. */
export function createRoomsQueue(tcp: TcpRedis, keyPrefix: string, name: string = ROOMS_QUEUE): RoomsQueue {
  return new RoomsQueue(name, tcp, keyPrefix);
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
