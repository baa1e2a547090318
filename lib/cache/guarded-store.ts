import {
  BrokenCircuitError,
  CircuitState,
  ConsecutiveBreaker,
  TimeoutStrategy,
  circuitBreaker,
  handleAll,
  timeout,
  wrap,
} from "cockatiel";
import type { CacheStore } from "./store";

/** Options of a {@link GuardedStore}. */
export interface GuardOptions {
  /**
   * Deadline of one read on the request path, in ms. Default {@link READ_DEADLINE_MS} for
   * the driver: a page never waits on Redis longer.
   */
  readDeadlineMs?: number;
  /** Deadline of one write (populate, invalidate), in ms. Default 250. */
  writeDeadlineMs?: number;
  /** Consecutive failures that open the circuit. Default 3. */
  failuresToOpen?: number;
  /** How long the circuit stays open before one probe is let through, in ms. Default 2000. */
  halfOpenAfterMs?: number;
  onStateChange?: (state: "closed" | "half-open" | "open") => void;
}

/**
 * Read deadlines per driver: a TCP round trip to Redis is ~0.1 ms, so 50 ms only expires
 * on a Redis in trouble; a REST call pays HTTP (and TLS on a cold connection), measured
 * here at ~40 ms for the first burst of 25 concurrent calls, so it gets more room.
 */
export const READ_DEADLINE_MS = { ioredis: 50, upstash: 150 } as const;

/** Thrown instead of waiting when Redis is known to be down or too slow. */
export class CacheUnavailableError extends Error {
  constructor(cause: unknown) {
    super(cause instanceof BrokenCircuitError ? "cache circuit open" : "cache unavailable", { cause });
    this.name = "CacheUnavailableError";
  }
}

const stateName = (s: CircuitState) =>
  s === CircuitState.Closed ? "closed" : s === CircuitState.HalfOpen ? "half-open" : "open";

/**
 * Every Redis call of the app goes through here: a deadline per call and a circuit
 * breaker (cockatiel) shared by all calls of the process. After a few failures in a row
 * the circuit opens and calls fail at once, so requests go straight to Postgres instead
 * of each paying a timeout; after `halfOpenAfterMs` one call probes, and success closes it.
 */
export class GuardedStore {
  private readonly breaker;
  private readonly readPolicy;
  private readonly writePolicy;

  constructor(
    readonly store: CacheStore,
    options: GuardOptions = {},
  ) {
    // Open the connection now (TCP connect, TLS for REST) rather than on the first request.
    store.ping().catch(() => {});
    this.breaker = circuitBreaker(handleAll, {
      halfOpenAfter: options.halfOpenAfterMs ?? 2_000,
      breaker: new ConsecutiveBreaker(options.failuresToOpen ?? 3),
    });
    this.breaker.onStateChange((s) => options.onStateChange?.(stateName(s)));
    this.readPolicy = wrap(this.breaker, timeout(options.readDeadlineMs ?? READ_DEADLINE_MS[store.driver], TimeoutStrategy.Aggressive));
    this.writePolicy = wrap(this.breaker, timeout(options.writeDeadlineMs ?? 250, TimeoutStrategy.Aggressive));
  }

  get state(): "closed" | "half-open" | "open" {
    return stateName(this.breaker.state);
  }

  /** Calls `listener` each time the circuit closes again after being open. */
  onRecovered(listener: () => void): void {
    this.breaker.onReset(listener);
  }

  /** A read on the request path: fails fast with {@link CacheUnavailableError}. */
  read<T>(op: (store: CacheStore) => Promise<T>): Promise<T> {
    return this.run(this.readPolicy, op);
  }

  /** A write (populate, invalidate): a longer deadline, same breaker. */
  write<T>(op: (store: CacheStore) => Promise<T>): Promise<T> {
    return this.run(this.writePolicy, op);
  }

  private async run<T>(policy: typeof this.readPolicy, op: (store: CacheStore) => Promise<T>): Promise<T> {
    try {
      return await policy.execute(() => op(this.store));
    } catch (error) {
      throw new CacheUnavailableError(error);
    }
  }
}
