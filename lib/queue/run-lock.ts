import { randomUUID } from "node:crypto";
import { lua, type CacheStore } from "../cache/store";

const ACQUIRE = lua(`return redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) and 1 or 0`);
const RENEW = lua(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`);
const RELEASE = lua(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`);

/** A held lock: aborted when a renewal finds it lost, so the holder stops between batches. */
export interface Lease {
  token: string;
  signal: AbortSignal;
  release(): Promise<void>;
}

/** Options of {@link RunLock}. */
export interface RunLockOptions {
  /** Lifetime without renewal: a crashed holder blocks others at most this long. Default 30 000 ms. */
  ttlMs?: number;
  /** Renewal period. Default a third of `ttlMs`, so two renewals can fail before it lapses. */
  renewEveryMs?: number;
}

/**
 * A mutual-exclusion lock across processes in Redis (SET NX PX with a random token; renew
 * and release only by that token). It keeps two workers from reconciling at once even if
 * BullMQ ever hands them two jobs together (a forced run next to a scheduled one).
 */
export class RunLock {
  private readonly ttlMs: number;
  private readonly renewEveryMs: number;

  constructor(
    private readonly store: CacheStore,
    private readonly key: string,
    options: RunLockOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? 30_000;
    this.renewEveryMs = options.renewEveryMs ?? Math.floor(this.ttlMs / 3);
  }

  /** The lease, or null when another holder has the lock. */
  async acquire(): Promise<Lease | null> {
    const token = randomUUID();
    if (Number(await this.store.eval(ACQUIRE, [this.key], [token, this.ttlMs])) !== 1) return null;
    const controller = new AbortController();
    const timer = setInterval(() => {
      this.store
        .eval(RENEW, [this.key], [token, this.ttlMs])
        .then((ok) => {
          if (Number(ok) !== 1) controller.abort(new Error("reconciliation lock lost"));
        })
        // A failed renewal is retried at the next tick; the TTL covers two misses.
        .catch(() => {});
    }, this.renewEveryMs);
    timer.unref();
    return {
      token,
      signal: controller.signal,
      release: async () => {
        clearInterval(timer);
        await this.store.eval(RELEASE, [this.key], [token]);
      },
    };
  }
}
