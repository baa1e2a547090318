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
import { parseArgs } from "node:util";
import { runForeground } from "./local-services/child";
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

const code = await runForeground(command, args, { ...process.env, [values.env]: cluster.nodes });
await cluster.stop();
process.exit(code);
