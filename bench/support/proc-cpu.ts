import { readdirSync, readFileSync } from "node:fs";

/*
 * CPU time from Linux's /proc, for benches that must say where a run's time went on a
 * shared machine: a process's own, every Postgres process's, the whole machine's. Clock
 * ticks are 100 a second (USER_HZ) on Linux. Null where /proc cannot be read.
 */

const TICK_MS = 10;

/** stat(5) fields after the command name: [0] is field 3 (state), so field n is at n - 3. */
function statFields(pid: number | string): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(") ") + 2).split(" ");
  } catch {
    return null; // gone meanwhile
  }
}

const field = (f: string[], n: number) => Number(f[n - 3]);

/** A process's CPU time so far (user + system), in ms; null when it is gone. */
export function processCpuMs(pid: number): number | null {
  const f = statFields(pid);
  return f ? (field(f, 14) + field(f, 15)) * TICK_MS : null;
}

/**
 * CPU time of every Postgres server process on this machine so far, in ms: the live ones'
 * own, plus what each postmaster has collected from its children that exited (a backend
 * ends with its connection, and its time moves to its parent's cutime/cstime). Other
 * clients' work on a shared server counts too.
 */
export function postgresCpuMs(): number | null {
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((p) => /^\d+$/.test(p));
  } catch {
    return null;
  }
  const postgres = new Map<string, string[]>();
  for (const pid of pids) {
    let comm: string;
    try {
      comm = readFileSync(`/proc/${pid}/comm`, "utf8").trim();
    } catch {
      continue;
    }
    if (comm !== "postgres") continue;
    const f = statFields(pid);
    if (f) postgres.set(pid, f);
  }
  let ticks = 0;
  for (const f of postgres.values()) {
    ticks += field(f, 14) + field(f, 15);
    // A postmaster: its parent is not a Postgres process. Its reaped children's time is its cutime/cstime.
    if (!postgres.has(String(field(f, 4)))) ticks += field(f, 16) + field(f, 17);
  }
  return ticks * TICK_MS;
}

/** The machine's CPU time so far, every core summed (/proc/stat), in ms: busy, idle (with I/O wait), and stolen by the host. */
export function machineCpuMs(): { busy: number; idle: number; steal: number } | null {
  try {
    const [, ...v] = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/);
    const [user, nice, system, idle, iowait, irq, softirq, steal] = v.map(Number) as number[];
    return { busy: (user! + nice! + system! + irq! + softirq!) * TICK_MS, idle: (idle! + iowait!) * TICK_MS, steal: steal! * TICK_MS };
  } catch {
    return null;
  }
}

/**
 * How long a process's threads have waited, runnable, for a CPU so far (schedstat's
 * run_delay, summed over its threads), in ms; null where it cannot be read. The share of a
 * span spent waiting says how far a pinned process is from having its core to itself.
 * `mainOnly`: its main thread's alone (a Node process's event loop).
 */
export function runQueueWaitMs(pid: number, mainOnly = false): number | null {
  try {
    let ns = 0;
    for (const task of mainOnly ? [String(pid)] : readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, "utf8").split(" ")[1]);
      } catch {
        // the thread ended meanwhile
      }
    }
    return ns / 1e6;
  } catch {
    return null;
  }
}
