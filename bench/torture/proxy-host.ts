/**
 * A child process holding the run's fault-injecting TCP proxies (forked by the harness).
 * Kept out of the harness's own event loop: a busy moment of the load generator (parsing
 * pages, checking) must not show up as Redis being slow.
 *
 * Messages in: { id, op: "create", name, targetPort } | { id, op: "fault", name, fault, everyMs? }
 * | { id, op: "stats" }. Out: { id, ok, port? , stats?, error? }. It exits when the
 * harness goes away (the IPC channel closes), so no proxy outlives a run.
 */
import { faultProxy, type FaultProxy } from "../../tests/support/net-faults";

export type ProxyFault = "blackhole" | "cut" | "reset" | "reset-every" | "restore";
export type ProxyRequest =
  | { id: number; op: "create"; name: string; targetPort: number }
  | { id: number; op: "fault"; name: string; fault: ProxyFault; everyMs?: number }
  | { id: number; op: "stats" };
export interface ProxyReply {
  id: number;
  ok: boolean;
  port?: number;
  stats?: Record<string, { mode: string; accepted: number; destroyed: number; droppedBytes: number; slowestConnectMs: number; slowestFirstReplyMs: number }>;
  error?: string;
}

const proxies = new Map<string, FaultProxy>();

async function handle(req: ProxyRequest): Promise<Omit<ProxyReply, "id">> {
  if (req.op === "create") {
    const p = await faultProxy(req.targetPort);
    proxies.set(req.name, p);
    return { ok: true, port: p.port };
  }
  if (req.op === "stats") {
    return { ok: true, stats: Object.fromEntries([...proxies].map(([name, p]) => [name, { mode: p.mode, ...p.stats }])) };
  }
  const p = proxies.get(req.name);
  if (!p) return { ok: false, error: `no proxy ${req.name}` };
  switch (req.fault) {
    case "blackhole":
      p.blackhole();
      break;
    case "cut":
      await p.cut();
      break;
    case "reset":
      p.reset();
      break;
    case "reset-every":
      p.resetEvery(req.everyMs ?? 1000);
      break;
    case "restore":
      await p.restore();
      break;
  }
  return { ok: true };
}

process.on("message", (req: ProxyRequest) => {
  handle(req).then(
    (reply) => process.send?.({ id: req.id, ...reply }),
    (error: unknown) => process.send?.({ id: req.id, ok: false, error: String(error) }),
  );
});
process.on("disconnect", () => {
  void Promise.all([...proxies.values()].map((p) => p.close())).finally(() => process.exit(0));
});
process.send?.({ id: 0, ok: true });
