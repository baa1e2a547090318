import { UuidSet, type UuidList } from "./uuid-set";

/*
 * The ids the list pass finds live, as the passes that run beside it see them. The key SCAN
 * and the activity ZSCAN need to know which ids are live, and only the list pass knows; run
 * after it, they left Redis half idle through the list pass (bound by this process's CPU)
 * and this process half idle through theirs (bound by Redis's). So they run beside it: an
 * id already found live is passed over; an id not found yet may still be (the list is read
 * newest first, a SCAN goes in table order), so it is held, 16 bytes (uuid-set.ts), and
 * looked at once the list pass is complete. Any other text is never live.
 *
 * Each live id carries its activity (ms, as Postgres has it), for the activity order's
 * check (activity.ts), which marks the ids it finds in the order: the ids never marked are
 * the members missing from it.
 */
export class LiveIds {
  private readonly ids = new UuidSet(1024, { values: true });
  private complete = false;
  private settle!: { resolve: () => void; reject: (error: unknown) => void };
  private readonly settled = new Promise<void>((resolve, reject) => {
    this.settle = { resolve, reject };
  });

  constructor() {
    this.settled.catch(() => {}); // awaited by released()
  }

  /** The list pass found `id` live, with this activity (ms). */
  add(id: string, activityMs: number): void {
    this.ids.add(id, activityMs);
  }

  /** Every live id is in (the list pass has read its statement to the end). */
  finish(): void {
    this.complete = true;
    this.settle.resolve();
  }

  /** The list pass failed: the set will never be complete. */
  fail(error: unknown): void {
    this.settle.reject(error);
  }

  /** Every live id is in. */
  get isComplete(): boolean {
    return this.complete;
  }

  /** The activity (ms) of a live room, which is marked as found in the order; undefined when not (yet) found live. */
  activity(id: string): number | undefined {
    return this.ids.take(id);
  }

  /** {@link activity} of the id held at `at` in `words` (a {@link UuidList} entry). */
  activityAt(words: Uint32Array, at: number): number | undefined {
    return this.ids.takeWords(words, at);
  }

  /** Once the list pass is complete: the live rooms whose activity was never asked for, with their activity. */
  async unmarked(): Promise<Iterable<[id: string, activityMs: number]>> {
    await this.settled;
    return this.ids.unmarked();
  }

  /** Resolves once the list pass is complete (rejects if it failed). */
  completed(): Promise<void> {
    return this.settled;
  }

  /**
   * The ids among `found` that are not live; while the list pass runs, those it has not
   * found yet are held in `held` instead (text that is not a canonical UUID is never live,
   * so it is returned at once).
   */
  notLive(found: string[], held: UuidList): string[] {
    return found.filter((id) => !this.ids.has(id) && (this.complete || !held.push(id)));
  }

  /** Once the list pass is complete: the held ids that it did not find live (the list is emptied). */
  async released(held: UuidList): Promise<Iterable<string>> {
    await this.settled;
    return held.notIn(this.ids);
  }
}
