/*
 * Runs a command with a local Redis Cluster (3 masters, 3 replicas, from the machine's
 * `redis-server`, nothing on disk, free ports) and stops the cluster when it ends:
 *
 *   node --import tsx scripts/redis-cluster.ts [--env NAME] -- <command> [args...]
 *
 * The command gets the nodes in LOBBY_TEST_REDIS_CLUSTER (the tests' variable) or in the
 * variable `--env` names (REDIS_CLUSTER_NODES to run the app on it). Only the processes
 * started here are stopped, by PID.
 */
import { spawn } from "node:child_process";
import { constants } from "node:os";
import { parseArgs } from "node:util";
import { startRedisCluster } from "./local-services/redis-cluster";

const { values, positionals } = parseArgs({ options: { env: { type: "string", default: "LOBBY_TEST_REDIS_CLUSTER" } }, allowPositionals: true });
const [command, ...args] = positionals;
if (!command || !/^[A-Z_][A-Z0-9_]*$/.test(values.env)) {
  console.error("usage: node --import tsx scripts/redis-cluster.ts [--env NAME] -- <command> [args...]");
  process.exit(2);
}

let cluster;
try {
  cluster = await startRedisCluster();
} catch (error) {
  console.error(`Redis Cluster: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
console.log(`Redis Cluster: 3 masters, 3 replicas on ${cluster.nodes} (stopped when the command ends)`);

const child = spawn(command, args, { stdio: "inherit", env: { ...process.env, [values.env]: cluster.nodes } });
let forwarded = false;
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(signal, () => {
    if (signal !== "SIGINT" && !forwarded) child.kill(signal);
    forwarded = true;
  });
}
const code = await new Promise<number>((resolve) => {
  child.once("exit", (c, s) => resolve(c ?? 128 + (s ? constants.signals[s] : 0)));
  child.once("error", () => resolve(127));
});
await cluster.stop();
process.exit(code);
