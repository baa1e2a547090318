import { BrokenCircuitError, CircuitState, ConsecutiveBreaker, circuitBreaker, handleWhen } from "cockatiel";
import { isFrameworkError } from "./framework-errors";
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
  /**
   * How long the circuit stays open before a background ping probes Redis, in ms (and
   * between probes while it stays down). Default 2000.
   */
  halfOpenAfterMs?: number;
  /**
   * The most a call may wait while the process is too busy to judge the deadline. Default
   * 5000 ms (see withDeadline). A caller that holds others up while it waits (the page
   * cache's lookup: every concurrent request for that page joins it) wants far less.
   */
  maxBusyWaitMs?: number;
  /** `cause`: the failure that tripped the breaker, when it opens. */
  onStateChange?: (state: "closed" | "half-open" | "open", cause?: unknown) => void;
  /**
   * The process's lease on the cache (./invalidation/lease.ts): reads of cached content
   * ({@link GuardedStore.readTrusted}) are refused while it is not valid. None: always trusted.
   */
  lease?: TrustLease;
  /**
   * How long a read waits, while the lease is not valid but no read of the invalidation log
   * has failed, for the next one (a process that has only just started, or that was too
   * busy to read the log within a lease); past this it goes to Postgres, like an outage.
   * Default 1000. 0 for a store whose process may not have started the log yet (the page
   * cache's handler: it renders meanwhile).
   */
  leaseWaitMs?: number;
}

/** What {@link GuardedStore.readTrusted} asks of a lease. */
export interface TrustLease {
  readonly valid: boolean;
  /** Resolves once the lease is valid, at once if the last read of the log failed, or after `maxWaitMs`. */
  whenValid(maxWaitMs: number): Promise<void>;
}



/**
 * Read deadlines per driver: a TCP round trip to Redis is ~0.1 ms, so 50 ms only expires
 * on a Redis in trouble; a REST call pays HTTP (and TLS on a cold connection), measured
 * here at ~40 ms for the first burst of 25 concurrent calls, so it gets more room.
 */
export const READ_DEADLINE_MS = { ioredis: 50, upstash: 150 } as const;

export class DeadlineError extends Error {
  constructor(ms: number) {
    super(`no answer within ${ms} ms`);
    this.name = "DeadlineError";
  }
}

/**
 * Rejects when `promise` has not settled within `ms`, counting only time in which this
 * process could have seen the answer. Under load the event loop can be busy far past the
 * deadline while Redis's reply already sits in the socket: a plain timer then blames
 * Redis for our own backlog. Measured here: 50 concurrent requests on one core turned
 * ~85% of cache hits into such timeouts, opened the breaker and sent every read to
 * Postgres. So a check that runs late (the loop was busy) grants another window, after
 * the poll phase (setImmediate) has had its chance to read the socket. So does a check
 * that finds the connection still answering (`lastAnswerAt`, another call's reply within
 * the window): replies come in order, so a reply queued behind a backlog that is still
 * draining is late because of the backlog, not because Redis stopped. A cold instance hit
 * by 250 requests measured exactly that: its replies (64 KB and more a round) came in
 * flow-controlled chunks while each check ran on time, three calls "timed out", the
 * breaker opened and the stampede made 3 Postgres queries instead of 1. A check that runs
 * on time, with no answer on the connection for a whole window, rejects.
 */
const LATE_MS = 5;
/**
 * The most a busy process lets one call wait. A cold instance hit by 250 requests at once
 * lags for about a second; falling back to Postgres then would turn a stampede the cache
 * absorbs into 250 queries. A Redis that is really down is caught by the first checks
 * that run on time, and then by the breaker.
 */
const MAX_WAIT_WHEN_BUSY_MS = 5_000;
/** The most a call waits for a store's first connection (CacheStore.connecting) before its own deadline starts. */
const FIRST_CONNECT_WAIT_MS = 1_000;

export function withDeadline<T>(
  promise: Promise<T>,
  ms: number,
  maxBusyWaitMs = MAX_WAIT_WHEN_BUSY_MS,
  lastAnswerAt?: () => number,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const started = performance.now();
    let settled = false;
    let timer: NodeJS.Timeout;
    const arm = (due: number) => {
      timer = setTimeout(() => {
        setImmediate(() => {
          if (settled) return;
          const now = performance.now();
          // Next renders in slices of ~20 ms under load; anything past a few ms is our backlog.
          const late = now - due > LATE_MS;
          const answering = lastAnswerAt !== undefined && now - lastAnswerAt() < ms;
          if ((late || answering) && now - started < maxBusyWaitMs) return arm(now + ms);
          settled = true;
          reject(new DeadlineError(ms));
        });
      }, Math.max(0, due - performance.now()));
    };
    arm(started + ms);
    promise.then(
      (value) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** Thrown instead of waiting when Redis is known to be down or too slow. */
export class CacheUnavailableError extends Error {
  constructor(cause: unknown) {
    super(cause instanceof BrokenCircuitError ? "cache circuit open" : "cache unavailable", { cause });
    this.name = "CacheUnavailableError";
  }
}

/**
 * An open circuit's error: the same object every time. Requests meet it at the rate they
 * arrive, and a fresh Error (a stack trace) per call was a measurable part of their cost.
 */
let circuitOpenError: CacheUnavailableError | undefined;
const circuitOpen = () => (circuitOpenError ??= new CacheUnavailableError(new BrokenCircuitError()));
let untrustedError: CacheUnavailableError | undefined;
const untrusted = () => (untrustedError ??= new CacheUnavailableError(new Error("cache not trusted: the invalidation log was not read recently")));

const noop = () => {};

const stateName = (s: CircuitState) =>
  s === CircuitState.Closed ? "closed" : s === CircuitState.HalfOpen ? "half-open" : "open";

/**
 * Every Redis call of the app goes through here: a deadline per call and a circuit
 * breaker (cockatiel) shared by all calls of the process. After a few failures in a row
 * the circuit opens and calls fail at once, so requests go straight to Postgres instead
 * of each paying a timeout. While it is open, a PING every `halfOpenAfterMs` probes Redis
 * in the background, and its success closes the circuit. No request is ever the probe:
 * cockatiel's own half-open lets the next live call through and makes every concurrent
 * call wait on it, and a page render waiting out a dead Redis's deadline holds all the
 * requests Next batched behind it (measured: home page p99 1.38x with Redis blackholed).
 */
export class GuardedStore {
  private readonly breaker;
  private lastFailure: unknown;
  private readonly readDeadlineMs: number;
  private readonly writeDeadlineMs: number;
  private readonly maxBusyWaitMs: number;
  private readonly probeEveryMs: number;
  private probeTimer: NodeJS.Timeout | undefined;
  private disposed = false;
  /** When a call last got its answer from Redis (see withDeadline). */
  private lastAnswerAt = -Infinity;
  private readonly answered = () => {
    this.lastAnswerAt = performance.now();
  };
  private readonly lastAnswer = () => this.lastAnswerAt;

  constructor(
    readonly store: CacheStore,
    private readonly options: GuardOptions = {},
  ) {
    // Open the connection now (TCP connect, TLS for REST) rather than on the first request.
    store.ping().catch(() => {});
    this.probeEveryMs = options.halfOpenAfterMs ?? 2_000;
    // A framework error (a static render turning dynamic, a redirect) passes through
    // without counting: it says nothing about Redis (./framework-errors.ts).
    this.breaker = circuitBreaker(handleWhen((error) => !isFrameworkError(error)), {
      halfOpenAfter: this.probeEveryMs,
      breaker: new ConsecutiveBreaker(options.failuresToOpen ?? 3),
    });
    this.breaker.onStateChange((s) => {
      // Disposed (the store is closing): a probe or call still in flight fails now; nothing to report or probe.
      if (this.disposed) return;
      if (s === CircuitState.Open) this.scheduleProbe(this.probeEveryMs);
      options.onStateChange?.(stateName(s), s === CircuitState.Open ? this.lastFailure : undefined);
    });
    this.readDeadlineMs = options.readDeadlineMs ?? READ_DEADLINE_MS[store.driver];
    this.writeDeadlineMs = options.writeDeadlineMs ?? 250;
    this.maxBusyWaitMs = options.maxBusyWaitMs ?? MAX_WAIT_WHEN_BUSY_MS;
  }

  get state(): "closed" | "half-open" | "open" {
    return stateName(this.breaker.state);
  }

  /** False while the circuit is open or being probed: a call would fail at once. */
  get available(): boolean {
    return this.breaker.state === CircuitState.Closed;
  }

  /** Stops probing a circuit that is open and reporting its state (the store is being closed). */
  dispose(): void {
    this.disposed = true;
    clearTimeout(this.probeTimer);
    this.probeTimer = undefined;
  }

  /** Calls `listener` each time the circuit closes again after being open. */
  onRecovered(listener: () => void): void {
    this.breaker.onReset(listener);
  }

  /** A read on the request path: fails fast with {@link CacheUnavailableError}. */
  read<T>(op: (store: CacheStore) => Promise<T>): Promise<T> {
    return this.run(this.readDeadlineMs, op);
  }

  /** False while the lease is not valid: cached content must not be served (readTrusted refuses). */
  get trusted(): boolean {
    return this.options.lease?.valid ?? true;
  }

  /**
   * A read of cached content (a value, a page, an order, a generation a fill will compare):
   * like {@link read}, but refused at once with {@link CacheUnavailableError} while this
   * process's lease on the cache is not valid, so the caller goes to Postgres (or, with
   * Postgres down too, to a copy it serves marked stale). The fallback reads of those saved
   * copies use plain {@link read}.
   */
  async readTrusted<T>(op: (store: CacheStore) => Promise<T>): Promise<T> {
    const lease = this.options.lease;
    if (lease && !lease.valid) {
      const wait = this.options.leaseWaitMs ?? 1_000;
      // Redis down: the read would fail anyway, so no wait for a lease.
      if (wait > 0 && this.available) await lease.whenValid(wait);
      if (!lease.valid) throw untrusted();
    }
    return this.run(this.readDeadlineMs, op);
  }

  /** A write (populate, invalidate): a longer deadline, same breaker. */
  write<T>(op: (store: CacheStore) => Promise<T>): Promise<T> {
    return this.run(this.writeDeadlineMs, op);
  }

  /**
   * The background probe: a PING with the plain read deadline and no grace for a busy
   * process (Redis is already suspect). Failure reopens the circuit, which schedules the
   * next probe; a timer that fired a hair before cockatiel's own clock allows the probe
   * finds the circuit still open and tries again shortly.
   */
  private scheduleProbe(afterMs: number): void {
    clearTimeout(this.probeTimer);
    this.probeTimer = setTimeout(() => {
      this.probeTimer = undefined;
      this.breaker
        .execute(() =>
          withDeadline(this.store.ping(), this.readDeadlineMs, 0).catch((error: unknown) => {
            this.lastFailure = error;
            throw error;
          }),
        )
        .catch((error: unknown) => {
          if (error instanceof BrokenCircuitError && this.breaker.state === CircuitState.Open && !this.probeTimer && !this.disposed) this.scheduleProbe(10);
        });
    }, afterMs);
    this.probeTimer.unref();
  }

  /** Runs `op`, noting when Redis answers it (even after its deadline). */
  private answer<T>(op: (store: CacheStore) => Promise<T>): Promise<T> {
    const call = op(this.store);
    call.then(this.answered, noop);
    return call;
  }

  private async run<T>(deadlineMs: number, op: (store: CacheStore) => Promise<T>): Promise<T> {
    // Open or being probed: fail at once (the probe runs in the background, see above).
    if (this.breaker.state !== CircuitState.Closed) throw circuitOpen();
    // A cluster client's first connection (slot map, masters): not Redis being slow.
    const connecting = this.store.connecting?.();
    if (connecting) await withDeadline(connecting, FIRST_CONNECT_WAIT_MS, 0).catch(noop);
    try {
      return await this.breaker.execute(() =>
        withDeadline(this.answer(op), deadlineMs, this.maxBusyWaitMs, this.lastAnswer).catch((error: unknown) => {
          this.lastFailure = error;
          throw error;
        }),
      );
    } catch (error) {
      if (error instanceof BrokenCircuitError) throw circuitOpen();
      if (isFrameworkError(error)) throw error;
      throw new CacheUnavailableError(error);
    }
  }
}
