import path from "node:path";
import { startEmbeddedPostgres } from "./embedded-postgres";
import { findRedisServer, startEmbeddedRedis } from "./embedded-redis";
import { describeEndpoint, endpointOf, isLocal, type Endpoint } from "./endpoint";
import { probeTcp } from "./probe";

/** A service `npm run app` uses: where, the line that says so, and how to stop it if it started it. */
export interface Service {
  url: string;
  endpoint: Endpoint;
  /** "Postgres: embedded, data in .lobby/postgres", "Redis: 127.0.0.1:6379", ... */
  line: string;
  /** Present when the service was started here. */
  stop?: (graceMs?: number) => Promise<boolean>;
  pid?: number;
}

/** A reason `npm run app` cannot go on, in one line that says what to do. */
export class ServiceError extends Error {
  override name = "ServiceError";
}

export interface ResolveOptions {
  /** LOBBY_EMBEDDED: false means use what is configured or fail. */
  embedded: boolean;
  /** LOBBY_DATA_DIR, absolute. */
  dataDir: string;
  say: (line: string) => void;
}

/** A path as the user would type it: relative when inside the working directory. */
export function shown(p: string): string {
  const rel = path.relative(process.cwd(), p);
  return rel && !rel.startsWith("..") && !path.isAbsolute(rel) ? rel : p;
}

async function whatAnswers(label: string, variable: string, endpoint: Endpoint, embedded: boolean): Promise<"answers" | "start"> {
  const probe = await probeTcp(endpoint);
  if (probe.state === "answers") return "answers";
  const where = `${describeEndpoint(endpoint)} (${variable})`;
  if (probe.state === "error") {
    throw new ServiceError(`${label}: cannot reach ${where}: ${probe.code}. Check ${variable}`);
  }
  if (!isLocal(endpoint)) {
    throw new ServiceError(`${label}: nothing answers at ${where}. Start it, or point ${variable} at a running ${label}`);
  }
  if (!embedded) {
    throw new ServiceError(
      `${label}: nothing answers at ${where}, and LOBBY_EMBEDDED=false. Start ${label} there, or remove LOBBY_EMBEDDED=false to let npm run app start an embedded one`,
    );
  }
  return "start";
}

/** The configured Postgres when it answers; else, when it is local, an embedded one on its port. */
export async function resolvePostgres(databaseUrl: string, options: ResolveOptions): Promise<Service> {
  const endpoint = endpointOf(databaseUrl, 5432);
  if ((await whatAnswers("Postgres", "DATABASE_URL", endpoint, options.embedded)) === "answers") {
    return { url: databaseUrl, endpoint, line: `Postgres: ${describeEndpoint(endpoint)}` };
  }
  const u = new URL(databaseUrl);
  const dataDir = path.join(options.dataDir, "postgres");
  try {
    const pg = await startEmbeddedPostgres({
      dataDir,
      endpoint,
      user: decodeURIComponent(u.username) || "postgres",
      password: decodeURIComponent(u.password),
      logFile: path.join(options.dataDir, "postgres.log"),
    });
    return {
      url: databaseUrl,
      endpoint,
      line: `Postgres: embedded, data in ${shown(pg.dataDir)}${pg.note ? ` (${pg.note})` : ""}`,
      stop: pg.stop,
      pid: pg.child.process.pid,
    };
  } catch (error) {
    throw new ServiceError(`Postgres: the embedded Postgres did not start: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** The configured Redis when it answers; else, when it is local, redis-server on its port. */
export async function resolveRedis(redisUrl: string, options: ResolveOptions): Promise<Service> {
  const endpoint = endpointOf(redisUrl, 6379);
  if ((await whatAnswers("Redis", "REDIS_URL", endpoint, options.embedded)) === "answers") {
    return { url: redisUrl, endpoint, line: `Redis: ${describeEndpoint(endpoint)}` };
  }
  try {
    const binary = await findRedisServer(options.say);
    const redis = await startEmbeddedRedis(binary, endpoint, path.join(options.dataDir, "redis"), path.join(options.dataDir, "redis.log"));
    return {
      url: redisUrl,
      endpoint,
      line: `Redis: embedded, ${binary.source} on port ${endpoint.port}`,
      stop: redis.stop,
      pid: redis.child.process.pid,
    };
  } catch (error) {
    throw new ServiceError(`Redis: ${error instanceof Error ? error.message : String(error)}`);
  }
}
