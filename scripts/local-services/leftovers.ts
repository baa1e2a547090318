import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { z } from "zod";

/*
 * SIGKILL cannot be caught: an `npm run app` killed that way leaves its redis-server, web
 * server and worker running (the embedded Postgres stops by itself), holding the ports the
 * next run needs. So each run writes down what it started, with each process's start time
 * (a pid alone may have been reused by then), and the next run stops what the list still
 * names, before anything else; a clean stop removes the list.
 */

const listSchema = z.object({
  owner: z.object({ pid: z.number().int(), started: z.string() }),
  processes: z.array(z.object({ name: z.string(), pid: z.number().int(), started: z.string() })),
});
type ProcessList = z.infer<typeof listSchema>;

/** When the process started, as `ps` says (stable for its lifetime), or null when it is gone. */
export function startTime(pid: number): string | null {
  try {
    const out = execFileSync("ps", ["-o", "lstart=", "-p", String(pid)], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    return out || null;
  } catch {
    return null;
  }
}

export class ProcessRecord {
  private readonly file: string;
  private readonly list: ProcessList;

  constructor(dataDir: string) {
    this.file = path.join(dataDir, "processes.json");
    this.list = { owner: { pid: process.pid, started: startTime(process.pid) ?? "" }, processes: [] };
  }

  add(name: string, pid: number | undefined): void {
    const started = pid === undefined ? null : startTime(pid);
    if (pid === undefined || !started) return;
    this.list.processes.push({ name, pid, started });
    this.write();
  }

  /** After a clean stop: nothing is left to find. */
  clear(): void {
    rmSync(this.file, { force: true });
  }

  private write(): void {
    mkdirSync(path.dirname(this.file), { recursive: true });
    writeFileSync(`${this.file}.tmp`, JSON.stringify(this.list));
    renameSync(`${this.file}.tmp`, this.file);
  }

  /**
   * Stops what a run that is gone left running (its own group first with SIGTERM, then
   * SIGKILL after `graceMs`); returns their names. A run that is still alive is left alone.
   */
  async stopLeftovers(graceMs = 5_000): Promise<string[]> {
    let previous: ProcessList;
    try {
      previous = listSchema.parse(JSON.parse(readFileSync(this.file, "utf8")));
    } catch {
      return [];
    }
    if (startTime(previous.owner.pid) === previous.owner.started) return [];
    const left = previous.processes.filter((p) => startTime(p.pid) === p.started);
    const signal = (pid: number, s: NodeJS.Signals) => {
      try {
        process.kill(-pid, s); // each was started as the leader of its own group
      } catch {
        // gone
      }
    };
    for (const p of left) signal(p.pid, "SIGTERM");
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline && left.some((p) => startTime(p.pid) === p.started)) await new Promise((r) => setTimeout(r, 100));
    for (const p of left) signal(p.pid, "SIGKILL");
    this.clear();
    return left.map((p) => `${p.name} (pid ${p.pid})`);
  }
}
