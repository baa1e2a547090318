/**
 * Where the e2e run keeps its data: its own database and Redis key prefix, so it never
 * touches a developer's `lobby` database or another run's keys. Shared by the Playwright
 * config (the app's environment), the global setup and the specs.
 */
/**
 * `E2E_RUN` (a small number, default 0) moves the ports, database and key prefix of a run,
 * so two checkouts can run their e2e suites on one machine at once.
 */
const RUN = Number(process.env.E2E_RUN ?? 0);
const SUFFIX = RUN ? `_${RUN}` : "";
/** Ports of this run: the app, and the specs' own servers (`e2ePort(n)`, n < 10). */
export const e2ePort = (n: number) => 3100 + RUN * 10 + n;
export const E2E_PORT = e2ePort(0);
export const BASE_URL = `http://127.0.0.1:${E2E_PORT}`;
export const E2E_DATABASE_URL = process.env.E2E_DATABASE_URL ?? `postgres://postgres@127.0.0.1:5432/lobby_e2e${SUFFIX}`;
export const E2E_REDIS_URL = process.env.E2E_REDIS_URL ?? "redis://127.0.0.1:6379";
export const E2E_KEY_PREFIX = `e2e${SUFFIX}:`;
export const SEEDED_ROOM_COUNT = 12;

/**
 * A second instance of the same build whose Postgres is unreachable (nothing listens on
 * port 1), sharing the first one's Redis keys: what a web node sees during a database
 * outage, for the stale-data spec.
 */
export const NO_DB_PORT = e2ePort(1);
export const NO_DB_URL = `http://127.0.0.1:${NO_DB_PORT}`;

/**
 * A second instance of the same build on the same database and Redis keys: what a load
 * balancer's second web node sees, for the cross-instance spec.
 */
export const PEER_PORT = e2ePort(2);
export const PEER_URL = `http://127.0.0.1:${PEER_PORT}`;

/**
 * The operators' token of the run: production serves /api/metrics, /dashboard and
 * /api/health's detail only to it (Bearer, or HTTP Basic with it as the password).
 */
export const METRICS_TOKEN = "e2e-only-operator-token-0123456789";
export const operatorAuth = { authorization: `Bearer ${METRICS_TOKEN}` };

/** The environment the app under test (and the seed script) runs with. */
export const appEnv: Record<string, string> = {
  DATABASE_URL: E2E_DATABASE_URL,
  REDIS_URL: E2E_REDIS_URL,
  REDIS_KEY_PREFIX: E2E_KEY_PREFIX,
  CACHE_ENABLED: "true",
  SESSION_SECRET: "e2e-only-session-secret-0123456789abcdef",
  NODE_ENV: "production",
  LOG_LEVEL: "warn",
  METRICS_TOKEN,
};

export const noDbAppEnv: Record<string, string> = {
  ...appEnv,
  DATABASE_URL: `postgres://postgres@127.0.0.1:1/lobby_e2e${SUFFIX}`,
};
