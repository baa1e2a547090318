import { AsyncLocalStorage } from "node:async_hooks";

/**
 * Per-request timings, collected wherever the work happens (cache, database) and sent
 * back as a `Server-Timing` header, so a client can see whether the cache hit and what
 * each layer cost.
 */
export interface Timings {
  entries: { name: string; ms: number; desc?: string }[];
}

/*
 * One store per process, not per module copy: Next bundles route handlers and pages
 * separately, and the runtime that records timings is shared on globalThis, so a
 * module-level store would be a different one from the route's whenever the other bundle
 * built the runtime (then Server-Timing silently lost its cache and db entries).
 */
const g = globalThis as unknown as { [key: symbol]: AsyncLocalStorage<Timings> | undefined };
const KEY = Symbol.for("lobby.serverTimings");
const storage = (g[KEY] ??= new AsyncLocalStorage<Timings>());

export function withTimings<T>(fn: () => Promise<T>): Promise<{ result: T; timings: Timings }> {
  const timings: Timings = { entries: [] };
  return storage.run(timings, async () => ({ result: await fn(), timings }));
}

export function recordTiming(name: string, ms: number, desc?: string): void {
  storage.getStore()?.entries.push({ name, ms, desc });
}

export function serverTimingHeader(timings: Timings): string {
  const merged = new Map<string, { ms: number; desc?: string }>();
  for (const e of timings.entries) {
    const prev = merged.get(e.name);
    merged.set(e.name, { ms: (prev?.ms ?? 0) + e.ms, desc: e.desc ?? prev?.desc });
  }
  return [...merged]
    .map(([name, { ms, desc }]) => `${name};${desc ? `desc="${desc}";` : ""}dur=${ms.toFixed(2)}`)
    .join(", ");
}
