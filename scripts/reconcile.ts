/*
 * `npm run reconcile [-- --dry-run] [--reason TEXT] [--timeout SECONDS]`: asks the worker
 * for a forced reconciliation run, waits for it and prints its report. The run happens in
 * the worker (so it takes the same lock and never overlaps a scheduled run); a worker must
 * be running (`npm run worker`). --dry-run reports what would be repaired, repairing nothing.
 * Exit code: 0 on a report, 1 on failure or timeout.
 */
import "./load-env";
import { parseArgs } from "node:util";
import { QueueEvents } from "bullmq";
import { env } from "@/lib/env";
import { JOB, ROOMS_QUEUE, queueOptions } from "@/lib/queue/contract";
import { createRoomsQueue, enqueue } from "@/lib/queue/producer";
import type { ReconcileProgress, ReconcileReport } from "@/lib/reconcile/reconciliation-service";

const { values: args } = parseArgs({
  options: {
    "dry-run": { type: "boolean", default: false },
    reason: { type: "string", default: "cli" },
    timeout: { type: "string", default: "600" },
  },
});

const config = env();
if (!config.redisTcp) {
  console.error("reconcile: BullMQ needs Redis over TCP; set REDIS_URL or REDIS_CLUSTER_NODES");
  process.exit(1);
}
const queue = createRoomsQueue(config.redisTcp, config.keyPrefix);
const eventsConnection = queueOptions(config.redisTcp, config.keyPrefix);
const events = new QueueEvents(ROOMS_QUEUE, eventsConnection.options);
const tty = process.stderr.isTTY;

try {
  await events.waitUntilReady();
  const workers = await queue.getWorkersCount().catch(() => -1);
  if (workers === 0) console.error("reconcile: no worker is connected; the run starts when one is (npm run worker)");
  const job = await enqueue(queue, JOB.reconcile, { force: true, dryRun: args["dry-run"], reason: args.reason });
  console.error(`reconcile: enqueued job ${job.id}${args["dry-run"] ? " (dry run)" : ""}, waiting for the worker`);
  events.on("progress", ({ jobId, data }) => {
    if (jobId !== job.id || typeof data !== "object" || data === null) return;
    const p = data as ReconcileProgress;
    const line = `  ${p.phase.padEnd(5)}  ${p.scanned} cached rooms checked, ${p.listChecked} list entries compared`;
    // On a terminal, one line rewritten in place; in a log, a line per update.
    process.stderr.write(tty ? `\r${line}` : `${line}\n`);
  });
  const report = (await job.waitUntilFinished(events, Number(args.timeout) * 1_000)) as ReconcileReport;
  if (tty) process.stderr.write("\n");
  print(report);
  process.exitCode = 0;
} catch (error) {
  console.error(`reconcile: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
} finally {
  await events.close();
  await eventsConnection.release();
  await queue.close();
}

function print(r: ReconcileReport) {
  if (r.skipped) {
    console.log(`skipped (${r.skipReason ?? "unknown"})`);
    return;
  }
  const rows: [string, string | number | boolean][] = [
    ["room:{id} scanned", r.scanned],
    ["added", r.added],
    ["removed", r.removed],
    ["modified", r.modified],
    ["corrupt", r.corrupt],
    ["refused by guard", r.refused],
    [r.dryRun ? "rooms:all would be rebuilt" : "rooms:all rebuilt", r.listRebuilt],
    [r.dryRun ? "rooms:count would be fixed" : "rooms:count fixed", r.countFixed],
    ["messages:{id} scanned", r.messagesScanned],
    ["conversations repaired", r.messagesRepaired],
    ["conversations removed", r.messagesRemoved],
    ["activity scores repaired", r.activityRepaired],
    ["activity members removed", r.activityRemoved],
    ["duration", `${r.durationMs} ms`],
    ["finished at", r.finishedAt],
  ];
  console.log(r.dryRun ? "dry run: nothing was repaired" : "reconciliation report");
  for (const [label, value] of rows) console.log(`  ${label.padEnd(28)} ${value}`);
  console.log(JSON.stringify(r));
}
