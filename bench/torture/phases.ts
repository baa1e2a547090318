import { setTimeout as pause } from "node:timers/promises";
import { now, type Phase } from "./history";
import type { Control } from "./workload";

/*
 * The fault schedule. Each phase has a fault window (`fault` seconds) and a recovery window
 * (`after` seconds) under the same name: a read is attributed to the phase in which it
 * started, so staleness a fault leaves behind after it is lifted counts against that fault.
 */

export type PhaseName =
  | "steady"
  | "redis-blackhole"
  | "redis-reset"
  | "flushdb"
  | "partition"
  | "worker-kill"
  | "pg-blackhole"
  | "oob-rename"
  | "replica-lagging"
  | "replica-bursts"
  | "replica-caught-up"
  | "replica-stopped";

export interface PhaseSpec {
  name: PhaseName;
  fault: number;
  after: number;
}

export type Mode = "short" | "default" | "long";

/** Seconds. Short: ≈ 50 s of load (the out-of-band rename's wait included); default ≈ 105 s; long ≈ 5 minutes. */
export const MODES: Record<Mode, PhaseSpec[]> = {
  short: [
    { name: "steady", fault: 0, after: 4 },
    { name: "redis-blackhole", fault: 4, after: 2 },
    { name: "redis-reset", fault: 4, after: 2 },
    { name: "flushdb", fault: 4, after: 2 },
    { name: "partition", fault: 5, after: 2 },
    { name: "worker-kill", fault: 2, after: 2 },
    { name: "pg-blackhole", fault: 5, after: 2 },
    { name: "oob-rename", fault: 0, after: 1 },
  ],
  default: [
    { name: "steady", fault: 0, after: 12 },
    { name: "redis-blackhole", fault: 10, after: 4 },
    { name: "redis-reset", fault: 10, after: 4 },
    { name: "flushdb", fault: 8, after: 6 },
    { name: "partition", fault: 12, after: 3 },
    { name: "worker-kill", fault: 4, after: 6 },
    { name: "pg-blackhole", fault: 5, after: 6 },
    { name: "oob-rename", fault: 0, after: 5 },
  ],
  long: [
    { name: "steady", fault: 0, after: 40 },
    { name: "redis-blackhole", fault: 30, after: 10 },
    { name: "redis-reset", fault: 30, after: 10 },
    { name: "flushdb", fault: 25, after: 15 },
    { name: "partition", fault: 35, after: 10 },
    { name: "worker-kill", fault: 10, after: 15 },
    { name: "pg-blackhole", fault: 5, after: 15 },
    { name: "oob-rename", fault: 0, after: 15 },
  ],
};

/**
 * Replica mode (`--replica-lag-ms`): the run's Postgres is a primary and a streaming replica
 * held that far behind. Lagging (load as it comes: under steady writes the fence refuses
 * every read, and the app soon takes the lagging replica out of rotation), bursts (the
 * fault window: writes come in bursts of BURST_MS with the writers held BURST_QUIET_MS past
 * the lag in between, so the replica catches up, is in rotation, and is behind again the
 * moment a burst's first write is acknowledged: the reads right after it are the fence's to
 * send to the primary), caught up (the fault window: apply
 * delay 0, then the lag again), stopped (the fault window: the replica stopped at once, then
 * started again, still lagging: under steady writes the app's probe keeps it out of rotation),
 * and the out-of-band rename (written on the primary, read by the worker's reconciliation).
 */
export const REPLICA_MODES: Record<Mode, PhaseSpec[]> = {
  short: [
    { name: "replica-lagging", fault: 0, after: 4 },
    { name: "replica-bursts", fault: 27, after: 2 },
    { name: "replica-caught-up", fault: 5, after: 2 },
    { name: "replica-stopped", fault: 6, after: 6 },
    { name: "oob-rename", fault: 0, after: 1 },
  ],
  default: [
    { name: "replica-lagging", fault: 0, after: 15 },
    { name: "replica-bursts", fault: 54, after: 5 },
    { name: "replica-caught-up", fault: 12, after: 6 },
    { name: "replica-stopped", fault: 12, after: 12 },
    { name: "oob-rename", fault: 0, after: 5 },
  ],
  long: [
    { name: "replica-lagging", fault: 0, after: 40 },
    { name: "replica-bursts", fault: 120, after: 10 },
    { name: "replica-caught-up", fault: 40, after: 20 },
    { name: "replica-stopped", fault: 40, after: 30 },
    { name: "oob-rename", fault: 0, after: 15 },
  ],
};

/** Replica mode's bursts: how long the writers write, and how long past the lag they are held after. */
export const BURST_MS = 1_000;
/**
 * Past the lag: longer than the app's replica probe period (halfOpenAfterMs, 5 s), so a
 * replica the last burst took out of rotation is probed, back, and serving before the next.
 */
export const BURST_QUIET_MS = 6_500;

/** What the phases act on. */
export interface FaultTargets {
  /** The Redis proxies: instance A's, instance B's, the worker's. */
  redis: { A: string; B: string; worker: string };
  pg: string;
  proxyFault(name: string, fault: "blackhole" | "cut" | "reset-every" | "restore"): Promise<void>;
  flushdb(): Promise<void>;
  killWorker(): Promise<void>;
  startWorker(): Promise<void>;
  /** The out-of-band rename; resolves when every endpoint of both instances shows it (ms after the commit), or undefined at the deadline. */
  outOfBandRename(): Promise<number | undefined>;
  /** Replica mode: the replica's apply delay, stop (immediate) and start. */
  replica?: {
    lagMs: number;
    setApplyDelay(ms: number): Promise<void>;
    stop(): Promise<void>;
    start(): Promise<void>;
    /** Bytes of WAL the primary wrote since `from` (a position this returned before), and its position now. */
    walSince(from?: string): Promise<{ lsn: string; bytes: number; records: string }>;
  };
  /** Called as each phase ends (replica mode: the instances' routed-read counters by phase). */
  phaseEnded?(name: PhaseName): Promise<void>;
}

export interface PhaseLog {
  phases: Phase[];
  /** The Postgres outage, for counting 5xx during it. */
  pgOutage?: { start: number; end: number };
  flushes: number[];
  oobVisibleMs?: number | null;
  events: { at: number; what: string }[];
}

/** Runs the schedule while the clients run; `say` narrates. */
export async function runPhases(specs: PhaseSpec[], t: FaultTargets, control: Control, say: (line: string) => void): Promise<PhaseLog> {
  const log: PhaseLog = { phases: [], flushes: [], events: [] };
  /** Waits, but no longer than the run: an interrupted run (control.stopped) goes on to its end at once. */
  const sleep = async (ms: number) => {
    const until = now() + ms;
    while (!control.stopped && now() < until) await pause(Math.min(100, until - now()));
  };
  const event = (what: string) => log.events.push({ at: now(), what });
  const allRedis = [t.redis.A, t.redis.B, t.redis.worker];
  for (const spec of specs) {
    if (control.stopped) break;
    const start = now();
    say(`phase ${spec.name} (${spec.fault ? `${spec.fault} s fault, ` : ""}${spec.after} s after)`);
    let oob: Promise<number | undefined> | undefined;
    switch (spec.name) {
      case "steady":
        break;
      case "redis-blackhole":
        for (const p of allRedis) await t.proxyFault(p, "blackhole");
        event("redis blackholed for all");
        await sleep(spec.fault * 1000);
        for (const p of allRedis) await t.proxyFault(p, "restore");
        break;
      case "redis-reset":
        for (const p of allRedis) await t.proxyFault(p, "reset-every");
        event("redis connections reset every second");
        await sleep(spec.fault * 1000);
        for (const p of allRedis) await t.proxyFault(p, "restore");
        break;
      case "flushdb":
        await t.flushdb();
        log.flushes.push(now());
        event("FLUSHDB");
        await sleep((spec.fault * 1000) / 2);
        await t.flushdb();
        log.flushes.push(now());
        event("FLUSHDB");
        await sleep((spec.fault * 1000) / 2);
        break;
      case "partition":
        // The writer cannot reach Redis, its readers can: writes go through A, reads through B.
        control.writeTo = ["A"];
        control.readFrom = ["B"];
        await t.proxyFault(t.redis.A, "cut");
        event("A cut off from Redis; writes to A, reads from B");
        await sleep(spec.fault * 1000);
        await t.proxyFault(t.redis.A, "restore");
        control.writeTo = ["A", "B"];
        control.readFrom = ["A", "B"];
        break;
      case "worker-kill":
        await t.killWorker();
        event("worker SIGKILLed");
        await sleep(spec.fault * 1000);
        await t.startWorker();
        event("worker restarted");
        break;
      case "pg-blackhole": {
        await t.proxyFault(t.pg, "blackhole");
        const from = now();
        event("Postgres blackholed");
        await sleep(spec.fault * 1000);
        await t.proxyFault(t.pg, "restore");
        log.pgOutage = { start: from, end: now() };
        event("Postgres restored");
        break;
      }
      case "replica-lagging":
        break;
      case "replica-bursts": {
        const r = need(t.replica, spec.name);
        const until = now() + spec.fault * 1000;
        let bursts = 0;
        const quietWal: string[] = [];
        while (!control.stopped && now() < until) {
          control.writersHeld = true;
          // The WAL the primary writes in the quiet window once the replica should have caught up:
          // any of it keeps the fence failing (diagnostic, in the events).
          const quietEnd = now() + Math.min(r.lagMs + BURST_QUIET_MS, until - now());
          await sleep(Math.min(r.lagMs + 1000, quietEnd - now()));
          const from = await r.walSince();
          await sleep(quietEnd - now());
          const wal = await r.walSince(from.lsn);
          quietWal.push(`${wal.bytes}${wal.records ? ` (${wal.records})` : ""}`);
          if (now() >= until) break;
          control.writersHeld = false;
          bursts++;
          await sleep(BURST_MS);
        }
        control.writersHeld = false;
        event(`${bursts} bursts of writes, ${BURST_MS} ms each, ${r.lagMs + BURST_QUIET_MS} ms of quiet before each; WAL written in the last ${BURST_QUIET_MS - 1000} ms of each quiet window, bytes (records): ${quietWal.join("; ")}`);
        break;
      }
      case "replica-caught-up": {
        const r = need(t.replica, spec.name);
        await r.setApplyDelay(0);
        event("replica apply delay 0");
        await sleep(spec.fault * 1000);
        await r.setApplyDelay(r.lagMs);
        event(`replica apply delay ${r.lagMs} ms again`);
        break;
      }
      case "replica-stopped": {
        const r = need(t.replica, spec.name);
        await r.stop();
        event("replica stopped (immediate)");
        await sleep(spec.fault * 1000);
        await r.start();
        event("replica started");
        break;
      }
      case "oob-rename":
        event("out-of-band SQL rename");
        oob = t.outOfBandRename();
        break;
    }
    const faultEnd = now();
    await sleep(spec.after * 1000);
    if (oob) {
      log.oobVisibleMs = (await oob) ?? null;
      event(log.oobVisibleMs === null ? "out-of-band rename not visible everywhere by the deadline" : `out-of-band rename visible everywhere after ${(log.oobVisibleMs / 1000).toFixed(1)} s`);
    }
    log.phases.push({ name: spec.name, start, faultEnd, end: now() });
    await t.phaseEnded?.(spec.name);
  }
  return log;
}

function need<T>(x: T | undefined, phase: string): T {
  if (x === undefined) throw new Error(`phase ${phase} needs the replica mode (--replica-lag-ms)`);
  return x;
}
