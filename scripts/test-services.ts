/*
 * `npm test` on a machine with Node.js alone: runs the command it is given (the suite)
 * with Postgres and Redis at the addresses the tests use (tests/support/services.ts:
 * 127.0.0.1:5432 and 127.0.0.1:6379 unless TEST_PG_ADMIN_URL / TEST_REDIS_URL say
 * otherwise). When one answers there, it is used, as on CI and developers' machines; when
 * nothing does, an embedded one is started for the run (the same as `npm run app`'s, data
 * in .lobby/test, kept between runs: the tests make and drop their own databases), and
 * stopped when the command ends. LOBBY_EMBEDDED=false: never; the tests then fail to
 * connect, as before.
 *
 * The command runs in this process group, so a Ctrl-C reaches the test runners directly;
 * the embedded services have groups of their own and are stopped after the runners end.
 */
import "./load-env";
import path from "node:path";
import { EnvError, env } from "@/lib/env";
import { PG_ADMIN_URL, REDIS_URL } from "../tests/support/services";
import { runForeground } from "./local-services/child";
import { ServiceError, resolvePostgres, resolveRedis, type Service } from "./local-services/resolve";

const [command, ...args] = process.argv.slice(2);
if (!command) {
  console.error("usage: node --import tsx scripts/test-services.ts <command> [args...]");
  process.exit(2);
}

const services: Service[] = [];
const stopServices = () => Promise.all(services.map((s) => s.stop?.(5_000)));

try {
  const config = env();
  const options = { embedded: config.embedded, dataDir: path.join(path.resolve(config.dataDir), "test"), say: (l: string) => console.log(l) };
  for (const resolve of [() => resolvePostgres(PG_ADMIN_URL, options), () => resolveRedis(REDIS_URL, options)]) {
    const service = await resolve();
    services.push(service);
    if (service.stop) console.log(`${service.line} (for the tests, stopped when they end)`);
  }
} catch (error) {
  await stopServices();
  if (error instanceof ServiceError || error instanceof EnvError) {
    console.error(error.message);
    console.log("0 passed, 1 failed");
    process.exit(1);
  }
  throw error;
}

const code = await runForeground(command, args, { ...process.env, LOBBY_TEST_SERVICES: "ready" });
await stopServices();
process.exit(code);
