import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { REDIS_URL } from "./services";

const root = fileURLToPath(new URL("../..", import.meta.url));

export interface WorkerProcess {
  child: ChildProcess;
  /** Parsed JSON log lines so far. */
  lines: Record<string, unknown>[];
  /** Resolves with the first log line matching `test` (rejects after `timeoutMs`). */
  waitForLine(test: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
}

/**
 * `worker/index.ts` as its own Node process, as `npm run worker` starts it, wired to a
 * test's database and Redis prefix through the environment (the only way in).
 */
export function spawnWorker(env: { databaseUrl: string; prefix: string; extra?: Record<string, string> }): WorkerProcess {
  const child = spawn(process.execPath, ["--import", "tsx", "worker/index.ts"], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      NODE_ENV: "test",
      LOG_LEVEL: "info",
      DATABASE_URL: env.databaseUrl,
      REDIS_URL,
      REDIS_KEY_PREFIX: env.prefix,
      CACHE_ENABLED: "true",
      ...env.extra,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: Record<string, unknown>[] = [];
  let raw = "";
  const waiters = new Set<() => void>();
  let buffer = "";
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    raw += chunk;
    buffer += chunk;
    let nl;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      const text = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      try {
        lines.push(JSON.parse(text) as Record<string, unknown>);
      } catch {
        // not a log line
      }
    }
    for (const wake of waiters) wake();
  });
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (raw += chunk));
  const exited = once(child, "exit").then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  return {
    child,
    lines,
    exited,
    output: () => raw,
    waitForLine(test, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const hit = lines.find(test);
          if (hit) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(hit);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no matching worker log line within ${timeoutMs} ms; output:\n${raw}`));
        }, timeoutMs);
        waiters.add(check);
        void exited.then(() => {
          if (waiters.has(check)) check();
        });
        check();
      });
    },
  };
}

/** Polls `probe` until it returns a value other than undefined (no fixed sleeps in the tests). */
export async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs = 15_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
