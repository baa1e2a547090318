/**
 * The forced races of the peers scenario, one harness for every cache (Lobby's and the
 * peers'). A read is **stale** when it does not show a rename acknowledged (its 2xx
 * received) before the read was sent.
 *
 * (a) An invalidation landing while a fill that began before it is in flight: rename to n1
 *     on A; a read on A whose fill (a page render, a list load) the probe holds 1 s after
 *     its data read (lib/bench/probe.ts); while it holds, rename to n2 and wait for the 2xx;
 *     then let the fill finish and be stored, and read again: it must show n2. Pages: the
 *     second rename and read on A (the regeneration's own instance). Data: on B (the
 *     classic cache-aside race: a reader elsewhere stores what it read before the write).
 * (b) A write on instance A read on instance B right after the 2xx: B serves the subject
 *     first (so it holds whatever its cache keeps), A renames, and the read on B is sent as
 *     soon as A's 2xx arrives.
 */
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { z } from "zod";
import type { ProbePoint } from "../../lib/bench/probe";
import { exchange, newSession, type Session, type Target } from "../torture/http";

/** How long the probe holds the fill of race (a): far longer than a rename takes. */
const HOLD_MS = 1_000;

export interface RaceOutcome {
  /** Iterations whose interleaving was forced as described (one checked read each). */
  forced: number;
  /** Of those, reads that did not show the acknowledged write. */
  stale: number;
  /** Iterations that could not be forced (no fill began, or it ended before the 2xx): not counted. */
  unforced: number;
  /** For stale reads: ms from the 2xx to the read's start. */
  staleAfterAckMs: number[];
  /** Of the stale reads, those whose instance still served the old value to a read 1 s later. */
  stillStaleAfter1s: number;
  /** Iterations that failed (a request that erred or timed out): not counted, their messages kept. */
  failed: string[];
}

/** What a race reads and writes: the home page, or a room list endpoint. */
export interface Subject {
  point: ProbePoint;
  /** Sends the read; whether the room shows under `name`. */
  read(target: Target, room: RaceRoom, name: string): Promise<{ start: number; shows: boolean }>;
  /** The rename; resolves with the time its 2xx arrived. */
  write(target: Target, room: RaceRoom, name: string): Promise<number>;
}

const probeSchema = z.object({ passes: z.number(), finished: z.number(), holdNextMs: z.number(), holding: z.number() });
const roomSchema = z.object({ room: z.object({ id: z.uuid(), name: z.string() }) });
const listSchema = z.object({ rooms: z.array(z.object({ id: z.string(), name: z.string() })) });

async function probe(url: string, point: ProbePoint, holdMs?: number) {
  const res = await fetch(`${url}/bench/probe?point=${point}`, {
    method: holdMs === undefined ? "GET" : "POST",
    headers: holdMs === undefined ? {} : { "content-type": "application/json", origin: url },
    body: holdMs === undefined ? undefined : JSON.stringify({ holdMs }),
  });
  if (!res.ok) throw new Error(`${url}/bench/probe: ${res.status}`);
  return probeSchema.parse(await res.json());
}

/** Passes a server's probe has counted at `point` (home page renders, list loads). */
export const passes = async (url: string, point: ProbePoint) => (await probe(url, point)).passes;

/** The room a variant's races rename, created through the app by its owner. */
export interface RaceRoom {
  id: string;
  owner: Session;
  tag: string;
}

export async function raceRoom(target: Target, tag: string, ip: string): Promise<RaceRoom> {
  const owner = await newSession(target, ip);
  const r = await exchange(target, "/api/rooms", { method: "POST", session: owner, json: { name: `peers ${tag} ${randomBytes(3).toString("hex")}` }, timeoutMs: 10_000 });
  if (r.status !== 201) throw new Error(`creating the race room on ${target.url}: ${r.status ?? r.error} ${r.body.slice(0, 200)}`);
  return { id: roomSchema.parse(JSON.parse(r.body)).room.id, owner, tag };
}

async function patch(target: Target, path: string, room: RaceRoom, name: string): Promise<number> {
  const r = await exchange(target, path, { method: "PATCH", session: room.owner, json: { name }, timeoutMs: 10_000 });
  if (r.status !== 200 || r.headersAt === undefined) throw new Error(`rename on ${target.url}${path}: ${r.status ?? r.error} ${r.body.slice(0, 200)}`);
  return r.headersAt;
}

/** The home page (HTML), renamed through the app's own route. */
export const homePage: Subject = {
  point: "render",
  async read(target, _room, name) {
    const r = await exchange(target, "/", { timeoutMs: 10_000 });
    if (r.status !== 200) throw new Error(`GET / on ${target.url}: ${r.status ?? r.error}`);
    return { start: r.start, shows: r.body.includes(name) };
  },
  write: (target, room, name) => patch(target, `/api/rooms/by-id/${room.id}`, room, name),
};

/** A room list endpoint (JSON `{ rooms }`), renamed through `writePath`. */
export function roomList(path: string, writePath: (roomId: string) => string): Subject {
  return {
    point: "load",
    async read(target, room, name) {
      const r = await exchange(target, path, { timeoutMs: 10_000 });
      if (r.status !== 200) throw new Error(`GET ${path} on ${target.url}: ${r.status ?? r.error}`);
      const found = listSchema.parse(JSON.parse(r.body)).rooms.find((x) => x.id === room.id);
      return { start: r.start, shows: found?.name === name };
    },
    write: (target, room, name) => patch(target, writePath(room.id), room, name),
  };
}

const freshName = (room: RaceRoom, race: string, i: number) => `pr-${room.tag}-${race}${i}-${randomBytes(3).toString("hex")}`;

async function until(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(10);
  }
  return false;
}

const outcome = (): RaceOutcome => ({ forced: 0, stale: 0, unforced: 0, staleAfterAckMs: [], stillStaleAfter1s: 0, failed: [] });

/** Runs one iteration; a failed request fails the iteration (recorded), not the run. */
async function iteration(out: RaceOutcome, run: () => Promise<void>) {
  try {
    await run();
  } catch (error) {
    out.failed.push((error as Error).message.slice(0, 200));
    await sleep(HOLD_MS);
  }
}

/** Counts a checked read; for a stale one, whether its instance still serves the old value 1 s later. */
async function check(out: RaceOutcome, subject: Subject, target: Target, room: RaceRoom, name: string, read: { start: number; shows: boolean }, ackAt: number) {
  out.forced++;
  if (read.shows) return;
  out.stale++;
  out.staleAfterAckMs.push(Math.round(read.start - ackAt));
  await sleep(1_000);
  if (!(await subject.read(target, room, name)).shows) out.stillStaleAfter1s++;
}

/**
 * Race (a): `n` forced iterations (at most 2n attempts). The fill runs on `a`; the second
 * rename and the checked read go to `after` (`a` itself for pages, the other instance for data).
 */
export async function raceDuringFill(subject: Subject, a: Target, after: Target, room: RaceRoom, n: number): Promise<RaceOutcome> {
  const out = outcome();
  const point = subject.point;
  for (let i = 0; out.forced < n && i < 2 * n; i++) {
    await iteration(out, async () => {
      const n1 = freshName(room, "a", i);
      const n2 = `${n1}-2`;
      await subject.write(a, room, n1);
      // A write that invalidates after its 2xx (a route handler's revalidatePath runs after the response): let it land.
      await sleep(250);
      await probe(a.url, point, HOLD_MS);
      const first = subject.read(a, room, n1);
      first.catch(() => {}); // awaited below; a failure elsewhere first must not leave it unhandled
      const held = await until(async () => (await probe(a.url, point)).holding > 0, 2_000);
      let forced = false;
      if (held) {
        const ackAt = await subject.write(after, room, n2);
        forced = (await probe(a.url, point)).holding > 0;
        await first;
        // The held fill finishes and is stored (in the background, for a cache that answered the first read without waiting).
        await until(async () => {
          const p = await probe(a.url, point);
          return p.holding === 0 && p.finished === p.passes;
        }, 5_000);
        await sleep(300);
        if (forced) await check(out, subject, after, room, n2, await subject.read(after, room, n2), ackAt);
      } else {
        await first;
      }
      if (!forced) {
        out.unforced++;
        // Disarm a hold nothing took, and let this iteration's fills end before the next.
        await probe(a.url, point, 0);
        await sleep(HOLD_MS);
      }
    });
  }
  return out;
}

/** Race (b): rename on A, read on B as soon as the 2xx arrives; `n` iterations. */
export async function raceAcrossInstances(subject: Subject, a: Target, b: Target, room: RaceRoom, n: number): Promise<RaceOutcome> {
  const out = outcome();
  for (let i = 0; out.forced < n && i < 2 * n; i++) {
    await iteration(out, async () => {
      const name = freshName(room, "b", i);
      // B serves the subject just before the write, so it holds whatever its cache keeps.
      await subject.read(b, room, name);
      const ackAt = await subject.write(a, room, name);
      await check(out, subject, b, room, name, await subject.read(b, room, name), ackAt);
      await sleep(200);
    });
  }
  return out;
}
