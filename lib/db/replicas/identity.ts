import type postgres from "postgres";
import { z } from "zod";

/**
 * The server's cluster identity: `system_identifier` is set once by initdb and copied by
 * `pg_basebackup`, so a streaming replica has its primary's, and any other server (a
 * standalone one, a replica of another cluster) has another. Readable by any role.
 */
export const SYSTEM_ID_SQL = "select system_identifier::text as id, pg_is_in_recovery() as recovery from pg_control_system()";

const identityRows = z.tuple([z.object({ id: z.string().regex(/^\d+$/), recovery: z.boolean() })]);

/** A server's system identifier and whether it is a standby now, from {@link SYSTEM_ID_SQL}. */
export async function readSystemId(sql: Pick<postgres.Sql, "unsafe">): Promise<{ id: string; recovery: boolean }> {
  return identityRows.parse(Array.from(await sql.unsafe(SYSTEM_ID_SQL)))[0];
}

/** What a check of a replica's identity found. */
export type IdentityCheck = { ok: true } | { ok: false; excluded: string };

/**
 * Whether a replica URL names a replica **of this primary**. A wrong URL (a standalone
 * server, a replica of another cluster, the primary itself) could pass the fence: its
 * replay position may well be past the primary's, and its rows are another database's. So
 * before a replica serves its first read it must show the primary's `system_identifier`
 * and be in recovery; a mismatch excludes it for good (a URL does not fix itself; the
 * operator does, and restarts), logged once with the reason. Every fence then
 * re-reads the identifier on the replica connection it fences (./replica.ts), so a URL
 * re-pointed elsewhere while in rotation is excluded at its next read too.
 *
 * One per replica URL, shared by that URL's pools (main and search).
 */
export class ReplicaIdentity {
  private verifiedId: string | null = null;
  private excludedReason: string | null = null;
  private pending: Promise<IdentityCheck> | null = null;

  constructor(
    private readonly options: {
      /** The primary's system identifier (read once per process, retried until it answers). */
      primarySystemId: () => Promise<string>;
      /** Called once, when the replica is excluded. */
      onExcluded?: (reason: string) => void;
    },
  ) {}

  /** Null until excluded; then why. */
  get excluded(): string | null {
    return this.excludedReason;
  }

  /** `unverified` until a first check has answered. */
  get state(): "unverified" | "verified" | "excluded" {
    return this.excludedReason ? "excluded" : this.verifiedId ? "verified" : "unverified";
  }

  /**
   * Checks the replica on `sql` (one of its connections) unless it has been verified
   * already; concurrent callers share one check. Rejects when the check cannot be made
   * (either server unreachable): the caller treats that as a fault and tries again later.
   */
  verify(sql: Pick<postgres.Sql, "unsafe">): Promise<IdentityCheck> {
    if (this.excludedReason) return Promise.resolve({ ok: false, excluded: this.excludedReason });
    if (this.verifiedId) return Promise.resolve({ ok: true });
    this.pending ??= (async () => {
      try {
        const [primary, replica] = await Promise.all([this.options.primarySystemId(), readSystemId(sql)]);
        if (replica.id !== primary) {
          return this.exclude(`not a replica of this primary: system identifier ${replica.id}, the primary's is ${primary}`);
        }
        if (!replica.recovery) {
          return this.exclude(`not a standby (pg_is_in_recovery() is false): the primary itself, a promoted replica or a server of its own`);
        }
        this.verifiedId = primary;
        return { ok: true as const };
      } finally {
        this.pending = null;
      }
    })();
    return this.pending;
  }

  /**
   * A fence's own reading of the replica's identifier: a verified replica whose identifier
   * has changed (its URL now reaches another server) is excluded.
   */
  confirm(systemId: string): IdentityCheck {
    if (this.excludedReason) return { ok: false, excluded: this.excludedReason };
    if (this.verifiedId !== null && systemId !== this.verifiedId) {
      return this.exclude(`not a replica of this primary any more: system identifier ${systemId}, the primary's is ${this.verifiedId}`);
    }
    return { ok: true };
  }

  private exclude(reason: string): IdentityCheck {
    if (!this.excludedReason) {
      this.excludedReason = reason;
      this.options.onExcluded?.(reason);
    }
    return { ok: false, excluded: this.excludedReason };
  }
}

/** The primary's system identifier, read once (a failed read is retried by the next caller). */
export function primarySystemIdOnce(sql: Pick<postgres.Sql, "unsafe">): () => Promise<string> {
  let known: Promise<string> | null = null;
  return () => {
    known ??= readSystemId(sql).then(
      (r) => r.id,
      (error: unknown) => {
        known = null;
        throw error;
      },
    );
    return known;
  };
}
