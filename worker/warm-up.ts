import type { RoomCacheService } from "../lib/rooms/room-cache-service";

/** Options of {@link warmCache}. */
export interface WarmOptions {
  /**
   * How many rooms to load besides the list and the count. Default 50. "Most read" is
   * approximated by "newest" (rooms:all is ordered newest first) until per-room read
   * counts exist; new rooms are where a chat's traffic usually is.
   */
  rooms?: number;
  /** Loads in flight at once, so a warm-up never takes the whole pool. Default 4. */
  concurrency?: number;
}

/**
 * Fills rooms:all, rooms:count and the newest rooms through RoomCacheService, i.e.
 * through the same single-flight, generation-guarded populate as a web request, so a
 * warm-up racing a write cannot cache the old row.
 */
export async function warmCache(rooms: RoomCacheService, options: WarmOptions = {}) {
  const started = performance.now();
  const [list] = await Promise.all([rooms.getAllRooms(), rooms.getRoomCount()]);
  const ids = list.data.slice(0, options.rooms ?? 50).map((r) => r.id);
  const step = options.concurrency ?? 4;
  for (let i = 0; i < ids.length; i += step) await Promise.all(ids.slice(i, i + step).map((id) => rooms.getRoom(id)));
  return { rooms: list.data.length, warmed: ids.length, durationMs: Math.round(performance.now() - started) };
}
