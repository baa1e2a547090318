import type { GuardedStore } from "../cache/guarded-store";
import type { Keys } from "../cache/keys";
import { lua } from "../cache/store";
import { AppError } from "../errors";

/**
 * GCRA (the generic cell rate algorithm, a token bucket kept as one number): the key holds
 * the "theoretical arrival time" (TAT, ms) of the next request. A request is allowed when
 * TAT - burst window <= now; it then pushes TAT one emission interval further. The clock
 * is Redis's own (TIME), so every web instance agrees. Answers {1, 0} (allowed) or
 * {0, ms until the next request would be allowed}.
 */
const GCRA = lua(`
local interval = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local wait = tat + interval - window - now
if wait > 0 then return {0, wait} end
redis.call('SET', KEYS[1], tat + interval, 'PX', tat + interval - now)
return {1, 0}
`);

/** A rate: `burst` requests at once, refilled at one per `periodMs / count`. */
export interface Rate {
  count: number;
  periodMs: number;
  burst: number;
}

/** One limit, applied per session and per client IP (each with its own rate). */
export interface LimitSpec {
  /** Key scope, e.g. `message`; keys are `ratelimit:{scope}:session:{id}` and `...:ip:{ip}`. */
  scope: string;
  perSession: Rate;
  perIp: Rate;
  /** The 429's message. */
  message: string;
}

export const LIMITS = {
  /** ~5 messages a second with a burst of 10; an IP (a NAT, an office) gets four times that. */
  message: {
    scope: "message",
    perSession: { count: 5, periodMs: 1_000, burst: 10 },
    perIp: { count: 20, periodMs: 1_000, burst: 40 },
    message: "You're sending messages too fast. Wait a moment and try again.",
  },
  /**
   * Searches that reach Postgres (a cached page costs no token): a person searching, even
   * quickly, stays far below; a script busting the cache with new queries does not. Per
   * session when the request carries one, always per IP.
   */
  search: {
    scope: "search",
    perSession: { count: 30, periodMs: 60_000, burst: 10 },
    perIp: { count: 60, periodMs: 60_000, burst: 20 },
    message: "You're searching too fast. Wait a moment and try again.",
  },
  /** A few rooms per 10 minutes per visitor. */
  roomCreate: {
    scope: "room-create",
    perSession: { count: 10, periodMs: 600_000, burst: 10 },
    perIp: { count: 60, periodMs: 600_000, burst: 60 },
    message: "You've created a lot of rooms recently. Try again in a few minutes.",
  },
} as const satisfies Record<string, LimitSpec>;

export type LimitName = keyof typeof LIMITS;

/** Who is asking: the session id (a write always has one; a search only when the request carried a cookie), and the client IP when known. */
export interface Client {
  sessionId?: string;
  ip?: string;
}

export interface RateLimiter {
  /** Resolves when allowed; throws AppError 429 (with retryAfterSeconds) when not. */
  check(name: LimitName, client: Client): Promise<void>;
}

/** Never limits: the cache is off (or in tests that do not exercise limits). */
export const noRateLimit: RateLimiter = { check: async () => {} };

/**
 * Rate limits in Redis, on `CacheStore.eval` (both drivers). Fails open: when Redis is
 * disabled, down, slow or the breaker is open, the request is allowed. A limit is abuse
 * protection, not correctness, and DESIGN.md says no request fails because of Redis.
 * The session and IP buckets are separate keys (separate slots on a cluster), checked in
 * parallel: a request refused by one still spends a token of the other, which only errs
 * on the strict side for a client that is already over a limit.
 */
export class RedisRateLimiter implements RateLimiter {
  constructor(
    private readonly guarded: GuardedStore | null,
    private readonly keys: Keys,
    private readonly limits: Record<LimitName, LimitSpec> = LIMITS,
  ) {}

  async check(name: LimitName, client: Client): Promise<void> {
    const guarded = this.guarded;
    if (!guarded) return;
    const spec = this.limits[name];
    const buckets: [string, Rate][] = [];
    if (client.sessionId) buckets.push([this.keys.rateLimit(`${spec.scope}:session`, client.sessionId), spec.perSession]);
    if (client.ip) buckets.push([this.keys.rateLimit(`${spec.scope}:ip`, client.ip), spec.perIp]);
    const waits = await Promise.all(
      buckets.map(async ([key, rate]) => {
        const interval = Math.ceil(rate.periodMs / rate.count);
        try {
          const reply = (await guarded.write((s) => s.eval(GCRA, [key], [interval, interval * rate.burst]))) as [number, number];
          return Number(reply[0]) === 1 ? 0 : Number(reply[1]);
        } catch {
          return 0; // fail open (see above)
        }
      }),
    );
    const wait = Math.max(0, ...waits);
    if (wait > 0) throw new AppError(429, "rate_limited", spec.message, undefined, Math.max(1, Math.ceil(wait / 1000)));
  }
}
