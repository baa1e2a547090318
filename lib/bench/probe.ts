import { setTimeout as sleep } from "node:timers/promises";
import { z } from "zod";

/**
 * The benchmark's probes (BENCH_ROUTES=true only; their route is app/bench/probe), at two
 * points: `render`, a home page render once its data is read, and `load`, a load of the room
 * list once its Postgres read returned and before its cache set (Lobby's loader and the data
 * cache peers' factories alike). A probe counts passes, so the peers scenario can check that
 * a cache really serves a second request without rendering; and it can hold the next pass,
 * so a write can be acknowledged while a render or a load that began before it is in
 * flight: the races a cache must not lose (bench/support/peers-races.ts). Every variant,
 * Lobby's included, goes through the same probes.
 *
 * State lives on globalThis: the routes and the page are bundled apart but run in one process.
 */
export const PROBE_POINTS = ["render", "load"] as const;
export const probePointSchema = z.enum(PROBE_POINTS);
export type ProbePoint = z.infer<typeof probePointSchema>;

export interface ProbeState {
  /** Passes begun (data read). */
  passes: number;
  /** Passes finished (any hold over). */
  finished: number;
  /** The next pass's hold, ms (consumed by one pass). */
  holdNextMs: number;
  /** Passes holding now. */
  holding: number;
}

const g = globalThis as unknown as { __lobbyBenchProbes?: Record<ProbePoint, ProbeState> };
const fresh = (): ProbeState => ({ passes: 0, finished: 0, holdNextMs: 0, holding: 0 });
const state = (point: ProbePoint): ProbeState => (g.__lobbyBenchProbes ??= { render: fresh(), load: fresh() })[point];

/** A pass of `point`; holds it if a hold was armed. No-op unless `enabled` (BENCH_ROUTES). */
export async function probePass(point: ProbePoint, enabled: boolean): Promise<void> {
  if (!enabled) return;
  const s = state(point);
  s.passes++;
  const hold = s.holdNextMs;
  s.holdNextMs = 0;
  if (hold > 0) {
    s.holding++;
    try {
      await sleep(hold);
    } finally {
      s.holding--;
    }
  }
  s.finished++;
}

/** Arms a hold of `ms` for the next pass of `point`. */
export function holdNextPass(point: ProbePoint, ms: number): void {
  state(point).holdNextMs = ms;
}

export function probeSnapshot(point: ProbePoint): ProbeState {
  return { ...state(point) };
}
