import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { GEN_TTL_SECONDS, LOCK_TTL_MS } from "../keys";
import { GET_OR_LOCK, POPULATE, RELEASE, encodeEnvelope } from "../protocol";
import type { DecodedMemo } from "./decoded-memo";
import type { OutageReads } from "./outage";
import type { CacheAsideOptions, LoadOutcome, ReadSpec } from "./types";

/**
 * A miss, filled across instances: one caller takes the key's Redis lock (GET_OR_LOCK,
 * which also hands it the key's generation), loads from Postgres and populates only if the
 * generation is unchanged (POPULATE); the others wait for its value.
 */
export class Filler {
  private readonly waitForLoaderMs: number;

  constructor(
    private readonly options: CacheAsideOptions,
    private readonly memo: DecodedMemo,
    private readonly outage: OutageReads,
    /** Deletes a value that does not decode (through the guard, so no load races it). */
    private readonly dropCorrupt: (spec: { cache: string; key: string }) => Promise<void>,
  ) {
    this.waitForLoaderMs = options.waitForLoaderMs ?? 3_000;
  }

  /** Single flight across instances: one caller takes the Redis lock and loads, the others wait for its value. */
  async fill<T>(spec: ReadSpec<T>): Promise<LoadOutcome<T>> {
    const guarded = this.options.guarded!;
    const { keys, metrics } = this.options;
    const token = randomUUID();
    const deadline = performance.now() + this.waitForLoaderMs;
    let delay = 5;
    let waited = false;
    for (;;) {
      let reply: [number, string];
      const started = performance.now();
      try {
        reply = (await guarded.readTrusted((s) =>
          s.eval(GET_OR_LOCK, [spec.key, keys.lock(spec.key), keys.gen(spec.key)], [token, LOCK_TTL_MS, GEN_TTL_SECONDS]),
        )) as [number, string];
      } catch (error) {
        const loadStartedAt = performance.now();
        return { result: await this.outage.onCacheDown(spec, error, started), published: false, loadStartedAt };
      }
      const [kind, payload] = reply;
      if (kind === 1) {
        const hit = this.memo.decode(spec, payload);
        if (hit) {
          if (waited) metrics.singleFlightWaits.inc({ cache: spec.cache, outcome: "served" });
          return { result: hit, published: true };
        }
        await this.dropCorrupt(spec).catch(() => {});
        continue;
      }
      if (kind === 2) return this.loadAndPopulate(spec, token, payload);
      if (performance.now() + delay > deadline) {
        metrics.singleFlightWaits.inc({ cache: spec.cache, outcome: "timeout" });
        const loadStartedAt = performance.now();
        return { result: await this.outage.loadDirect(spec), published: false, loadStartedAt };
      }
      waited = true;
      await sleep(delay);
      delay = Math.min(delay * 2, 40);
    }
  }

  /** The lock holder's load and guarded populate, under the generation GET_OR_LOCK returned. */
  private async loadAndPopulate<T>(spec: ReadSpec<T>, token: string, generation: string): Promise<LoadOutcome<T>> {
    const guarded = this.options.guarded!;
    const { keys, metrics, hooks } = this.options;
    let loaded: { data: T; version: number };
    const loadStartedAt = performance.now();
    try {
      loaded = await this.outage.timedLoad(spec);
    } catch (error) {
      await guarded.write((s) => s.eval(RELEASE, [keys.lock(spec.key)], [token])).catch(() => {});
      return { result: await this.outage.staleOrThrow(spec, error), published: false, loadStartedAt };
    }
    if (spec.shouldCache && !spec.shouldCache(loaded.data)) {
      await guarded.write((s) => s.eval(RELEASE, [keys.lock(spec.key)], [token])).catch(() => {});
      return { result: { data: loaded.data, source: "db", version: loaded.version }, published: false, loadStartedAt };
    }
    await hooks?.afterLoad?.(spec.key);
    let outcome = 0;
    try {
      outcome = Number(
        await guarded.write((s) =>
          s.eval(
            POPULATE,
            [spec.key, keys.gen(spec.key), keys.lock(spec.key), keys.stale(spec.key)],
            [
              token,
              generation,
              encodeEnvelope(loaded.version, loaded.data),
              spec.ttlSeconds,
              spec.staleTtlSeconds,
              loaded.version,
              this.options.unsafeDisableGuard ? "0" : "1",
            ],
          ),
        ),
      );
    } catch (error) {
      this.options.onError?.(error, { op: "populate", key: spec.key });
    }
    if (outcome !== 1) metrics.guardRejections.inc({ cache: spec.cache });
    return { result: { data: loaded.data, source: "db", version: loaded.version }, published: outcome === 1, loadStartedAt };
  }
}
