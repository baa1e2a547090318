import { EnvError, env, type Env } from "./env";

/**
 * The validated environment, for a process that is starting: a bad variable prints the
 * message naming it and ends the process with exit code 1, so a supervisor (Docker,
 * systemd, Kubernetes) sees a failed start instead of a server answering every request 500.
 */
export function envOrExit(): Env {
  try {
    return env();
  } catch (error) {
    if (!(error instanceof EnvError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
}
