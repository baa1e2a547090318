import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";

/*
 * The production build is reused when it is newer than every source file it is made of:
 * `.next/BUILD_ID` and `dist/cache-handler.mjs` (both written by `npm run build`) against
 * the files git knows (tracked or untracked, not ignored) under the web app's sources, and
 * `dist/worker.mjs` against the worker's. A checkout or rebase that changes a file gives it
 * a new mtime, so the build is redone; a stale build is never measured by mistake.
 */

const WEB_SOURCES = ["app", "lib", "proxy.ts", "instrumentation.ts", "next.config.ts", "package.json", "package-lock.json", "tsconfig.json", "drizzle"];
const WORKER_SOURCES = ["worker", "lib", "scripts/load-env.ts", "package.json", "package-lock.json"];

function newestSource(paths: string[]): { file: string; mtimeMs: number } {
  const files = execFileSync("git", ["ls-files", "-co", "--exclude-standard", "--", ...paths], { encoding: "utf8" }).split("\n").filter(Boolean);
  let newest = { file: "", mtimeMs: 0 };
  for (const file of files) {
    if (!existsSync(file)) continue;
    const m = statSync(file).mtimeMs;
    if (m > newest.mtimeMs) newest = { file, mtimeMs: m };
  }
  return newest;
}

const mtime = (file: string) => (existsSync(file) ? statSync(file).mtimeMs : 0);

/** Why each output must be rebuilt (empty: both are current). */
export function staleOutputs(): { web?: string; worker?: string } {
  const out: { web?: string; worker?: string } = {};
  const web = Math.min(mtime(".next/BUILD_ID"), mtime("dist/cache-handler.mjs"));
  const webSrc = newestSource(WEB_SOURCES);
  if (web === 0) out.web = "no .next/BUILD_ID or dist/cache-handler.mjs";
  else if (webSrc.mtimeMs > web) out.web = `${webSrc.file} is newer than the build`;
  const worker = mtime("dist/worker.mjs");
  const workerSrc = newestSource(WORKER_SOURCES);
  if (worker === 0) out.worker = "no dist/worker.mjs";
  else if (workerSrc.mtimeMs > worker) out.worker = `${workerSrc.file} is newer than dist/worker.mjs`;
  return out;
}

/** Builds what is out of date (or everything with `force`); says what it decided. */
export function ensureBuilt(force: boolean, say: (line: string) => void): void {
  const stale = force ? { web: "--build given", worker: "--build given" } : staleOutputs();
  for (const [what, script] of [
    ["web", "build"],
    ["worker", "worker:build"],
  ] as const) {
    const why = stale[what];
    if (!why) {
      say(`${what} build is current (newer than every source file): reused`);
      continue;
    }
    say(`${what} build: ${why}; running npm run ${script}`);
    const r = spawnSync("npm", ["run", script], { stdio: ["ignore", "inherit", "inherit"] });
    if (r.status !== 0) throw new Error(`npm run ${script} failed`);
  }
}
