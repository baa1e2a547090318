import type { Env } from "../env";
import { bearerMatches } from "./metrics-auth";

/**
 * Who may see the operators' views: `/api/metrics`, `/dashboard`, the detail of
 * `/api/health` and the worker's metrics port. They show the app's insides (hit rates, the
 * queue, error messages with host names) and the dashboard costs a full render per request,
 * so production does not serve them to anyone by default:
 *
 * - `token`: METRICS_TOKEN is set (any mode): the request must carry it.
 * - `off`: production without METRICS_TOKEN: they do not exist (404); health answers only
 *   up/degraded/down.
 * - `open`: development and tests without a token, as before.
 */
export type OperatorAccess = { kind: "token"; token: string } | { kind: "off" } | { kind: "open" };

export function operatorAccess(e: Pick<Env, "nodeEnv" | "metricsToken">): OperatorAccess {
  if (e.metricsToken) return { kind: "token", token: e.metricsToken };
  return e.nodeEnv === "production" ? { kind: "off" } : { kind: "open" };
}

/**
 * True when an `Authorization` header carries the token: `Bearer <token>` (scrapers,
 * scripts), or HTTP Basic with the token as the password and any user name (a browser
 * asked by the dashboard's challenge). Constant-time, like {@link bearerMatches}.
 */
export function credentialMatches(header: string | null | undefined, token: string): boolean {
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header?.trim() ?? "");
  if (!basic) return bearerMatches(header, token);
  const decoded = Buffer.from(basic[1]!, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  return colon >= 0 && bearerMatches(`Bearer ${decoded.slice(colon + 1)}`, token);
}

/** Whether this request may see an operators' view under `access`. */
export function operatorAllowed(access: OperatorAccess, authorization: string | null | undefined): boolean {
  if (access.kind === "open") return true;
  if (access.kind === "off") return false;
  return credentialMatches(authorization, access.token);
}
