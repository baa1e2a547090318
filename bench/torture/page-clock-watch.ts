import type { Redis } from "ioredis";
import { createKeys } from "../../lib/cache/keys";
import { now } from "./history";

/*
 * A diagnostic beside the check (never part of its verdict): samples the page cache's
 * state in the private Redis, from a direct client, to show one cause of stale pages
 * when it happens. A stored page carries the page clock its render began under (`gen`,
 * in epoch `ep`); the clock lives in `{pages}:marks` (`epoch`, `clock`). A stored stamp
 * above the clock of the same epoch means the clock went back (the clock restarted
 * under a stamp it had already handed out): every mark made since looks older than the
 * entry, and the entry passes for fresh.
 */

export interface ClockSample {
  at: number;
  clock: number;
  /** The largest stamp among stored page entries of the clock's epoch. */
  maxStamp: number;
}

export function watchPageClock(redis: Redis, everyMs = 500) {
  const keys = createKeys("");
  const ahead: ClockSample[] = [];
  let samples = 0;
  let stopped = false;
  const sample = async () => {
    const [epoch, rawClock] = await redis.hmget(keys.pagesMarks, "epoch", "clock");
    const clock = Number(rawClock ?? 0);
    let maxStamp = 0;
    let cursor = "0";
    do {
      const [next, found] = await redis.scan(cursor, "MATCH", keys.pagesEntry("*"), "COUNT", 100);
      cursor = next;
      for (const key of found) {
        const [gen, ep] = await redis.hmget(key, "gen", "ep");
        if (ep === epoch) maxStamp = Math.max(maxStamp, Number(gen ?? 0));
      }
    } while (cursor !== "0");
    samples++;
    if (maxStamp > clock) ahead.push({ at: now(), clock, maxStamp });
  };
  const loop = (async () => {
    while (!stopped) {
      await sample().catch(() => {});
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    async stop(): Promise<{ samples: number; ahead: ClockSample[] }> {
      stopped = true;
      await loop;
      return { samples, ahead };
    },
  };
}
