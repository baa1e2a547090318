import { UnrecoverableError, type ConnectionOptions, type DefaultJobOptions } from "bullmq";
import type { RedisOptions } from "ioredis";
import { z } from "zod";
import { workerRedisOptions } from "../cache/ioredis-store";
import type { TcpRedis } from "../cache/redis-target";
import { connectTcp } from "../cache/tcp-client";

/**
 * The typed contract between producers (the web, `npm run reconcile`) and the worker
 * (house style rule 9): the queue's name, its jobs' names and payload schemas, default
 * options, and how both sides connect. Both sides validate; a payload that fails is a
 * permanent failure (`UnrecoverableError`), which BullMQ does not retry.
 */

/** The queue that carries room-cache maintenance. */
export const ROOMS_QUEUE = "room-maintenance";

export const JOB = {
  /** Diff the room cache against Postgres and repair it (lib/reconcile/reconciliation-service.ts). */
  reconcile: "reconcile-rooms",
  /** Fill rooms:all, rooms:count and the newest rooms through the guarded read path. */
  warm: "warm-cache",
} as const;

/** Id of the job scheduler that enqueues `reconcile-rooms` every RECONCILE_INTERVAL_MS. */
export const RECONCILE_SCHEDULER_ID = "reconcile-rooms-every";

export const reconcilePayloadSchema = z.strictObject({
  /** Run even if the last run finished less than the sync threshold ago. */
  force: z.boolean().optional(),
  /** Report, repair nothing. */
  dryRun: z.boolean().optional(),
  /** Who asked, for the run's log line and summary ("schedule", "cli", ...). */
  reason: z.string().min(1).max(200).optional(),
});

export const warmPayloadSchema = z.strictObject({
  /** How many of the newest rooms to load besides the list and the count. */
  rooms: z.number().int().min(0).max(10_000).optional(),
  reason: z.string().min(1).max(200).optional(),
});

export const payloadSchemas = {
  [JOB.reconcile]: reconcilePayloadSchema,
  [JOB.warm]: warmPayloadSchema,
} as const;

export type JobName = keyof typeof payloadSchemas;
export type JobPayload<N extends JobName> = z.infer<(typeof payloadSchemas)[N]>;
export type ReconcilePayload = JobPayload<typeof JOB.reconcile>;
export type WarmPayload = JobPayload<typeof JOB.warm>;

export function isJobName(name: string): name is JobName {
  return Object.hasOwn(payloadSchemas, name);
}

/**
 * The validated payload of job `name`. Throws `UnrecoverableError` for an unknown job or a
 * payload that fails its schema: retrying cannot fix either.
 */
export function parsePayload<N extends JobName>(name: N, data: unknown): JobPayload<N>;
export function parsePayload(name: string, data: unknown): JobPayload<JobName>;
export function parsePayload(name: string, data: unknown): JobPayload<JobName> {
  if (!isJobName(name)) throw new UnrecoverableError(`unknown job "${name}"`);
  const parsed = payloadSchemas[name].safeParse(data ?? {});
  if (!parsed.success) {
    const detail = parsed.error.issues.map((i) => `${i.path.join(".") || "payload"}: ${i.message}`).join("; ");
    throw new UnrecoverableError(`invalid ${name} payload: ${detail}`);
  }
  return parsed.data;
}

/**
 * Defaults for every job: a failed run is retried with exponential backoff (2 s, 4 s,
 * 8 s), and finished jobs are trimmed so the queue's Redis footprint stays small.
 */
export const defaultJobOptions: DefaultJobOptions = {
  attempts: 4,
  backoff: { type: "exponential", delay: 2_000 },
  removeOnComplete: { count: 200, age: 24 * 3_600 },
  removeOnFail: { count: 500, age: 7 * 24 * 3_600 },
};

/**
 * BullMQ's key prefix, derived from REDIS_KEY_PREFIX so that a prefix isolates queues as
 * it isolates cache keys (tests, several apps on one Redis). The `{bull}` hash tag keeps a
 * queue's keys on one Redis Cluster slot, as BullMQ's multi-key scripts require.
 */
export function queuePrefix(keyPrefix: string): string {
  return `${keyPrefix}{bull}`;
}

/**
 * Connection options for BullMQ's Queue, Worker and QueueEvents (house style rule 8: the
 * worker's options, `maxRetriesPerRequest: null`). BullMQ needs TCP: `tcp` is
 * `env().redisTcp`. One node: options, and BullMQ opens and closes its connections. A
 * cluster: a Cluster of our own (BullMQ takes no cluster options, only an instance), which
 * BullMQ shares and never closes: {@link QueueConnection.release} closes it, after whatever
 * used it is closed. The queue's keys stay on one slot through the `{bull}` prefix.
 */
export function queueConnection(tcp: TcpRedis, overrides: Partial<RedisOptions> = {}): QueueConnection {
  const options = workerRedisOptions(overrides);
  if (tcp.driver === "ioredis") {
    return { connection: { ...options, retryStrategy: options.retryStrategy ?? undefined, url: tcp.url }, release: async () => {} };
  }
  const client = connectTcp(tcp, options);
  // Errors surface through BullMQ's own listeners and the calls that fail.
  client.on("error", () => {});
  return { connection: client, release: async () => client.disconnect() };
}

export interface QueueConnection {
  connection: ConnectionOptions;
  /** Closes a connection BullMQ does not own (a cluster's); call it after closing the queue or worker. */
  release(): Promise<void>;
}

/** What Queue/Worker/QueueEvents take besides the queue's name, and the release of its connection. */
export function queueOptions(tcp: TcpRedis, keyPrefix: string, overrides: Partial<RedisOptions> = {}) {
  const { connection, release } = queueConnection(tcp, overrides);
  return { options: { connection, prefix: queuePrefix(keyPrefix) }, release };
}
