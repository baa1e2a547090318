import type { CacheAside, ReadResult } from "../cache/cache-aside";
import type { Keys, Ttls } from "../cache/keys";
import type { DbReads } from "../db/replicas/read-router";
import { countLiveRooms, getLiveRoom, listLiveRoomsWithVersion, type Room } from "../db/queries/rooms";
import { canonicalIdError } from "../validation";
import { cachedCountSchema, cachedRoomListSchema, cachedRoomOrNullSchema } from "./validation";

export interface RoomCacheDeps {
  /** Where the fills read: the primary, or a replica behind the fence (lib/db/replicas). */
  reads: DbReads;
  cache: CacheAside;
  keys: Keys;
  ttls: Ttls;
  /**
   * Given the list and each live room's last activity (ms), read in the same statement,
   * whenever the list is read from Postgres; never rejects.
   */
  onListLoaded?: (rooms: Room[], activity: { id: string; at: number }[]) => Promise<void>;
}

/**
 * Cache-first reads of rooms (DESIGN.md read path): `rooms:all`, `room:{id}` and
 * `rooms:count`, each from Redis when it holds a valid value, else from Postgres through
 * the single-flight, version-guarded load of {@link CacheAside}. Results say where they
 * came from (`cache`, `db`, or `stale` when Postgres is down and a last-known-good copy
 * was served).
 */
export class RoomCacheService {
  constructor(private readonly deps: RoomCacheDeps) {}

  /**
   * Every live room, newest created first. With `order`, a hit also reads the list's
   * activity order (`{rooms:all}:activity`) in the same round trip, as `alongside`; its
   * members only when their signature is not `order.knownSignature`.
   */
  getAllRooms(order?: { knownSignature?: string }): Promise<ReadResult<Room[]>> {
    const { reads, cache, keys, ttls } = this.deps;
    return cache.read({
      cache: "rooms-all",
      key: keys.roomsAll,
      alongside: order && { key: keys.roomsActivity, knownSignature: order.knownSignature },
      schema: cachedRoomListSchema,
      ttlSeconds: ttls.roomsAll,
      staleTtlSeconds: ttls.stale,
      load: async () => {
        const { rooms, version, activity } = await reads.read((db) => listLiveRoomsWithVersion(db));
        // Before the list is published: a reader that gets the list then finds its order.
        await this.deps.onListLoaded?.(rooms, activity);
        return { data: rooms, version };
      },
    });
  }

  getRoom(id: string): Promise<ReadResult<Room | null>> {
    const invalid = canonicalIdError("roomId", id);
    if (invalid) return Promise.reject(invalid);
    const { reads, cache, keys, ttls } = this.deps;
    return cache.read({
      cache: "room",
      key: keys.room(id),
      schema: cachedRoomOrNullSchema,
      ttlSeconds: ttls.room,
      staleTtlSeconds: ttls.stale,
      load: async () => {
        const room = await reads.read((db) => getLiveRoom(db, id));
        return { data: room ?? null, version: room?.version ?? 0 };
      },
      // Unknown ids are not cached: `room:{id}` only ever names a room that exists.
      shouldCache: (room) => room !== null,
    });
  }

  getRoomCount(): Promise<ReadResult<number>> {
    const { reads, cache, keys, ttls } = this.deps;
    return cache.read({
      cache: "rooms-count",
      key: keys.roomsCount,
      schema: cachedCountSchema,
      ttlSeconds: ttls.roomsAll,
      staleTtlSeconds: ttls.stale,
      load: async () => {
        const { count, version } = await reads.read((db) => countLiveRooms(db));
        return { data: count, version };
      },
    });
  }
}
