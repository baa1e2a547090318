import { execFileSync } from "node:child_process";

/**
 * A network namespace of the test's own: a machine where 127.0.0.1 has nothing listening
 * (no Postgres, no Redis, no registry), on the same files. Needs root and iproute2.
 * Names carry the creating process's pid, so a crashed run's namespace is recognised and
 * removed by the next run, and a run in parallel is left alone.
 */
const PREFIX = "lobby-first-run-";

const ip = (...args: string[]) => execFileSync("ip", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Why namespaces cannot be made here, or null when they can. */
export function netnsUnavailable(): string | null {
  if (process.getuid?.() !== 0) return "needs root for `ip netns` (run the suite as root, as CI does)";
  try {
    ip("netns", "list");
    return null;
  } catch {
    return "`ip netns` is not available (install iproute2)";
  }
}

export function namespacePids(name: string): number[] {
  try {
    return ip("netns", "pids", name).split("\n").filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** SIGKILLs whatever runs in the namespace and deletes it. */
export function removeNamespace(name: string): void {
  for (const pid of namespacePids(name)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone
    }
  }
  try {
    ip("netns", "delete", name);
  } catch {
    // already gone
  }
}

/** Creates a namespace with only loopback, up; first removes those of dead runs. */
export function createNamespace(label: string): string {
  for (const line of ip("netns", "list").split("\n")) {
    const name = line.split(" ")[0] ?? "";
    const owner = Number(name.slice(PREFIX.length).split("-")[0]);
    if (name.startsWith(PREFIX) && Number.isInteger(owner) && !alive(owner)) removeNamespace(name);
  }
  const name = `${PREFIX}${process.pid}-${label}`;
  removeNamespace(name);
  ip("netns", "add", name);
  ip("netns", "exec", name, "ip", "link", "set", "lo", "up");
  return name;
}

/** Script run with `node -e` inside the namespace: one HTTP request, its status and body as JSON. */
const FETCH = `
const [url, method, body, origin, authorization] = process.argv.slice(1);
const headers = { ...(body ? { "content-type": "application/json", origin } : {}), ...(authorization ? { authorization } : {}) };
fetch(url, { method, body: body || undefined, headers, signal: AbortSignal.timeout(15000) })
  .then(async (r) => console.log(JSON.stringify({ status: r.status, body: await r.text() })))
  .catch((e) => console.log(JSON.stringify({ status: 0, body: String(e.cause ?? e) })));
`;

/** An HTTP request made from inside the namespace (the test itself is outside it). */
export function fetchIn(name: string, url: string, init: { method?: string; json?: unknown; authorization?: string } = {}): { status: number; body: string } {
  const out = execFileSync(
    "ip",
    ["netns", "exec", name, process.execPath, "-e", FETCH, url, init.method ?? "GET", init.json === undefined ? "" : JSON.stringify(init.json), new URL(url).origin, init.authorization ?? ""],
    { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
  );
  return JSON.parse(out) as { status: number; body: string };
}
