import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { constants } from "node:os";

/**
 * A process `npm run app` started, in a process group of its own: a Ctrl-C in the
 * terminal reaches only `npm run app`, which then stops its children in order (web and
 * worker before the databases they use), and a stop signals the whole group, so nothing
 * a child started itself is left behind.
 */
export interface Child {
  name: string;
  process: ChildProcess;
  /** Settles when the process has exited; never rejects. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startChild(name: string, command: string, args: string[], options: SpawnOptions): Child {
  const child = spawn(command, args, { ...options, detached: true });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("exit", (code, signal) => resolve({ code, signal }));
    // A command that could not start at all (ENOENT) emits "error" and never "exit".
    child.once("error", () => resolve({ code: null, signal: null }));
  });
  return { name, process: child, exited };
}

function signalGroup(child: Child, signal: NodeJS.Signals): void {
  const pid = child.process.pid;
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is gone already.
  }
}

/**
 * Sends `signal` to the child's group and waits for the child to exit; past `graceMs` the
 * group is killed (SIGKILL). Resolves to true when the child stopped within the grace.
 */
export async function stopChild(child: Child, graceMs: number, signal: NodeJS.Signals = "SIGTERM"): Promise<boolean> {
  if (child.process.exitCode !== null || child.process.signalCode !== null) {
    signalGroup(child, "SIGKILL"); // whatever it left in its group
    return true;
  }
  signalGroup(child, signal);
  let timer: NodeJS.Timeout | undefined;
  const inTime = await Promise.race([
    child.exited.then(() => true),
    new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), graceMs);
    }),
  ]);
  clearTimeout(timer);
  // Anything still in the group (its own children) goes with it.
  signalGroup(child, "SIGKILL");
  if (!inTime) await child.exited;
  return inTime;
}

/**
 * Runs a command in this process group (a terminal's Ctrl-C reaches it directly), passing
 * on any other stop signal once, and settles with its exit code (128 + signal number when
 * a signal ended it, 127 when it could not start). For wrappers that provide services to a
 * command (the test suite's Postgres and Redis, a Redis Cluster) and stop them after it.
 */
export function runForeground(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const child = spawn(command, args, { stdio: "inherit", env });
  let forwarded = false;
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(signal, () => {
      if (signal !== "SIGINT" && !forwarded) child.kill(signal);
      forwarded = true;
    });
  }
  return new Promise<number>((resolve) => {
    child.once("exit", (c, s) => resolve(c ?? 128 + (s ? constants.signals[s] : 0)));
    child.once("error", () => resolve(127));
  });
}
