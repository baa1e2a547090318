/*
 * `npm run build:if-stale`: `npm run build` (the cache handler, then `next build`) and
 * `npm run worker:build`, except that `next build`, the minutes-long part, is skipped when
 * the build in `.next/` was made by this script from the same files. `npm run app` calls
 * it, and so does the e2e run; a second `npm run app` with nothing changed starts in
 * seconds. The two esbuild steps always run (a second each).
 *
 * "The same files": every file git does not ignore (tracked or not, by content) but the
 * folders that no build reads (tests, e2e, bench, scripts, CI: app/, lib/ and worker/ never
 * import them; worker/ imports scripts/load-env.ts, but the worker bundle is always
 * rebuilt), plus the `.env*` files and the variables the build reads (PAGE_CACHE,
 * NEXT_PUBLIC_*). The stamp lives in `.next/`, which any other `next build` empties, and
 * holds the BUILD_ID it was written for. No git (a tarball): always builds.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { z } from "zod";
import { startChild, stopChild, type Child } from "./local-services/child";

const STAMP = ".next/lobby-build-stamp.json";
/** Files and folders that `next build` never reads (see above). */
const NOT_BUILT = /^(e2e|tests|bench|scripts|\.ci)\/|\.(md|test\.tsx?)$|^(playwright|vitest)\.config\.ts$|^(Dockerfile|docker-compose\.yml|\.gitignore)$/;
const stampSchema = z.object({ fingerprint: z.string(), buildId: z.string() });

/** Hash of the build's possible inputs, or null when git cannot list them. */
export function sourceFingerprint(env: Record<string, string | undefined> = process.env, cwd = process.cwd()): string | null {
  let listed: string;
  try {
    listed = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
      cwd,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch {
    return null;
  }
  const files = listed.split("\0").filter((f) => f && !NOT_BUILT.test(f));
  files.push(...readdirSync(cwd).filter((f) => f.startsWith(".env")));
  const hash = createHash("sha256");
  for (const file of [...new Set(files)].sort()) {
    hash.update(`${file}\0`);
    try {
      hash.update(readFileSync(path.join(cwd, file)));
    } catch {
      hash.update("\0deleted"); // tracked, removed from the work tree
    }
    hash.update("\0");
  }
  const buildEnv = Object.entries(env)
    .filter(([k]) => k === "PAGE_CACHE" || k.startsWith("NEXT_PUBLIC_"))
    .sort(([a], [b]) => a.localeCompare(b));
  hash.update(JSON.stringify(buildEnv));
  return hash.digest("hex");
}

function currentStamp(): z.infer<typeof stampSchema> | null {
  try {
    return stampSchema.parse(JSON.parse(readFileSync(STAMP, "utf8")));
  } catch {
    return null;
  }
}

async function npmRun(script: string, onChild: (child: Child) => void): Promise<void> {
  const child = startChild(`npm run ${script}`, "npm", ["run", "--silent", script], { stdio: ["ignore", "inherit", "inherit"] });
  onChild(child);
  const { code, signal } = await child.exited;
  if (code !== 0) throw new Error(`npm run ${script} failed (${signal ?? `exit code ${code}`})`);
}

/**
 * Builds unless the stamp matches; returns what it did. Throws when a build fails.
 * `onChild` gets each build process, so a caller that is asked to stop can stop it.
 */
export async function buildIfStale(onChild: (child: Child) => void = () => {}): Promise<"built" | "current"> {
  const before = sourceFingerprint();
  const stamp = currentStamp();
  const current =
    before !== null &&
    stamp?.fingerprint === before &&
    existsSync(".next/BUILD_ID") &&
    readFileSync(".next/BUILD_ID", "utf8").trim() === stamp.buildId;
  await Promise.all([npmRun(current ? "cache-handler:build" : "build", onChild), npmRun("worker:build", onChild)]);
  if (current) return "current";
  // Stamp only what was built from one state of the files: an edit during the build
  // leaves no stamp, so the next run builds again.
  const after = sourceFingerprint();
  if (before && after === before) {
    writeFileSync(STAMP, JSON.stringify({ fingerprint: after, buildId: readFileSync(".next/BUILD_ID", "utf8").trim() }) + "\n");
  }
  return "built";
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  let building: Child | undefined;
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      // The build runs in a process group of its own: stop it with this one.
      void (building ? stopChild(building, 5_000) : Promise.resolve(true)).then(() => process.exit(signal === "SIGINT" ? 130 : 143));
    });
  }
  try {
    const started = performance.now();
    const result = await buildIfStale((child) => {
      building = child;
    });
    console.log(result === "current" ? "build: current, nothing to do" : `build: done in ${Math.round((performance.now() - started) / 1000)} s`);
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  }
}
