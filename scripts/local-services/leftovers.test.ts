import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ProcessRecord, startTime } from "./leftovers";

const dir = mkdtempSync(path.join(tmpdir(), "lobby-leftovers-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("ProcessRecord (what a SIGKILLed npm run app left running)", () => {
  it("stops the processes of a run that is gone, and only those whose pid still names the same process", async () => {
    // A run that is gone: a process that has exited.
    const owner = spawnSync("true");
    const sleeper = spawn("sleep", ["60"], { detached: true, stdio: "ignore" });
    const sleeperStarted = startTime(sleeper.pid!);
    expect(sleeperStarted).not.toBeNull();
    writeFileSync(
      path.join(dir, "processes.json"),
      JSON.stringify({
        owner: { pid: owner.pid, started: "Thu Jan  1 00:00:00 1970" },
        processes: [
          { name: "redis", pid: sleeper.pid, started: sleeperStarted },
          // This pid now names another process (this test's): never signalled.
          { name: "web", pid: process.pid, started: "Thu Jan  1 00:00:00 1970" },
        ],
      }),
    );
    const exited = new Promise((r) => sleeper.once("exit", r));

    const stopped = await new ProcessRecord(dir).stopLeftovers(2_000);

    expect(stopped).toEqual([`redis (pid ${sleeper.pid})`]);
    await exited;
    expect(alive(sleeper.pid!)).toBe(false);
    expect(existsSync(path.join(dir, "processes.json"))).toBe(false);
  });

  it("leaves a run that is still alive alone", async () => {
    const sleeper = spawn("sleep", ["60"], { detached: true, stdio: "ignore" });
    try {
      const live = new ProcessRecord(dir); // owner: this process, alive
      live.add("redis", sleeper.pid);
      expect(await new ProcessRecord(dir).stopLeftovers(500)).toEqual([]);
      expect(alive(sleeper.pid!)).toBe(true);
    } finally {
      sleeper.kill("SIGKILL");
    }
  });
});
