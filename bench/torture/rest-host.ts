/**
 * A child process running one local Upstash REST server (tests/support/upstash-rest-server.ts)
 * in front of REDIS_URL (the harness points it at a fault proxy), forked by the harness: one
 * per web instance, so a fault can hit one instance's Redis and not the other's. Sends
 * `{ url, token }` when listening; exits when the harness goes away.
 */
import { startUpstashRestServer } from "../../tests/support/upstash-rest-server";

const server = await startUpstashRestServer({ redisUrl: process.env.REDIS_URL });
process.send?.({ url: server.url, token: server.token });
process.on("disconnect", () => void server.close().finally(() => process.exit(0)));
