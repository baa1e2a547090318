import { drizzle, type PostgresJsDatabase } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import * as schema from "./schema";

export type Db = PostgresJsDatabase<typeof schema>;

export interface DbHandle {
  db: Db;
  sql: postgres.Sql;
  close(): Promise<void>;
}

export interface DbOptions {
  /** Pool size. Default 10 (web); the worker sizes it to its concurrency. */
  max?: number;
  /** Called for every query sent, for metrics and tests that count round trips. */
  onQuery?: (query: string) => void;
  /** Seconds to wait for a connection. Default 5: a dead Postgres must fail fast enough to serve stale. */
  connectTimeout?: number;
  /** Postgres' statement_timeout for every statement of this pool, in ms. Default none. */
  statementTimeoutMs?: number;
  /** application_name of its connections (what pg_stat_activity shows). Default postgres.js's. */
  applicationName?: string;
}

/**
 * Seconds before a pool connection that failed tries again (postgres.js's `backoff`, given
 * the pool's failures in a row). postgres.js's own grows as 3^n/100 up to 20 s and is
 * reset only by a successful connect, so after an outage of a few seconds (a dozen failed
 * connects) the first request after Postgres came back waited up to 20 s for its
 * connection: past every deadline, a 503 with Postgres up. Capped at 1 s here, with
 * jitter: ten connections a process retry at most ten times a second while it is down.
 */
export function reconnectBackoff(failures: number): number {
  return (0.5 + Math.random() / 2) * Math.min(0.05 * 2 ** failures, 1);
}

export function createDb(url: string, options: DbOptions = {}): DbHandle {
  const sql = postgres(url, {
    max: options.max ?? 10,
    connect_timeout: options.connectTimeout ?? 5,
    backoff: reconnectBackoff,
    idle_timeout: 30,
    onnotice: () => {},
    debug: options.onQuery ? (_conn, query) => options.onQuery?.(query) : undefined,
    connection: {
      ...(options.statementTimeoutMs ? { statement_timeout: options.statementTimeoutMs } : {}),
      ...(options.applicationName ? { application_name: options.applicationName } : {}),
    },
  });
  const db = drizzle(sql, { schema });
  return { db, sql, close: () => sql.end({ timeout: 5 }) };
}

/**
 * A drizzle database on one reserved connection of `pool` (postgres.js `reserve()`), so a
 * caller can run statements one after another on the same server session: the fence of a
 * replica read (lib/db/replicas). drizzle reads the pool's type options, which a reserved
 * connection shares but does not expose.
 */
export function dbOnConnection(connection: postgres.ReservedSql, pool: postgres.Sql): Db {
  return drizzle(Object.assign(connection, { options: pool.options }), { schema });
}
