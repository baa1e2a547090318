/**
 * Concurrent reads of one key in this process, shared without serving anything older than
 * the caller: a caller only takes a read that began after it arrived, so it sees every
 * write acknowledged before its request. It waits out a read already running and shares
 * the next one, so at most two reads per key are in flight however many callers there are.
 * Used where a burst would otherwise send one read per request: Postgres while Redis is
 * unavailable (CacheAside), the room list's order after a miss (RoomActivity).
 */
export class FreshReads {
  private readonly running = new Map<string, Shared<unknown>>();

  async read<T>(key: string, load: () => Promise<T>): Promise<T> {
    const arrivedAt = performance.now();
    for (;;) {
      const running = this.running.get(key) as Shared<T> | undefined;
      if (!running) break;
      const outcome = await running.settled;
      if (running.startedAt < arrivedAt) continue;
      if (outcome.ok) return outcome.value;
      throw outcome.error;
    }
    const own: Shared<T> = {
      startedAt: performance.now(),
      settled: load().then(
        (value) => ({ ok: true as const, value }),
        (error: unknown) => ({ ok: false as const, error }),
      ),
    };
    this.running.set(key, own);
    const outcome = await own.settled;
    if (this.running.get(key) === own) this.running.delete(key);
    if (outcome.ok) return outcome.value;
    throw outcome.error;
  }
}

/** A read shared by callers: settled, never rejected. */
interface Shared<T> {
  startedAt: number;
  settled: Promise<{ ok: true; value: T } | { ok: false; error: unknown }>;
}
