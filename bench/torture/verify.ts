import { effect, parseRoomName, type Endpoint, type Observation, type Write } from "./history";

/*
 * The end of a run, pure: what Postgres holds against what was acknowledged (lost writes),
 * and what each endpoint shows against Postgres (convergence).
 */

/** Postgres at the end of the run (read directly, not through the fault proxy). */
export interface Truth {
  rooms: Map<string, { name: string; deleted: boolean }>;
  /** Every message of the run's rooms by id. */
  messages: Map<string, { roomId: string; deleted: boolean }>;
  /** Per live room: the tokens of its newest page (live messages, newest 50). */
  newestTokens: Map<string, string[]>;
}

export interface Lost {
  write: Write;
  why: string;
}

/** Acknowledged writes that Postgres does not hold. */
export function lostWrites(writes: readonly Write[], truth: Truth): Lost[] {
  const lost: Lost[] = [];
  const deleteAttempted = new Set(writes.filter((w) => w.kind === "delete-message" && effect(w) !== "none").map((w) => (w as { messageId: string }).messageId));
  for (const w of writes) {
    if (w.ack === undefined) continue;
    switch (w.kind) {
      case "create":
        if (!w.roomId || !truth.rooms.has(w.roomId)) lost.push({ write: w, why: "created room not in Postgres" });
        break;
      case "rename": {
        const row = truth.rooms.get(w.roomId);
        const parsed = row && parseRoomName(row.name);
        // A room renamed out of band (not by the writers) keeps no t-<label>-<n> name: not judged.
        if (!row) lost.push({ write: w, why: "renamed room not in Postgres" });
        else if (parsed && parsed.label === w.label && parsed.n < w.n) lost.push({ write: w, why: `Postgres has n=${parsed.n} < acknowledged ${w.n}` });
        break;
      }
      case "delete-room":
        if (!truth.rooms.get(w.roomId)?.deleted) lost.push({ write: w, why: "deleted room live in Postgres" });
        break;
      case "send": {
        if (!w.messageId) break; // a 201 whose body did not arrive: nothing to look up
        const row = truth.messages.get(w.messageId);
        if (!row) lost.push({ write: w, why: "sent message not in Postgres" });
        else if (row.deleted && !deleteAttempted.has(w.messageId!)) lost.push({ write: w, why: "message deleted without a delete" });
        break;
      }
      case "delete-message":
        if (!truth.messages.get(w.messageId)?.deleted) lost.push({ write: w, why: "deleted message live in Postgres" });
        break;
    }
  }
  return lost;
}

/** How an endpoint's answer differs from Postgres (empty: converged). */
export function differences(endpoint: Endpoint, roomId: string | undefined, obs: Observation | undefined, truth: Truth): string[] {
  if (!obs) return ["no answer"];
  if (obs.kind === "list") {
    const diffs: string[] = [];
    const live = [...truth.rooms].filter(([, r]) => !r.deleted);
    for (const [id, r] of live) {
      const shown = obs.rooms[id];
      if (shown === undefined) diffs.push(`${id} (${r.name}) missing`);
      else if (shown !== r.name) diffs.push(`${id} shows "${shown}", Postgres "${r.name}"`);
    }
    for (const id of Object.keys(obs.rooms)) if (!truth.rooms.get(id) || truth.rooms.get(id)!.deleted) diffs.push(`${id} shown, not live in Postgres`);
    return diffs;
  }
  const row = roomId ? truth.rooms.get(roomId) : undefined;
  if (!row || row.deleted) return obs.found ? [`${endpoint} ${roomId}: found, not live in Postgres`] : [];
  if (!obs.found) return [`${endpoint} ${roomId}: not found, live in Postgres`];
  const diffs: string[] = [];
  if (obs.name !== undefined && obs.name !== row.name) diffs.push(`${endpoint} ${roomId}: name "${obs.name}", Postgres "${row.name}"`);
  if (obs.tokens) {
    const want = new Set(truth.newestTokens.get(roomId!) ?? []);
    const got = new Set(obs.tokens);
    const missing = [...want].filter((t) => !got.has(t));
    const extra = [...got].filter((t) => !want.has(t));
    if (missing.length || extra.length) diffs.push(`${endpoint} ${roomId}: messages missing [${missing.join(" ")}] extra [${extra.join(" ")}]`);
  }
  return diffs;
}
