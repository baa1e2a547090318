import { setTimeout as sleep } from "node:timers/promises";
import { ENDPOINTS, roomName, type DistributiveOmit, type Endpoint, type Instance, type Read, type Write } from "./history";
import { exchange, newSession, type Exchange, type Session, type Target } from "./http";
import { parseResponse } from "./parse";
import type { Rng } from "./rng";

/*
 * The clients: writers that change rooms and messages one request at a time (so the order
 * of each room's renames is known), and readers that read every endpoint on both instances.
 * Everything they do is recorded (history.ts) and judged afterwards (check.ts).
 */

/** Where clients go now; the phase runner changes it (e.g. writers to A, readers to B). */
export interface Control {
  writeTo: Instance[];
  readFrom: Instance[];
  stopped: boolean;
  /** While true, writers wait before their next request (replica mode's bursts of writes). */
  writersHeld?: boolean;
}

export interface WorkloadConfig {
  writers: number;
  readers: number;
  /** Rooms each writer creates at setup, renames and never deletes. */
  stableRooms: number;
  /** Rooms created and deleted during the run, at most this many live (or being created) per writer. */
  ephemeralPerWriter: number;
  /** Pause between a writer's requests (uniform), ms. */
  writerPauseMs: [number, number];
  /** Pause between a reader's requests, ms. */
  readerPauseMs: number;
}

export const WRITE_TIMEOUT_MS = 15_000;
export const READ_TIMEOUT_MS = 10_000;
/** A creating session is replaced after this many creates: the per-session limit is 10 per 10 minutes. */
const CREATES_PER_SESSION = 8;

interface LiveRoom {
  id: string;
  label: string;
  /** The session that owns it (renames and deletes need the owner's cookie). */
  owner: Session;
  n: number;
}

/** What every client knows: the history so far, the rooms, the recent writes. */
export class Recorder {
  readonly writes: Write[] = [];
  readonly reads: Read[] = [];
  /** Rooms by id, as the acknowledged writes left them. */
  readonly live = new Map<string, LiveRoom>();
  readonly deleted: string[] = [];
  /** Rooms of the latest acknowledged writes: readers read them most (a stale read follows a write). */
  readonly recent: string[] = [];
  private seq = 0;

  nextSeq() {
    return ++this.seq;
  }

  noteAck(roomId: string) {
    this.recent.push(roomId);
    if (this.recent.length > 8) this.recent.shift();
  }
}

type WriteFields = DistributiveOmit<Write, "seq" | "writer" | "instance" | "start" | "end" | "status" | "ack" | "error">;

/** Sends a write and records it; returns the exchange (the caller reads ids from the body). */
async function write(
  rec: Recorder,
  writer: string,
  target: Target,
  fields: WriteFields,
  path: string,
  method: string,
  session: Session,
  json?: unknown,
): Promise<{ x: Exchange; w: Write }> {
  const x = await exchange(target, path, { method, session, json, timeoutMs: WRITE_TIMEOUT_MS });
  const acked = x.status !== null && x.status >= 200 && x.status < 300;
  const w = {
    ...fields,
    seq: rec.nextSeq(),
    writer,
    instance: target.name,
    start: x.start,
    end: x.end,
    status: x.status,
    ...(acked ? { ack: x.headersAt! } : {}),
    ...(x.error ? { error: x.error } : {}),
  } as Write;
  rec.writes.push(w);
  return { x, w };
}

const json = <T>(body: string): T | undefined => {
  try {
    return JSON.parse(body) as T;
  } catch {
    return undefined;
  }
};

export class Writer {
  readonly name: string;
  private main!: Session;
  private creator!: Session;
  private creatorUses = 0;
  private creatorCount = 0;
  private stable: LiveRoom[] = [];
  private ephemeral: LiveRoom[] = [];
  private creating = 0;
  private messages: { id: string; roomId: string; token: string }[] = [];
  private ops = 0;
  private tokens = 0;
  private ephemeralCount = 0;

  constructor(
    private readonly index: number,
    private readonly rng: Rng,
    private readonly targets: Record<Instance, Target>,
    private readonly rec: Recorder,
    private readonly control: Control,
    private readonly config: WorkloadConfig,
  ) {
    this.name = `w${index}`;
  }

  private ip(k: number) {
    return `10.99.${this.index}.${k}`;
  }

  private target(): Target {
    const to = this.control.writeTo;
    return this.targets[to[(this.ops++ + this.index) % to.length]!];
  }

  /** Its sessions and its stable rooms (created through the app, alternating instances). */
  async setup(): Promise<void> {
    this.main = await newSession(this.targets.A, this.ip(1));
    this.creator = await newSession(this.targets.B, this.ip(2));
    for (let j = 0; j < this.config.stableRooms; j++) {
      const room = await this.create(this.main, `${this.name}r${j}`);
      if (!room) throw new Error(`setup: ${this.name} could not create its room ${j}`);
      this.stable.push(room);
    }
  }

  private async create(owner: Session, label: string): Promise<LiveRoom | undefined> {
    const name = roomName(label, 0);
    const { x, w } = await write(this.rec, this.name, this.target(), { kind: "create", label, name }, "/api/rooms", "POST", owner, { name });
    const id = json<{ room?: { id: string } }>(x.body)?.room?.id;
    if (id && w.kind === "create") w.roomId = id;
    if (w.ack === undefined || !id) return undefined;
    const room = { id, label, owner, n: 0 };
    this.rec.live.set(id, room);
    this.rec.noteAck(id);
    return room;
  }

  async run(): Promise<void> {
    while (!this.control.stopped) {
      while (this.control.writersHeld && !this.control.stopped) await sleep(20);
      if (this.control.stopped) break;
      await this.step();
      const [lo, hi] = this.config.writerPauseMs;
      await sleep(lo + this.rng.next() * (hi - lo));
    }
  }

  private async step(): Promise<void> {
    const r = this.rng.next();
    if (r < 0.35) return this.rename();
    if (r < 0.7) return this.send();
    if (r < 0.8) return this.messages.length ? this.deleteMessage() : this.send();
    if (r < 0.9) return this.ephemeral.length + this.creating < this.config.ephemeralPerWriter ? this.createEphemeral() : this.rename();
    return this.ephemeral.length ? this.deleteRoom() : this.send();
  }

  private async rename(): Promise<void> {
    const room = this.rng.pick(this.stable);
    const n = room.n + 1;
    // The next number whatever happens: a rename that failed may still have committed.
    room.n = n;
    const { w } = await write(this.rec, this.name, this.target(), { kind: "rename", roomId: room.id, label: room.label, n }, `/api/rooms/by-id/${room.id}`, "PATCH", room.owner, {
      name: roomName(room.label, n),
    });
    if (w.ack !== undefined) this.rec.noteAck(room.id);
  }

  private async send(): Promise<void> {
    const rooms = [...this.rec.live.values()];
    if (rooms.length === 0) return;
    const room = this.rng.pick(rooms);
    const token = `tok-${this.name}-${++this.tokens}`;
    const { x, w } = await write(this.rec, this.name, this.target(), { kind: "send", roomId: room.id, token }, `/api/rooms/by-id/${room.id}/messages`, "POST", this.main, {
      body: `message ${token} from the torture run`,
    });
    const id = json<{ message?: { id: string } }>(x.body)?.message?.id;
    if (id && w.kind === "send") w.messageId = id;
    if (w.ack !== undefined && id) {
      this.messages.push({ id, roomId: room.id, token });
      this.rec.noteAck(room.id);
    }
  }

  private async deleteMessage(): Promise<void> {
    const i = Math.floor(this.rng.next() * this.messages.length);
    const [m] = this.messages.splice(i, 1);
    const { w } = await write(
      this.rec,
      this.name,
      this.target(),
      { kind: "delete-message", roomId: m!.roomId, token: m!.token, messageId: m!.id },
      `/api/rooms/by-id/${m!.roomId}/messages/${m!.id}`,
      "DELETE",
      this.main,
    );
    if (w.ack !== undefined) this.rec.noteAck(m!.roomId);
  }

  private async createEphemeral(): Promise<void> {
    if (this.creatorUses >= CREATES_PER_SESSION) {
      this.creatorCount++;
      this.creator = await newSession(this.targets.A, this.ip(2 + this.creatorCount));
      this.creatorUses = 0;
    }
    this.creatorUses++;
    this.creating++;
    try {
      const room = await this.create(this.creator, `${this.name}e${++this.ephemeralCount}`);
      if (room) this.ephemeral.push(room);
    } finally {
      this.creating--;
    }
  }

  private async deleteRoom(): Promise<void> {
    const i = Math.floor(this.rng.next() * this.ephemeral.length);
    const [room] = this.ephemeral.splice(i, 1);
    // Gone for the writers whatever the answer (a failed delete may have committed).
    this.rec.live.delete(room!.id);
    const { w } = await write(this.rec, this.name, this.target(), { kind: "delete-room", roomId: room!.id, label: room!.label }, `/api/rooms/by-id/${room!.id}`, "DELETE", room!.owner);
    this.rec.deleted.push(room!.id);
    if (w.ack !== undefined) this.rec.noteAck(room!.id);
  }
}

const PATHS: Record<Endpoint, (id: string) => string> = {
  "api-rooms": () => "/api/rooms",
  home: () => "/",
  "api-room": (id) => `/api/rooms/by-id/${id}`,
  "room-page": (id) => `/rooms/${id}`,
  "api-messages": (id) => `/api/rooms/by-id/${id}/messages`,
};

export class Reader {
  readonly name: string;
  private k = 0;

  constructor(
    private readonly index: number,
    private readonly rng: Rng,
    private readonly targets: Record<Instance, Target>,
    private readonly rec: Recorder,
    private readonly control: Control,
    private readonly config: WorkloadConfig,
  ) {
    this.name = `r${index}`;
  }

  /** A room to read: mostly one just written, else any live one, sometimes a deleted one. */
  private room(): string | undefined {
    const r = this.rng.next();
    if (r < 0.5 && this.rec.recent.length) return this.rng.pick(this.rec.recent);
    if (r < 0.85 || this.rec.deleted.length === 0) {
      const live = [...this.rec.live.keys()];
      return live.length ? this.rng.pick(live) : undefined;
    }
    return this.rng.pick(this.rec.deleted.slice(-20));
  }

  async run(): Promise<void> {
    while (!this.control.stopped) {
      await this.step();
      if (this.config.readerPauseMs) await sleep(this.config.readerPauseMs);
    }
  }

  private async step(): Promise<void> {
    const endpoint = this.rng.pick(ENDPOINTS);
    const from = this.control.readFrom;
    const target = this.targets[from[(this.k++ + this.index) % from.length]!];
    const roomId = endpoint === "api-rooms" || endpoint === "home" ? undefined : this.room();
    if (endpoint !== "api-rooms" && endpoint !== "home" && !roomId) return;
    const x = await exchange(target, PATHS[endpoint](roomId ?? ""), { timeoutMs: READ_TIMEOUT_MS });
    const parsed = x.status === null ? { markedStale: false } : parseResponse(endpoint, x.status, x.body);
    this.rec.reads.push({
      seq: this.rec.nextSeq(),
      reader: this.name,
      endpoint,
      instance: target.name,
      ...(roomId ? { roomId } : {}),
      start: x.start,
      end: x.end,
      status: x.status,
      markedStale: parsed.markedStale,
      ...(parsed.obs ? { obs: parsed.obs } : {}),
      ...(x.error || parsed.problem ? { error: x.error ?? parsed.problem } : {}),
    });
  }
}

export { PATHS };
