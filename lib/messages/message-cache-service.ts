import type { CacheAside, ReadResult } from "../cache/cache-aside";
import type { Keys, Ttls } from "../cache/keys";
import type { DbReads } from "../db/replicas/read-router";
import { MESSAGE_PAGE_SIZE, messagesBefore, newestMessagesWithVersion, type MessagePage } from "../db/queries/messages";
import { assertCanonicalId, canonicalIdError } from "../validation";
import { cachedMessagePageSchema } from "./validation";

export interface MessageCacheDeps {
  /** Where the fills and older pages read: the primary, or a replica behind the fence (lib/db/replicas). */
  reads: DbReads;
  cache: CacheAside;
  keys: Keys;
  ttls: Ttls;
}

/**
 * Reads of a room's conversation. The newest page (what every visitor of a room loads
 * first) is cached in `messages:{roomId}` through {@link CacheAside}, versioned by
 * rooms.message_version and invalidated by every send and delete; older pages are read
 * from Postgres (each is read rarely, and by keyset on messages_room_seq_idx).
 */
export class MessageCacheService {
  constructor(private readonly deps: MessageCacheDeps) {}

  /** The newest {@link MESSAGE_PAGE_SIZE} live messages, oldest to newest; data null for an unknown room. */
  getNewest(roomId: string): Promise<ReadResult<MessagePage | null>> {
    const invalid = canonicalIdError("roomId", roomId);
    if (invalid) return Promise.reject(invalid);
    const { reads, cache, keys, ttls } = this.deps;
    return cache.read({
      cache: "messages",
      key: keys.messages(roomId),
      schema: cachedMessagePageSchema,
      ttlSeconds: ttls.messages,
      staleTtlSeconds: ttls.stale,
      load: async () => {
        const { version, ...page } = await reads.read((db) => newestMessagesWithVersion(db, { roomId }));
        return version === null ? { data: null, version: 0 } : { data: page, version };
      },
      // Unknown rooms are not cached: `messages:{id}` only ever names a room that exists.
      shouldCache: (page) => page !== null,
    });
  }

  /**
   * One page for the API: without `before`, the newest `limit` (from the cached page when
   * it holds enough); with it, the `limit` messages older than that cursor. Data null for
   * an unknown room (only detectable on the newest page; callers check the room too).
   */
  async getPage(roomId: string, params: { before?: number; limit?: number }): Promise<ReadResult<MessagePage | null>> {
    assertCanonicalId("roomId", roomId);
    const limit = params.limit ?? MESSAGE_PAGE_SIZE;
    if (params.before !== undefined) {
      const before = params.before;
      const page = await this.deps.reads.read((db) => messagesBefore(db, { roomId, before, limit }));
      return { data: page, source: "db", version: 0 };
    }
    if (limit > MESSAGE_PAGE_SIZE) {
      const { version, ...page } = await this.deps.reads.read((db) => newestMessagesWithVersion(db, { roomId, limit }));
      return { data: version === null ? null : page, source: "db", version: version ?? 0 };
    }
    const newest = await this.getNewest(roomId);
    if (!newest.data || limit === MESSAGE_PAGE_SIZE) return newest;
    const { messages, nextCursor } = newest.data;
    const slice = messages.slice(-limit);
    const older = messages.length > limit || nextCursor !== null;
    return { ...newest, data: { messages: slice, nextCursor: older && slice[0] ? String(slice[0].seq) : null } };
  }
}
