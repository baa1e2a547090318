import { contentChangeOps } from "../cache/invalidation/content-change";
import type { RecordedOps } from "../cache/invalidation/ops";
import type { WriteInvalidations } from "../cache/invalidation/write";
import type { Keys } from "../cache/keys";
import type { Db } from "../db/client";
import {
  insertRoom,
  isUniqueViolation,
  lockLiveRoom,
  softDeleteRoom,
  updateRoom,
  type Room,
} from "../db/queries/rooms";
import { AppError, forbidden, notFound } from "../errors";
import { noRateLimit, type RateLimiter } from "../limits/rate-limiter";
import type { Session } from "../session/session";
import { assertCanonicalId, fieldErrors } from "../validation";
import type { LobbyEvent } from "../realtime/events";

/** The room-list events a room write announces. */
type RoomEvent = Extract<LobbyEvent, { type: "room.created" | "room.updated" | "room.deleted" }>;
import { createRoomSchema, updateRoomSchema } from "./validation";

export interface RoomServiceDeps {
  db: Db;
  /** Commits a write with its invalidation (lib/cache/invalidation): the log row in the same transaction. */
  invalidations: WriteInvalidations;
  keys: Keys;
  /** Announces a committed change on the realtime topic `rooms`; best effort, never throws. */
  publish: (event: RoomEvent) => Promise<void>;
  /** Room creations per session and IP (429). Default: no limit. */
  limiter?: RateLimiter;
}

const duplicate = (name: string) =>
  new AppError(409, "duplicate_name", `A room named "${name}" already exists`, { name: "That name is taken" });

function invalid(fields: Record<string, string>): AppError {
  return new AppError(400, "invalid_input", "Some fields are invalid", fields);
}

/**
 * Room writes (DESIGN.md write path): Postgres in a transaction that also records what the
 * write makes out of date (the invalidation log); after the commit that invalidation is
 * applied (or, with Redis out of reach, outlived by every process's lease on the cache)
 * before the write returns, so the writer's next read, and anyone's, on any instance,
 * sees it; then an event on pub/sub.
 */
export class RoomService {
  constructor(private readonly deps: RoomServiceDeps) {}

  /** `ip`: the client address when the request carried one, for the per-IP limit. */
  async create(session: Session, input: unknown, ip?: string): Promise<Room> {
    const parsed = createRoomSchema.safeParse(input);
    if (!parsed.success) throw invalid(fieldErrors(parsed.error));
    // After validation: a typo corrected and resent does not spend the visitor's allowance.
    await (this.deps.limiter ?? noRateLimit).check("roomCreate", { sessionId: session.id, ip });
    const { name, description = "" } = parsed.data;
    const { keys } = this.deps;
    let room: Room;
    try {
      room = await this.write(
        (tx) => insertRoom(tx, { name, description, ownerId: session.id, ownerName: session.name }),
        (created) =>
          contentChangeOps("room.created", [keys.roomsAll, keys.roomsCount], { room: created.id, ms: created.createdAt.getTime() }),
      );
    } catch (error) {
      if (isUniqueViolation(error)) throw duplicate(name);
      throw error;
    }
    await this.deps.publish({ type: "room.created", room });
    return room;
  }

  async update(session: Session, id: string, input: unknown): Promise<Room> {
    assertCanonicalId("roomId", id);
    const parsed = updateRoomSchema.safeParse(input);
    if (!parsed.success) throw invalid(fieldErrors(parsed.error));
    const { keys } = this.deps;
    let room: Room;
    try {
      room = await this.write(
        async (tx) => {
          await this.assertOwner(tx, session, id);
          const updated = await updateRoom(tx, id, parsed.data);
          if (!updated) throw notFound("Room");
          return updated;
        },
        () => contentChangeOps("room.updated", [keys.roomsAll, keys.room(id)]),
      );
    } catch (error) {
      if (isUniqueViolation(error)) throw duplicate(parsed.data.name ?? "");
      throw error;
    }
    await this.deps.publish({ type: "room.updated", room });
    return room;
  }

  async remove(session: Session, id: string): Promise<Room> {
    assertCanonicalId("roomId", id);
    const { keys } = this.deps;
    const room = await this.write(
      async (tx) => {
        await this.assertOwner(tx, session, id);
        const deleted = await softDeleteRoom(tx, id);
        if (!deleted) throw notFound("Room");
        return deleted;
      },
      () => contentChangeOps("room.deleted", [keys.roomsAll, keys.roomsCount, keys.room(id)], { room: id, forget: true }),
    );
    await this.deps.publish({ type: "room.deleted", room });
    return room;
  }

  private write<T>(work: (tx: Db) => Promise<T>, opsOf: (result: T) => RecordedOps): Promise<T> {
    return this.deps.invalidations.commit(this.deps.db, work, opsOf);
  }

  private async assertOwner(tx: Db, session: Session, id: string): Promise<void> {
    const row = await lockLiveRoom(tx, id);
    if (!row) throw notFound("Room");
    if (row.ownerId !== session.id) throw forbidden("Only the room's owner can change it");
  }
}
