import type { Keys } from "../cache/keys";
import { isUuid } from "./context";

/*
 * The run finds cached room:{id} and messages:{roomId} keys by SCAN, and a SCAN's cost is
 * the whole keyspace (every generation and last-known-good copy too), whatever it matches:
 * at 100,000 rooms two passes, one per pattern, were 1.3 s of Redis's CPU in a 3.7 s run.
 * So one SCAN serves both, with one glob that matches both names (`room:` is r-o-o-m,
 * `messages:` is m-e-s-s) and few others (`rooms:all`, `rooms:count`...); the exact
 * prefixes and the UUID shape are checked here, so a key that only looks like ours
 * (`room:<not a uuid>`, a future `room:<id>:x`) is left alone.
 */

/** The SCAN pattern of the room and conversation keys (and a few others, filtered by {@link splitCachedKeys}). */
export function cachedKeysPattern(keys: Keys): string {
  return `${keys.prefix}[mr][eo][os][ms]*`;
}

/** The ids of the room:{id} and of the messages:{roomId} keys among `found`, each once. */
export function splitCachedKeys(keys: Keys, found: string[]): { rooms: string[]; messages: string[] } {
  const room = keys.room("");
  const messages = keys.messages("");
  const rooms = new Set<string>();
  const conversations = new Set<string>();
  for (const key of found) {
    if (key.startsWith(room)) {
      const id = key.slice(room.length);
      if (isUuid(id)) rooms.add(id);
    } else if (key.startsWith(messages)) {
      const id = key.slice(messages.length);
      if (isUuid(id)) conversations.add(id);
    }
  }
  return { rooms: [...rooms], messages: [...conversations] };
}
