import { contentChangeOps, type ContentChange } from "../cache/invalidation/content-change";
import type { WriteInvalidations } from "../cache/invalidation/write";
import type { Keys } from "../cache/keys";
import type { Db } from "../db/client";
import { bumpMessageVersion, editMessageBody, lastMessage, lockLiveMessage, sendMessageStatement, softDeleteMessage, type LastMessage, type Message } from "../db/queries/messages";
import { AppError, forbidden, notFound } from "../errors";
import type { RateLimiter } from "../limits/rate-limiter";
import { recordTiming } from "../observability/server-timing";
import type { LobbyEvent, PreviewPayload, Topic } from "../realtime/events";
import { toLastMessage } from "../rooms/room-previews";
import type { Session } from "../session/session";
import { assertCanonicalId, fieldErrors } from "../validation";
import { editMessageSchema, sendMessageSchema } from "./validation";

export interface MessageServiceDeps {
  db: Db;
  /** Commits a write with its invalidation (lib/cache/invalidation): the log row in the same transaction. */
  invalidations: WriteInvalidations;
  keys: Keys;
  limiter: RateLimiter;
  /** The event bus's publish; best effort, never throws. */
  publish: (topic: Topic, event: LobbyEvent) => Promise<void>;
}

/**
 * Message writes (DESIGN.md write path): a transaction that bumps the room's conversation
 * version (and so locks the room row: 404 for an unknown or deleted room), writes the
 * message and records its invalidation (`messages:{roomId}`, the home page, stats, search,
 * the list's order: the invalidation log; a send is all of that in one statement, see send);
 * after the commit that invalidation is applied (or outlived by every process's lease)
 * before the write returns, so the writer's next read on any instance sees it; then
 * events. `rooms:all` is left alone: activity is not room metadata, and a busy room must
 * not empty the room-list cache.
 */
export class MessageService {
  constructor(private readonly deps: MessageServiceDeps) {}

  /** `ip`: the client address when the request carried one, for the per-IP limit. */
  async send(session: Session, roomId: string, input: unknown, ip?: string): Promise<Message> {
    assertCanonicalId("roomId", roomId);
    const parsed = sendMessageSchema.safeParse(input);
    if (!parsed.success) throw new AppError(400, "invalid_input", "Some fields are invalid", fieldErrors(parsed.error));
    const limiting = performance.now();
    await this.deps.limiter.check("message", { sessionId: session.id, ip });
    recordTiming("limit", performance.now() - limiting);
    // One statement, committed on its own: the room's lock, the message and the record (its
    // activity the room's new last_activity_at), in one round trip. The lock is held inside
    // Postgres only, never across a turn of this process's event loop.
    const { message, lastActivityAt, messageVersion: version } = await this.deps.invalidations.commitStatement(
      this.deps.db,
      contentChangeOps("message.created", [this.deps.keys.messages(roomId)], { room: roomId, ms: "now" }),
      async (record) => {
        const sent = await sendMessageStatement(this.deps.db, { roomId, authorId: session.id, authorName: session.name, body: parsed.data.body }, record);
        // Deleted (or never there): nothing was written.
        if (!sent) throw notFound("Room");
        return { result: sent, record: sent.record };
      },
    );
    // Both events at once (one round trip over TCP): they are on two topics, and each
    // topic's order is its own. The conversation's message, and the room list's card, which
    // shows it as the room's last.
    const publishing = performance.now();
    await Promise.all([
      this.publish(`room:${roomId}`, {
        type: "message.created",
        message: {
          id: message.id,
          roomId,
          authorId: message.authorId,
          authorName: message.authorName,
          body: message.body,
          createdAt: message.createdAt.toISOString(),
        },
      }),
      this.publish("rooms", {
        type: "room.activity",
        roomId,
        lastActivityAt: lastActivityAt.toISOString(),
        preview: previewPayload(version, toLastMessage(message)),
      }),
    ]);
    recordTiming("publish", performance.now() - publishing);
    return message;
  }

  /** Soft-deletes a message; only its author may (403), in a live room (404). */
  async remove(session: Session, roomId: string, messageId: string): Promise<Message> {
    assertCanonicalId("roomId", roomId);
    assertCanonicalId("messageId", messageId);
    const { message, preview } = await this.write("message.deleted", roomId, async (db) => {
      // Room row first, as send does: one lock order, no deadlock between the two.
      const room = await bumpMessageVersion(db, { roomId, activity: false });
      if (!room) throw notFound("Room");
      const row = await lockLiveMessage(db, { roomId, messageId });
      if (!row) throw notFound("Message");
      if (row.authorId !== session.id) throw forbidden("Only the author can delete a message");
      const deleted = await softDeleteMessage(db, { roomId, messageId, authorId: session.id });
      if (!deleted) throw notFound("Message");
      // The room list's preview after the delete, read under the room's lock.
      return { message: deleted, preview: previewPayload(room.messageVersion, await lastMessage(db, roomId)) };
    });
    await this.publish(`room:${roomId}`, { type: "message.deleted", roomId, messageId });
    await this.publish("rooms", { type: "room.preview", roomId, preview });
    return message;
  }

  /**
   * Replaces a message's body (the rules of a send, and its rate limit); only its author
   * may (403), in a live room (404). Like a delete: a new conversation version in the
   * transaction, then the writers' invalidation of `messages:{roomId}`, then
   * `message.edited`. Not activity: an edit does not move the room up the list.
   */
  async edit(session: Session, roomId: string, messageId: string, input: unknown, ip?: string): Promise<Message> {
    assertCanonicalId("roomId", roomId);
    assertCanonicalId("messageId", messageId);
    const parsed = editMessageSchema.safeParse(input);
    if (!parsed.success) throw new AppError(400, "invalid_input", "Some fields are invalid", fieldErrors(parsed.error));
    await this.deps.limiter.check("message", { sessionId: session.id, ip });
    const { message, preview } = await this.write("message.updated", roomId, async (db) => {
      // Room row first, as send and delete do: one lock order.
      const room = await bumpMessageVersion(db, { roomId, activity: false });
      if (!room) throw notFound("Room");
      const row = await lockLiveMessage(db, { roomId, messageId });
      if (!row) throw notFound("Message");
      if (row.authorId !== session.id) throw forbidden("Only the author can edit a message");
      const edited = await editMessageBody(db, { roomId, messageId, authorId: session.id, body: parsed.data.body });
      if (!edited?.editedAt) throw notFound("Message");
      return { message: edited as Message & { editedAt: Date }, preview: previewPayload(room.messageVersion, await lastMessage(db, roomId)) };
    });
    await this.publish(`room:${roomId}`, {
      type: "message.edited",
      roomId,
      messageId,
      body: message.body,
      editedAt: message.editedAt.toISOString(),
    });
    await this.publish("rooms", { type: "room.preview", roomId, preview });
    return message;
  }

  /** `work` in a transaction with the conversation's invalidation (and the home page's, stats', search's), recorded with its first statement. */
  private write<T>(change: ContentChange, roomId: string, work: (db: Db) => Promise<T>): Promise<T> {
    return this.deps.invalidations.commit(this.deps.db, work, contentChangeOps(change, [this.deps.keys.messages(roomId)]));
  }

  private async publish(topic: Topic, event: LobbyEvent): Promise<void> {
    // The bus promises not to throw; a committed write must not become an error if it does.
    await this.deps.publish(topic, event).catch(() => {});
  }
}

/** The room list's view of a room's last message, as an event carries it. */
function previewPayload(version: number, last: LastMessage | null): PreviewPayload {
  return { version, last: last && { ...last, createdAt: last.createdAt.toISOString() } };
}
