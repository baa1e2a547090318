import { hash } from "node:crypto";
import type { Keys, Ttls } from "../cache/keys";
import type { CacheStore } from "../cache/store";
import type { Db } from "../db/client";
import type { Room } from "../db/queries/rooms";
import type { LiveIds } from "./live-ids";

/**
 * Where a run is: `rooms` (cached room:{id} keys), `list` (rooms:all), `count` (rooms:count),
 * `messages` (cached messages:{roomId} keys), `activity` (the {rooms:all}:activity sorted set).
 */
export type ReconcilePhase = "rooms" | "list" | "count" | "messages" | "activity";

export interface ReconcileHooks {
  /**
   * Runs after a batch's generation read and Postgres read, before its repairs are sent.
   * Tests pause here to commit a write in the middle of a run.
   */
  beforeRepair?: (info: { phase: ReconcilePhase; keys: string[] }) => Promise<void> | void;
}

export interface ReconcileProgress {
  phase: ReconcilePhase;
  /** Cached room:{id} values examined so far. */
  scanned: number;
  /** Entries of the cached rooms:all and Postgres rooms compared so far. */
  listChecked: number;
}

/** What a run counts, in its report and while it runs. */
export interface DriftCounts {
  /** Cached room:{id} values examined. */
  scanned: number;
  /** Live rooms missing from a cached rooms:all. */
  added: number;
  /** Rooms cached (in room:{id} or rooms:all) that are deleted or never existed. */
  removed: number;
  /** Rooms whose cached copy differs from their row (counted once across keys). */
  modified: number;
  /** Cached values that failed to parse or validate (room:{id}, rooms:all, rooms:count). */
  corrupt: number;
  /** Repairs the generation guard refused because a write landed during the run (its invalidation stands). */
  refused: number;
  /** rooms:all was missing, corrupt or different, and was (or in a dry run would be) rebuilt. */
  listRebuilt: boolean;
  /** rooms:count was missing, corrupt or wrong, and was (or would be) fixed. */
  countFixed: boolean;
  /** Cached messages:{roomId} values examined. */
  messagesScanned: number;
  /** Cached conversations of live rooms older than rooms.message_version, or corrupt: reloaded through the guard. */
  messagesRepaired: number;
  /** Cached conversations of deleted or unknown rooms: invalidated. */
  messagesRemoved: number;
  /** Live rooms missing from {rooms:all}:activity or scored below Postgres's last activity: raised (ZADD GT). */
  activityRepaired: number;
  /** {rooms:all}:activity members that are not live rooms: removed. */
  activityRemoved: number;
}

/** Counts of one run, shared by its phases. */
export interface Tally extends DriftCounts {
  listChecked: number;
  /**
   * Rooms already counted, so a room that differs both in its room:{id} key and in
   * rooms:all counts once. Grows with the drift, not with the number of rooms.
   */
  counted: { removed: Set<string>; modified: Set<string>; corrupt: Set<string> };
  /** room:{id} keys already classified (a SCAN may return a key twice). Grows with the drift too. */
  handled: Set<string>;
  /**
   * Activity members the list pass added (they were missing): looked at again after the
   * member pass, since a room deleted after its row was read is one of them. Grows with the
   * drift only.
   */
  activityAdded: string[];
  /** Activity members removed (ZSCAN may return a member twice, and an added one is looked at again). */
  activityRemovedIds: Set<string>;
}

export interface RunContext {
  db: Db;
  store: CacheStore;
  keys: Keys;
  ttls: Ttls;
  dryRun: boolean;
  batchSize: number;
  hooks: ReconcileHooks;
  signal: AbortSignal | undefined;
  tally: Tally;
  /** The ids the list pass finds live (its statement's snapshot), for the passes beside it. */
  live: LiveIds;
  progress(phase: ReconcilePhase): Promise<void>;
}

/** A run that found nothing. */
export const NO_DRIFT: Readonly<DriftCounts> = {
  scanned: 0,
  added: 0,
  removed: 0,
  modified: 0,
  corrupt: 0,
  refused: 0,
  listRebuilt: false,
  countFixed: false,
  messagesScanned: 0,
  messagesRepaired: 0,
  messagesRemoved: 0,
  activityRepaired: 0,
  activityRemoved: 0,
};

export function emptyTally(): Tally {
  return {
    ...NO_DRIFT,
    listChecked: 0,
    counted: { removed: new Set(), modified: new Set(), corrupt: new Set() },
    handled: new Set(),
    activityAdded: [],
    activityRemovedIds: new Set(),
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (s: string) => UUID.test(s);

/** Two copies of a room are the same when every field the app shows or compares is. */
export function sameRoom(a: Room, b: Room): boolean {
  return (
    a.id === b.id &&
    a.name === b.name &&
    a.description === b.description &&
    a.ownerId === b.ownerId &&
    a.ownerName === b.ownerName &&
    a.version === b.version &&
    a.createdAt.getTime() === b.createdAt.getTime() &&
    a.updatedAt.getTime() === b.updatedAt.getTime()
  );
}

/**
 * A short digest of a room's JSON text, for diffing rooms:all through a Redis hash: both
 * sides hash the text JSON.stringify gives (the list's own elements, the live rows), so
 * equal digests mean the list holds exactly what the read path would write for the row.
 */
export function digest(json: string): string {
  return hash("sha1", json, "base64").slice(0, 16);
}
