import type pino from "pino";

/** Errors that mean "Redis cannot be reached", as ioredis and BullMQ report them. */
const CONNECTION_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN", "EPIPE"]);
const CONNECTION_MESSAGES = /Connection is closed|Stream isn't writeable|Command timed out|connect ETIMEDOUT|Socket closed unexpectedly/i;

export function isConnectionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  return (typeof code === "string" && CONNECTION_CODES.has(code)) || CONNECTION_MESSAGES.test(error.message);
}

/**
 * Whether the worker can reach Redis, told by its connections: every one of them (BullMQ's
 * worker and queue, the heartbeat's) reports each failed reconnect, several times a second
 * between backoffs, so a Redis outage used to print a stack trace per connection per
 * attempt. Here they all feed one state, and the log gets one line when it changes:
 * `{ redis: "down" }` on the first connection error, `{ redis: "up" }` on the next success.
 * Errors that are not about the connection are logged as they come.
 */
export class RedisState {
  private state: "unknown" | "up" | "down" = "unknown";
  private readonly downWaiters = new Set<() => void>();

  constructor(private readonly log: pino.Logger) {}

  /** True from a connection error until the next success. */
  get down(): boolean {
    return this.state === "down";
  }

  /** An error from one of the worker's Redis users (`source` names it in the log). */
  error(source: string, error: unknown): void {
    if (!isConnectionError(error)) {
      this.log.error({ err: error, source }, `${source}: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    if (this.state === "down") return;
    this.state = "down";
    const reason = error instanceof Error ? error.message : String(error);
    this.log.warn({ redis: "down", source, reason }, `Redis unreachable (${reason}); retrying until it answers`);
    for (const wake of this.downWaiters) wake();
    this.downWaiters.clear();
  }

  /** A command answered. */
  ok(): void {
    if (this.state === "down") this.log.info({ redis: "up" }, "Redis reachable again");
    this.state = "up";
  }

  /** Resolves when Redis is (or becomes) unreachable. */
  whenDown(): Promise<void> {
    if (this.down) return Promise.resolve();
    return new Promise((resolve) => this.downWaiters.add(resolve));
  }
}
