import "server-only";
import { runtime } from "../runtime";
import type { Topic } from "./events";

/**
 * The newest event id of `topic`, for a page to render into its live parts (`since`), so
 * that the browser's first stream replays whatever happened between the render and the
 * connection. Read it BEFORE the data the page shows: an event that lands between the two
 * reads is then replayed (and applied idempotently) rather than lost. A page served from a
 * cache carries an older id, which the replay covers too, or, past the log's reach, the
 * stream's `reset`. Undefined when realtime is off or Redis does not answer fast: the
 * stream then starts from the newest id at connection time.
 */
export async function latestEventId(topic: Topic): Promise<string | undefined> {
  try {
    const { events } = runtime();
    if (!events.enabled) return undefined;
    return await events.tip(topic, "read");
  } catch {
    return undefined;
  }
}
