import { effect, parseRoomName, type Endpoint, type Instance, type Phase, type Read, type Write } from "./history";

/*
 * The history check, pure: writes and reads in, verdicts out.
 *
 * The promise under test: once a client holds a 2xx for a write, no read that STARTS after
 * that acknowledgement, on any instance, is served anything older. For a read that ran
 * over [start, end], the writes acknowledged before `start` set the least it may show:
 *
 * - a room whose create was acknowledged is present (lists) or found (by id, page,
 *   messages), unless a delete of it was sent before `end` and may have happened;
 * - a room whose delete was acknowledged is absent (lists) or 404;
 * - a room shows a name `t-<label>-<n>` with n at least the last acknowledged rename's;
 * - an acknowledged message is in its room's newest page, unless a delete of it may have
 *   happened by `end`, or 50 messages that may be newer exist (the page holds 50);
 * - a message whose delete was acknowledged is not.
 *
 * Writes in flight (sent, not yet acknowledged) may or may not be seen: never counted
 * against a read. A read that shows less is STALE, and is reported with the write it
 * missed: how long before the read's start that write was acknowledged (behindMs) and,
 * for renames, by how many versions. A response that marks itself stale (`"stale": true`,
 * `data-cache-state="stale"`) claims no freshness: it is counted as marked stale, not stale.
 */

/** The newest page of a conversation: messages beyond this many newer ones drop out of it. */
export const PAGE_SIZE = 50;

export type StaleKind = "name-behind" | "room-missing" | "deleted-room-present" | "message-missing" | "deleted-message-present";

export interface Finding {
  kind: StaleKind;
  roomId: string;
  label?: string;
  /** ms from the acknowledgement of the earliest write the read does not show to the read's start. */
  behindMs: number;
  /** The write it missed. */
  missed: number;
  /** name-behind: the n shown and the n acknowledged before the read. */
  seenN?: number;
  expectedN?: number;
  token?: string;
}

export type VerdictStatus = "ok" | "stale" | "marked-stale" | "unchecked";

export interface Verdict {
  read: Read;
  status: VerdictStatus;
  /** Findings (also for a marked-stale read, which is not counted as stale). */
  findings: Finding[];
}

interface RoomFacts {
  id: string;
  label?: string;
  create?: Write;
  renames: Extract<Write, { kind: "rename" }>[];
  deletes: Write[];
  sends: Extract<Write, { kind: "send" }>[];
  messageDeletes: Map<string, Write[]>;
}

/** The writes, indexed by room. */
export class World {
  readonly rooms = new Map<string, RoomFacts>();

  constructor(writes: readonly Write[]) {
    for (const w of writes) {
      const roomId = w.roomId;
      if (!roomId) continue;
      const room = this.room(roomId);
      switch (w.kind) {
        case "create":
          room.create = w;
          room.label = w.label;
          break;
        case "rename":
          room.renames.push(w);
          room.label ??= w.label;
          break;
        case "delete-room":
          room.deletes.push(w);
          break;
        case "send":
          room.sends.push(w);
          break;
        case "delete-message": {
          const list = room.messageDeletes.get(w.token) ?? [];
          list.push(w);
          room.messageDeletes.set(w.token, list);
          break;
        }
      }
    }
  }

  private room(id: string): RoomFacts {
    let r = this.rooms.get(id);
    if (!r) this.rooms.set(id, (r = { id, renames: [], deletes: [], sends: [], messageDeletes: new Map() }));
    return r;
  }
}

const ackedBefore = (w: Write, t: number) => w.ack !== undefined && w.ack < t;
/** A write that may have taken effect by time t (sent before t, not refused). */
const mayHaveHappened = (w: Write, t: number) => w.start < t && effect(w) !== "none";

/** What a read must show of a room's existence: "present", "absent" (with the delete), or "either". */
function existence(room: RoomFacts, read: Read): { must: "present"; since: Write } | { must: "absent"; since: Write } | { must: "either" } {
  const deleted = room.deletes.filter((d) => ackedBefore(d, read.start)).sort((a, b) => a.ack! - b.ack!)[0];
  if (deleted) return { must: "absent", since: deleted };
  if (room.create && ackedBefore(room.create, read.start) && !room.deletes.some((d) => mayHaveHappened(d, read.end))) {
    return { must: "present", since: room.create };
  }
  return { must: "either" };
}

function checkName(room: RoomFacts, name: string | undefined, read: Read, out: Finding[]): void {
  if (name === undefined) return;
  const seen = parseRoomName(name);
  // Names the writers never give (the out-of-band rename) are not judged here.
  if (!seen || seen.label !== room.label) return;
  let expected = 0;
  let missed: Write | undefined;
  for (const r of room.renames) {
    if (!ackedBefore(r, read.start)) continue;
    expected = Math.max(expected, r.n);
    if (r.n > seen.n && (!missed || r.ack! < missed.ack!)) missed = r;
  }
  if (missed) {
    out.push({
      kind: "name-behind",
      roomId: room.id,
      label: room.label,
      behindMs: read.start - missed.ack!,
      missed: missed.seq,
      seenN: seen.n,
      expectedN: expected,
    });
  }
}

function checkMessages(room: RoomFacts, tokens: readonly string[], read: Read, out: Finding[]): void {
  const shown = new Set(tokens);
  for (const s of room.sends) {
    if (!ackedBefore(s, read.start) || shown.has(s.token)) continue;
    if ((room.messageDeletes.get(s.token) ?? []).some((d) => mayHaveHappened(d, read.end))) continue;
    // Messages that may sort after s: sent before the read ended, not refused, and not
    // acknowledged before s was sent (those are certainly older).
    let newer = 0;
    for (const o of room.sends) {
      if (o !== s && mayHaveHappened(o, read.end) && !(o.ack !== undefined && o.ack < s.start)) newer++;
    }
    if (newer >= PAGE_SIZE) continue;
    out.push({ kind: "message-missing", roomId: room.id, label: room.label, behindMs: read.start - s.ack!, missed: s.seq, token: s.token });
  }
  for (const [token, deletes] of room.messageDeletes) {
    if (!shown.has(token)) continue;
    const first = deletes.filter((d) => ackedBefore(d, read.start)).sort((a, b) => a.ack! - b.ack!)[0];
    if (first) {
      out.push({ kind: "deleted-message-present", roomId: room.id, label: room.label, behindMs: read.start - first.ack!, missed: first.seq, token });
    }
  }
}

/** The findings for one read (empty: it shows at least every acknowledged write). */
export function findings(world: World, read: Read): Finding[] {
  const out: Finding[] = [];
  const obs = read.obs;
  if (!obs) return out;
  if (obs.kind === "list") {
    for (const room of world.rooms.values()) {
      if (!room.create) continue; // a room the run did not create (or whose create it could not follow)
      const must = existence(room, read);
      const name = obs.rooms[room.id];
      if (must.must === "present" && name === undefined) {
        out.push({ kind: "room-missing", roomId: room.id, label: room.label, behindMs: read.start - must.since.ack!, missed: must.since.seq });
      } else if (must.must === "absent" && name !== undefined) {
        out.push({ kind: "deleted-room-present", roomId: room.id, label: room.label, behindMs: read.start - must.since.ack!, missed: must.since.seq });
      } else if (name !== undefined) {
        checkName(room, name, read, out);
      }
    }
    return out;
  }
  const room = read.roomId ? world.rooms.get(read.roomId) : undefined;
  if (!room) return out;
  const must = existence(room, read);
  if (!obs.found) {
    if (must.must === "present") {
      out.push({ kind: "room-missing", roomId: room.id, label: room.label, behindMs: read.start - must.since.ack!, missed: must.since.seq });
    }
    return out;
  }
  if (must.must === "absent") {
    out.push({ kind: "deleted-room-present", roomId: room.id, label: room.label, behindMs: read.start - must.since.ack!, missed: must.since.seq });
    return out;
  }
  checkName(room, obs.name, read, out);
  if (obs.tokens) checkMessages(room, obs.tokens, read, out);
  return out;
}

/** Every read's verdict. */
export function check(writes: readonly Write[], reads: readonly Read[]): Verdict[] {
  const world = new World(writes);
  return reads.map((read) => {
    if (!read.obs) return { read, status: "unchecked", findings: [] };
    const f = findings(world, read);
    return { read, status: read.markedStale ? "marked-stale" : f.length ? "stale" : "ok", findings: f };
  });
}

/** The phase a time falls in ("setup" before the first, "settle" after the last). */
export function phaseAt(phases: readonly Phase[], t: number): string {
  if (phases.length === 0 || t < phases[0]!.start) return "setup";
  for (const p of phases) if (t < p.end) return p.name;
  return "settle";
}

/** A request overlaps a window [from, to]. */
export const overlaps = (r: { start: number; end: number }, from: number, to: number) => r.start < to && r.end > from;

export interface Tally {
  reads: number;
  checked: number;
  stale: number;
  markedStale: number;
  /** Marked-stale reads that would have been stale unmarked (information: allowed). */
  markedStaleBehind: number;
  /** The largest behindMs among stale reads. */
  maxBehindMs: number;
  s5xx: number;
  s429: number;
  errors: number;
}

export const emptyTally = (): Tally => ({ reads: 0, checked: 0, stale: 0, markedStale: 0, markedStaleBehind: 0, maxBehindMs: 0, s5xx: 0, s429: 0, errors: 0 });

/** Tallies verdicts by endpoint and phase (and "all" for either). */
export function tally(verdicts: readonly Verdict[], phases: readonly Phase[]): Map<string, Tally> {
  const out = new Map<string, Tally>();
  const add = (key: string, v: Verdict) => {
    let t = out.get(key);
    if (!t) out.set(key, (t = emptyTally()));
    t.reads++;
    if (v.status !== "unchecked") t.checked++;
    if (v.status === "stale") {
      t.stale++;
      t.maxBehindMs = Math.max(t.maxBehindMs, ...v.findings.map((f) => f.behindMs));
    }
    if (v.status === "marked-stale") {
      t.markedStale++;
      if (v.findings.length) t.markedStaleBehind++;
    }
    if (v.read.status !== null && v.read.status >= 500) t.s5xx++;
    if (v.read.status === 429) t.s429++;
    if (v.read.status === null) t.errors++;
  };
  for (const v of verdicts) {
    const phase = phaseAt(phases, v.read.start);
    for (const key of [`${v.read.endpoint}|${phase}`, `${v.read.endpoint}|all`, `all|${phase}`, "all|all"]) add(key, v);
  }
  return out;
}

export type { Endpoint, Instance };
