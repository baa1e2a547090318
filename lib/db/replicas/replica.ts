import { BrokenCircuitError, CircuitState, ConsecutiveBreaker, circuitBreaker, handleWhen } from "cockatiel";
import type postgres from "postgres";
import { z } from "zod";
import { createDb, dbOnConnection, type Db, type DbHandle, type DbOptions } from "../client";
import type { ReplicaIdentity } from "./identity";

/** Options of one {@link Replica}; the defaults suit a replica on the same network as the primary. */
export interface ReplicaOptions {
  /** Faults (errors, deadlines, lag past `maxLagMs`) in a row that take the replica out of rotation. Default 3. */
  failuresToOpen?: number;
  /** How long it stays out before a background probe tries it again. Default 5000 ms. */
  halfOpenAfterMs?: number;
  /**
   * A replica that has failed every fence for this long is lagging, and a fence it fails
   * after that counts as a fault. Default 1000 ms.
   */
  maxLagMs?: number;
  /** Deadline of one replica attempt (connection, fence, read); past it the read goes to the primary. Default 1000 ms. */
  timeoutMs?: number;
}

/** The state of a replica as /api/health reports it. */
export interface ReplicaState {
  /** host:port/database, never the credentials. */
  name: string;
  breaker: "closed" | "half-open" | "open";
  /** Why it is out of rotation for good (not a replica of this primary: ./identity.ts); absent otherwise. */
  excluded?: string;
}

/** The read is the replica's to serve: the fence held (or was switched off) and the read ran. */
export type ReplicaOutcome<T> = { served: true; value: T } | { served: false; reason: "behind" | "busy" };

/** A fault of the replica (not of the read): the read goes to the primary and the breaker counts it. */
export class ReplicaFault extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ReplicaFault";
  }
}

/** The read's own error (bad input, a statement timeout, the caller gone): the primary would fail the same way. */
export class ReadError extends Error {
  constructor(readonly error: unknown) {
    super("the read failed on the replica", { cause: error });
    this.name = "ReadError";
  }
}

/** SQLSTATEs that are the statement's own doing, not the server's: data (22), integrity (23), syntax or access (42), canceled (57014). */
const statementsOwn = (error: unknown) => {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^(22|23|42|57014$)/.test(code);
};

const fenceSchema = z.tuple([z.object({ ok: z.boolean(), id: z.string().regex(/^\d+$/) })]);

/**
 * The fence's first statement on the replica connection: has it replayed the primary's
 * position? Null (not in recovery: a promoted replica, a timeline of its own) is no. And
 * the server's system identifier, so that a URL now reaching another server never serves
 * (./identity.ts).
 */
const FENCE_SQL =
  "select coalesce(pg_last_wal_replay_lsn() >= $1::pg_lsn, false) as ok, (select system_identifier::text from pg_control_system()) as id";

/** Redacted name of a Postgres URL: what logs and health may show. */
export function replicaName(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port || "5432"}${u.pathname}`;
}

/**
 * One read replica: its pool, and a circuit breaker (cockatiel) that takes it out of
 * rotation after a few faults in a row. While it is out, a probe in the background tries
 * it again every `halfOpenAfterMs`; no request is ever the probe (cockatiel's own half-open
 * would make concurrent reads wait behind the one that is), requests go to the primary.
 */
export class Replica {
  readonly name: string;
  readonly handle: DbHandle;
  private readonly breaker;
  /** How long it may fail every fence before a failed fence counts as a fault (ReplicaOptions.maxLagMs). */
  readonly maxLagMs: number;
  private readonly timeoutMs: number;
  private readonly halfOpenAfterMs: number;
  /** Connections of the pool taken by this object's attempts, and how many the pool has. */
  private reserved = 0;
  private readonly poolMax: number;
  /** Since when every fence has failed (null after one held). */
  private behindSince: number | null = null;
  private probeTimer: NodeJS.Timeout | undefined;

  constructor(
    url: string,
    db: DbOptions,
    private readonly options: ReplicaOptions & {
      /** A fresh primary position, for the background probe. */
      primaryLsn: () => Promise<string>;
      /** Whether the URL reaches a replica of this primary; shared by the URL's pools. */
      identity: ReplicaIdentity;
      onStateChange?: (state: ReplicaState["breaker"], cause?: unknown) => void;
    },
  ) {
    this.name = replicaName(url);
    this.handle = createDb(url, { connectTimeout: 2, ...db });
    // createDb's own default pool size.
    this.poolMax = db.max ?? 10;
    this.maxLagMs = options.maxLagMs ?? 1_000;
    this.timeoutMs = options.timeoutMs ?? 1_000;
    this.halfOpenAfterMs = options.halfOpenAfterMs ?? 5_000;
    let lastFault: unknown;
    this.breaker = circuitBreaker(
      handleWhen((error) => {
        if (error instanceof ReplicaFault) lastFault = error;
        return error instanceof ReplicaFault;
      }),
      { halfOpenAfter: this.halfOpenAfterMs, breaker: new ConsecutiveBreaker(options.failuresToOpen ?? 3) },
    );
    this.breaker.onStateChange((s) => {
      if (s === CircuitState.Open) this.scheduleProbe(this.halfOpenAfterMs);
      options.onStateChange?.(stateName(s), s === CircuitState.Open ? lastFault : undefined);
    });
  }

  /** In rotation: not excluded, and the circuit is closed. */
  get available(): boolean {
    return this.options.identity.excluded === null && this.breaker.state === CircuitState.Closed;
  }

  get state(): ReplicaState {
    const excluded = this.options.identity.excluded;
    return { name: this.name, breaker: stateName(this.breaker.state), ...(excluded ? { excluded } : {}) };
  }

  /** Checks, unless already done, that the URL reaches a replica of this primary (./identity.ts); health calls it too. */
  async verifyIdentity(sql: Pick<postgres.Sql, "unsafe"> = this.handle.sql): Promise<void> {
    let check;
    try {
      check = await this.options.identity.verify(sql);
    } catch (error) {
      throw new ReplicaFault(`replica ${this.name}: its identity could not be checked`, { cause: error });
    }
    if (!check.ok) throw new ReplicaFault(`replica ${this.name}: ${check.excluded}`);
  }

  /**
   * Runs `read` on one connection of this replica, after a first statement on that same
   * connection has found the primary position `lsn` replayed (`lsn` null: no fence, tests
   * only). Each later statement takes its snapshot after the fence's answer, and a
   * replica's replay never goes back on a connection, so the read sees every transaction
   * committed at or before `lsn`. Rejects with {@link ReadError} for the read's own
   * errors, with a {@link ReplicaFault} (or cockatiel's BrokenCircuitError) otherwise.
   */
  run<T>(lsn: string | null, read: (db: Db, sql: postgres.Sql) => Promise<T>): Promise<ReplicaOutcome<T>> {
    // Every connection taken: the read would queue in this process's own pool and spend its
    // deadline there, and a busy pool would pass for a slow replica (a fault, the read done
    // again on the primary, the breaker open). The primary takes it at once instead.
    if (this.reserved >= this.poolMax) return Promise.resolve({ served: false, reason: "busy" });
    return this.breaker.execute(() => this.attempt(lsn, read));
  }

  private async attempt<T>(lsn: string | null, read: (db: Db, sql: postgres.Sql) => Promise<T>): Promise<ReplicaOutcome<T>> {
    const work = this.fencedRead(lsn, read);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ReplicaFault(`replica ${this.name}: no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
    });
    // Past the deadline the attempt goes on alone and releases its connection when it ends.
    work.catch(() => {});
    try {
      return await Promise.race([work, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async fencedRead<T>(lsn: string | null, read: (db: Db, sql: postgres.Sql) => Promise<T>): Promise<ReplicaOutcome<T>> {
    let connection: postgres.ReservedSql;
    this.reserved++;
    try {
      connection = await this.handle.sql.reserve();
    } catch (error) {
      this.reserved--;
      throw new ReplicaFault(`replica ${this.name}: no connection`, { cause: error });
    }
    try {
      // Once per URL: a server that is not a replica of this primary never serves.
      await this.verifyIdentity(connection);
      if (lsn !== null) {
        let ok: boolean;
        let id: string;
        try {
          ({ ok, id } = fenceSchema.parse(Array.from(await connection.unsafe(FENCE_SQL, [lsn])))[0]);
        } catch (error) {
          throw new ReplicaFault(`replica ${this.name}: the fence failed`, { cause: error });
        }
        const same = this.options.identity.confirm(id);
        if (!same.ok) throw new ReplicaFault(`replica ${this.name}: ${same.excluded}`);
        if (!ok) {
          const now = performance.now();
          this.behindSince ??= now;
          if (now - this.behindSince > this.maxLagMs) {
            throw new ReplicaFault(`replica ${this.name}: behind the primary for more than ${this.maxLagMs} ms`);
          }
          return { served: false, reason: "behind" };
        }
        this.behindSince = null;
      }
      try {
        return { served: true, value: await read(dbOnConnection(connection, this.handle.sql), connection) };
      } catch (error) {
        if (statementsOwn(error) || !isPostgresOrNetwork(error)) throw new ReadError(error);
        throw new ReplicaFault(`replica ${this.name}: the read failed`, { cause: error });
      }
    } finally {
      connection.release();
      this.reserved--;
    }
  }

  /**
   * Health: reachable, in recovery, and how far behind: `lagBytes` from the primary's
   * position `primaryLsn`, `replayAgeMs` since the last transaction it replayed (which also
   * grows while the primary is idle).
   */
  async probe(primaryLsn: string | null): Promise<{ inRecovery: boolean; lagBytes: number | null; replayAgeMs: number | null }> {
    const rows = await this.handle.sql.unsafe(
      `select pg_is_in_recovery() as "inRecovery",
        case when $1::text is null then null else pg_wal_lsn_diff($1::text::pg_lsn, pg_last_wal_replay_lsn()) end::float8 as "lagBytes",
        (extract(epoch from now() - pg_last_xact_replay_timestamp()) * 1000)::float8 as "replayAgeMs"`,
      [primaryLsn],
    );
    const [row] = z
      .tuple([z.object({ inRecovery: z.boolean(), lagBytes: z.number().nullable(), replayAgeMs: z.number().nullable() })])
      .parse(Array.from(rows));
    return { inRecovery: row.inRecovery, lagBytes: row.lagBytes === null ? null : Math.max(0, row.lagBytes), replayAgeMs: row.replayAgeMs };
  }

  /** Stops probing and closes the pool. */
  async close(): Promise<void> {
    clearTimeout(this.probeTimer);
    this.probeTimer = undefined;
    await this.handle.close();
  }

  /**
   * The background probe: once the circuit may half-open, a fence against a fresh primary
   * position, through the breaker (it is cockatiel's test call). Behind counts as a fault
   * here: a replica comes back when it has caught up.
   */
  private scheduleProbe(delayMs: number): void {
    clearTimeout(this.probeTimer);
    // Excluded for good: nothing to probe for.
    if (this.options.identity.excluded !== null) return;
    this.probeTimer = setTimeout(() => {
      this.probeTimer = undefined;
      void this.breaker
        .execute(async () => {
          let lsn: string;
          try {
            lsn = await this.options.primaryLsn();
          } catch (error) {
            // No position, no proof the replica caught up: it stays out.
            throw new ReplicaFault(`replica ${this.name}: no primary position to probe against`, { cause: error });
          }
          const outcome = await this.attempt(lsn, async () => true);
          if (!outcome.served) throw new ReplicaFault(`replica ${this.name}: still behind the primary`);
        })
        .catch((error: unknown) => {
          // Still too early by cockatiel's clock: try again shortly.
          if (error instanceof BrokenCircuitError && this.breaker.state === CircuitState.Open) this.scheduleProbe(50);
        });
    }, delayMs);
    this.probeTimer.unref();
  }
}

const stateName = (s: CircuitState): ReplicaState["breaker"] =>
  s === CircuitState.Closed ? "closed" : s === CircuitState.HalfOpen ? "half-open" : "open";

/** An error from Postgres (it has a SQLSTATE) or from the connection to it (postgres.js's or the socket's code). */
function isPostgresOrNetwork(error: unknown): boolean {
  const e = error as { code?: unknown; name?: unknown } | null;
  return typeof e?.code === "string" || e?.name === "PostgresError";
}
