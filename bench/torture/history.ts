/**
 * What the torture run records: every write and every read, with their times on the
 * harness's one clock (`now()`, milliseconds). Only the harness takes times, so every
 * error of measurement goes one way: an acknowledgement is noted no earlier than the
 * client received it, and a read's start no later than it was sent. A read that the
 * checker calls stale therefore really began after the acknowledgement it missed.
 */

export type Instance = "A" | "B";

export const ENDPOINTS = ["api-rooms", "home", "api-room", "room-page", "api-messages"] as const;
/** `GET /api/rooms`, `GET /`, `GET /api/rooms/by-id/{id}`, `GET /rooms/{id}`, `GET /api/rooms/by-id/{id}/messages`. */
export type Endpoint = (typeof ENDPOINTS)[number];

export const now = () => performance.timeOrigin + performance.now();

interface WriteCommon {
  seq: number;
  writer: string;
  instance: Instance;
  /** Just before the request was sent. */
  start: number;
  /** The response's body was read (or the request failed). */
  end: number;
  /** HTTP status; null when no response came (connection error, timeout). */
  status: number | null;
  /** When the 2xx status arrived: from then on the client holds an acknowledgement. */
  ack?: number;
  error?: string;
}

/** A write and what it established. Room names are `t-<label>-<n>`, n growing per room. */
export type Write = WriteCommon &
  (
    | { kind: "create"; roomId?: string; label: string; name: string }
    | { kind: "rename"; roomId: string; label: string; n: number }
    | { kind: "delete-room"; roomId: string; label: string }
    | { kind: "send"; roomId: string; token: string; messageId?: string }
    | { kind: "delete-message"; roomId: string; token: string; messageId: string }
  );
export type WriteKind = Write["kind"];

/** What a read showed. */
export type Observation =
  /** Every room a list showed (id to name); the run keeps ≤ 50 live rooms, so a list is complete. */
  | { kind: "list"; rooms: Record<string, string> }
  /** A room (404: not found); `name` and `tokens` (message tokens of its newest page) when the endpoint shows them. */
  | { kind: "room"; found: boolean; name?: string; tokens?: string[] };

export interface Read {
  seq: number;
  reader: string;
  endpoint: Endpoint;
  instance: Instance;
  roomId?: string;
  start: number;
  end: number;
  status: number | null;
  error?: string;
  /** The response says it may be old (`"stale": true`, `data-cache-state="stale"`). */
  markedStale: boolean;
  /** Parsed from a 200 or 404. */
  obs?: Observation;
}

/** A fault window: reads are attributed to the phase in which they started. */
export interface Phase {
  name: string;
  start: number;
  /** The fault was lifted (equal to `start` for a phase without one). */
  faultEnd: number;
  end: number;
}

/** What a write did: "done" (acknowledged), "none" (a 4xx: refused, nothing stored), "maybe" (5xx or no answer). */
export function effect(w: Pick<Write, "ack" | "status">): "done" | "none" | "maybe" {
  if (w.ack !== undefined) return "done";
  if (w.status !== null && w.status < 500) return "none";
  return "maybe";
}

const NAME = /^t-([a-z0-9]+)-(\d+)$/;
export const roomName = (label: string, n: number) => `t-${label}-${n}`;
export function parseRoomName(name: string): { label: string; n: number } | undefined {
  const m = NAME.exec(name);
  return m ? { label: m[1]!, n: Number(m[2]) } : undefined;
}

/** Message bodies carry one token each: `tok-<writer>-<n>`. */
export const TOKEN = /tok-[a-z0-9]+-\d+/g;

/** Omit over each member of a union (plain Omit would collapse it). */
export type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
