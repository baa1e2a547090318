import type { CacheAside } from "../cache/cache-aside";
import type { Keys } from "../cache/keys";
import type { Db } from "../db/client";
import { bumpMessageVersion, editMessageBody, insertMessage, lockLiveMessage, softDeleteMessage, type Message } from "../db/queries/messages";
import { AppError, forbidden, notFound } from "../errors";
import type { RateLimiter } from "../limits/rate-limiter";
import type { LobbyEvent, Topic } from "../realtime/events";
import type { RoomActivity } from "../rooms/room-activity";
import type { ContentChangeListener } from "../search/content-change";
import type { Session } from "../session/session";
import { fieldErrors } from "../validation";
import { editMessageSchema, sendMessageSchema } from "./validation";

export interface MessageServiceDeps {
  db: Db;
  cache: CacheAside;
  keys: Keys;
  limiter: RateLimiter;
  /** The room list's order (`{rooms:all}:activity`): bumped after each send; best effort. */
  activity?: RoomActivity;
  /** The event bus's publish; best effort, never throws. */
  publish: (topic: Topic, event: LobbyEvent) => Promise<void>;
  /** Told of every committed write (stats and search invalidation); never rejects. */
  afterCommit?: ContentChangeListener;
}

/**
 * Message writes (DESIGN.md write path): a transaction that bumps the room's conversation
 * version (and so locks the room row: 404 for an unknown or deleted room) and writes the
 * message; then `messages:{roomId}` is invalidated, awaited, so the writer's next read on
 * any instance sees its write; then events. `rooms:all` is left alone: activity is not
 * room metadata, and a busy room must not empty the room-list cache.
 */
export class MessageService {
  constructor(private readonly deps: MessageServiceDeps) {}

  /** `ip`: the client address when the request carried one, for the per-IP limit. */
  async send(session: Session, roomId: string, input: unknown, ip?: string): Promise<Message> {
    const parsed = sendMessageSchema.safeParse(input);
    if (!parsed.success) throw new AppError(400, "invalid_input", "Some fields are invalid", fieldErrors(parsed.error));
    await this.deps.limiter.check("message", { sessionId: session.id, ip });
    const { message, lastActivityAt } = await this.deps.db.transaction(async (tx) => {
      const db = tx as unknown as Db;
      const room = await bumpMessageVersion(db, { roomId, activity: true });
      if (!room) throw notFound("Room");
      const message = await insertMessage(db, { roomId, authorId: session.id, authorName: session.name, body: parsed.data.body });
      return { message, lastActivityAt: room.lastActivityAt ?? message.createdAt };
    });
    await this.deps.cache.invalidateAfterWrite([this.deps.keys.messages(roomId)]);
    await this.deps.activity?.touch(roomId, lastActivityAt);
    // After the activity bump: the home page re-rendered on this news must see the new order.
    await this.deps.afterCommit?.("message.created");
    await this.publish(`room:${roomId}`, {
      type: "message.created",
      message: {
        id: message.id,
        roomId,
        authorId: message.authorId,
        authorName: message.authorName,
        body: message.body,
        createdAt: message.createdAt.toISOString(),
      },
    });
    await this.publish("rooms", { type: "room.activity", roomId, lastActivityAt: lastActivityAt.toISOString() });
    return message;
  }

  /** Soft-deletes a message; only its author may (403), in a live room (404). */
  async remove(session: Session, roomId: string, messageId: string): Promise<Message> {
    const message = await this.deps.db.transaction(async (tx) => {
      const db = tx as unknown as Db;
      // Room row first, as send does: one lock order, no deadlock between the two.
      if (!(await bumpMessageVersion(db, { roomId, activity: false }))) throw notFound("Room");
      const row = await lockLiveMessage(db, { roomId, messageId });
      if (!row) throw notFound("Message");
      if (row.authorId !== session.id) throw forbidden("Only the author can delete a message");
      return softDeleteMessage(db, { roomId, messageId, authorId: session.id });
    });
    if (!message) throw notFound("Message");
    await this.deps.cache.invalidateAfterWrite([this.deps.keys.messages(roomId)]);
    await this.deps.afterCommit?.("message.deleted");
    await this.publish(`room:${roomId}`, { type: "message.deleted", roomId, messageId });
    return message;
  }

  /**
   * Replaces a message's body (the rules of a send, and its rate limit); only its author
   * may (403), in a live room (404). Like a delete: a new conversation version in the
   * transaction, then the writers' invalidation of `messages:{roomId}`, then
   * `message.edited`. Not activity: an edit does not move the room up the list.
   */
  async edit(session: Session, roomId: string, messageId: string, input: unknown, ip?: string): Promise<Message> {
    const parsed = editMessageSchema.safeParse(input);
    if (!parsed.success) throw new AppError(400, "invalid_input", "Some fields are invalid", fieldErrors(parsed.error));
    await this.deps.limiter.check("message", { sessionId: session.id, ip });
    const message = await this.deps.db.transaction(async (tx) => {
      const db = tx as unknown as Db;
      // Room row first, as send and delete do: one lock order.
      if (!(await bumpMessageVersion(db, { roomId, activity: false }))) throw notFound("Room");
      const row = await lockLiveMessage(db, { roomId, messageId });
      if (!row) throw notFound("Message");
      if (row.authorId !== session.id) throw forbidden("Only the author can edit a message");
      return editMessageBody(db, { roomId, messageId, authorId: session.id, body: parsed.data.body });
    });
    if (!message?.editedAt) throw notFound("Message");
    await this.deps.cache.invalidateAfterWrite([this.deps.keys.messages(roomId)]);
    await this.deps.afterCommit?.("message.updated");
    await this.publish(`room:${roomId}`, {
      type: "message.edited",
      roomId,
      messageId,
      body: message.body,
      editedAt: message.editedAt.toISOString(),
    });
    return message;
  }

  private async publish(topic: Topic, event: LobbyEvent): Promise<void> {
    // The bus promises not to throw; a committed write must not become an error if it does.
    await this.deps.publish(topic, event).catch(() => {});
  }
}
