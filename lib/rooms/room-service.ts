import type { CacheAside } from "../cache/cache-aside";
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
import { fieldErrors } from "../validation";
import type { LobbyEvent } from "../realtime/events";
import type { ContentChangeListener } from "../search/content-change";
import type { RoomActivity } from "./room-activity";

/** The room-list events a room write announces. */
type RoomEvent = Extract<LobbyEvent, { type: "room.created" | "room.updated" | "room.deleted" }>;
import { createRoomSchema, updateRoomSchema } from "./validation";

export interface RoomServiceDeps {
  db: Db;
  cache: CacheAside;
  keys: Keys;
  /** Announces a committed change on the realtime topic `rooms`; best effort, never throws. */
  publish: (event: RoomEvent) => Promise<void>;
  /** Room creations per session and IP (429). Default: no limit. */
  limiter?: RateLimiter;
  /** The room list's order (`{rooms:all}:activity`): created rooms join it, deleted ones leave. */
  activity?: RoomActivity;
  /** Told of every committed write (stats and search invalidation); never rejects. */
  afterCommit?: ContentChangeListener;
}

const duplicate = (name: string) =>
  new AppError(409, "duplicate_name", `A room named "${name}" already exists`, { name: "That name is taken" });

function invalid(fields: Record<string, string>): AppError {
  return new AppError(400, "invalid_input", "Some fields are invalid", fields);
}

/**
 * Room writes (DESIGN.md write path): Postgres in a transaction, then invalidation of
 * every key the write affects, awaited so that the writer's next read, on any instance,
 * sees its write; then an event on pub/sub.
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
    let room: Room;
    try {
      room = await insertRoom(this.deps.db, { name, description, ownerId: session.id, ownerName: session.name });
    } catch (error) {
      if (isUniqueViolation(error)) throw duplicate(name);
      throw error;
    }
    await this.deps.activity?.touch(room.id, room.createdAt);
    await this.committed({ type: "room.created", room }, [this.deps.keys.roomsAll, this.deps.keys.roomsCount]);
    return room;
  }

  async update(session: Session, id: string, input: unknown): Promise<Room> {
    const parsed = updateRoomSchema.safeParse(input);
    if (!parsed.success) throw invalid(fieldErrors(parsed.error));
    let room: Room | undefined;
    try {
      room = await this.deps.db.transaction(async (tx) => {
        await this.assertOwner(tx as unknown as Db, session, id);
        return updateRoom(tx as unknown as Db, id, parsed.data);
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw duplicate(parsed.data.name ?? "");
      throw error;
    }
    if (!room) throw notFound("Room");
    await this.committed({ type: "room.updated", room }, [this.deps.keys.roomsAll, this.deps.keys.room(id)]);
    return room;
  }

  async remove(session: Session, id: string): Promise<Room> {
    const room = await this.deps.db.transaction(async (tx) => {
      await this.assertOwner(tx as unknown as Db, session, id);
      return softDeleteRoom(tx as unknown as Db, id);
    });
    if (!room) throw notFound("Room");
    const { keys } = this.deps;
    await this.deps.activity?.forget(id);
    await this.committed({ type: "room.deleted", room }, [keys.roomsAll, keys.roomsCount, keys.room(id)]);
    return room;
  }

  private async assertOwner(tx: Db, session: Session, id: string): Promise<void> {
    const row = await lockLiveRoom(tx, id);
    if (!row) throw notFound("Room");
    if (row.ownerId !== session.id) throw forbidden("Only the room's owner can change it");
  }

  private async committed(event: RoomEvent, keysToDrop: string[]): Promise<void> {
    await this.deps.cache.invalidateAfterWrite(keysToDrop);
    await this.deps.afterCommit?.(event.type);
    await this.deps.publish(event);
  }
}
