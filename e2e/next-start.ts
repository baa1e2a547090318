import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { expect } from "@playwright/test";
import { appEnv } from "./env";

/**
 * Another `next start` of the build the e2e run made, with its own environment, as one node
 * process (so stopping it by its pid frees the port). For specs that need a server the
 * configured ones are not: another configuration, or one that must refuse to start.
 */
export function nextStart(port: number, env: Record<string, string>) {
  let child: ChildProcess | undefined;
  let output = "";
  const spawnIt = (): ChildProcess => {
    const proc = spawn(process.execPath, ["node_modules/next/dist/bin/next", "start", "-p", String(port)], {
      env: { ...process.env, ...appEnv, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    for (const stream of [proc.stdout, proc.stderr]) stream.setEncoding("utf8").on("data", (d: string) => (output += d));
    child = proc;
    return proc;
  };
  return {
    url: `http://127.0.0.1:${port}`,
    /** Everything the server printed so far (stdout and stderr). */
    output: () => output,
    /** Starts it and waits until it answers. */
    async start() {
      spawnIt();
      await expect(async () => {
        expect(child!.exitCode, `next start exited:\n${output}`).toBeNull();
        expect((await fetch(`http://127.0.0.1:${port}/api/session`)).ok).toBe(true);
      }).toPass({ timeout: 30_000, intervals: [250] });
    },
    /**
     * Starts it and resolves with how it exited; a server still running after `timeoutMs`
     * is killed and resolves as `{ code: null, signal: "SIGKILL" }`.
     */
    async run(timeoutMs: number) {
      const proc = spawnIt();
      const exited = once(proc, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
      const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
      const [code, signal] = await exited;
      clearTimeout(timer);
      return { code, signal, output };
    },
    async stop() {
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, "exit");
      child.kill("SIGTERM");
      await exited;
    },
  };
}
