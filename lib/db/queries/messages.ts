import { and, eq, isNull, lt, sql } from "drizzle-orm";
import type { Db } from "../client";
import { cacheInvalidations, messages, rooms } from "../schema";
import { recordedOpsSql, type WrittenRecord } from "./invalidations";

/** A live message as the app sees it. `seq` orders a room's messages and is the paging cursor. */
export interface Message {
  id: string;
  roomId: string;
  seq: number;
  authorId: string;
  authorName: string;
  body: string;
  createdAt: Date;
  editedAt: Date | null;
}

/** A page of messages, oldest to newest; `nextCursor` pages further back (null: nothing older). */
export interface MessagePage {
  messages: Message[];
  nextCursor: string | null;
}

export const MESSAGE_PAGE_SIZE = 50;

const messageColumns = {
  id: messages.id,
  roomId: messages.roomId,
  seq: messages.seq,
  authorId: messages.authorId,
  authorName: messages.authorName,
  body: messages.body,
  createdAt: messages.createdAt,
  editedAt: messages.editedAt,
};

const live = isNull(messages.deletedAt);
// Matches messages_room_seq_idx ("seq" DESC NULLS LAST), so the planner walks the index.
const newestFirst = sql`${messages.seq} desc nulls last`;

/** One more row than asked tells whether an older page exists, without a count. */
function toPage(rows: Message[], limit: number): MessagePage {
  const hasMore = rows.length > limit;
  const page = rows.slice(0, limit).reverse();
  return { messages: page, nextCursor: hasMore && page[0] ? String(page[0].seq) : null };
}

/**
 * The newest `limit` live messages of a room, oldest to newest, with the conversation's
 * version (rooms.message_version) read in the same statement and so the same snapshot.
 * `version` is null when the room does not exist (or is deleted).
 */
export async function newestMessagesWithVersion(
  db: Db,
  params: { roomId: string; limit?: number },
): Promise<MessagePage & { version: number | null }> {
  const limit = params.limit ?? MESSAGE_PAGE_SIZE;
  // rooms ⟕ lateral (newest limit+1 messages): no row, no room; one row of nulls, no messages.
  const newest = db
    .select(messageColumns)
    .from(messages)
    .where(and(eq(messages.roomId, params.roomId), live))
    .orderBy(newestFirst)
    .limit(limit + 1)
    .as("m");
  const rows = await db
    .select({
      version: rooms.messageVersion,
      id: newest.id,
      roomId: newest.roomId,
      seq: newest.seq,
      authorId: newest.authorId,
      authorName: newest.authorName,
      body: newest.body,
      createdAt: newest.createdAt,
      editedAt: newest.editedAt,
    })
    .from(rooms)
    .leftJoinLateral(newest, sql`true`)
    .where(and(eq(rooms.id, params.roomId), isNull(rooms.deletedAt)))
    .orderBy(sql`${newest.seq} desc nulls last`);
  const head = rows[0];
  if (!head) return { messages: [], nextCursor: null, version: null };
  const found: Message[] = [];
  for (const { version: _, ...m } of rows) {
    if (m.id !== null && m.roomId !== null && m.seq !== null && m.authorId !== null && m.authorName !== null && m.body !== null && m.createdAt !== null) {
      found.push({ ...m, id: m.id, roomId: m.roomId, seq: m.seq, authorId: m.authorId, authorName: m.authorName, body: m.body, createdAt: m.createdAt });
    }
  }
  return { ...toPage(found, limit), version: Number(head.version) };
}

/** A room's last live message as its card in the room list shows it (body cut to a line's worth). */
export interface LastMessage {
  id: string;
  authorName: string;
  /** The body's first PREVIEW_CHARS characters (code points, as Postgres counts). */
  body: string;
  createdAt: Date;
}

/** How much of a message a room card can show: one line, with room to spare on a wide screen. */
export const PREVIEW_CHARS = 160;

/** What the room list shows under each room: its last live message (null: none), as of `version`. */
export interface RoomPreview {
  roomId: string;
  /** rooms.message_version read with it: bumped by every send, edit and delete, so newer wins. */
  version: number;
  last: LastMessage | null;
}

const previewStatements = new WeakMap<Db, ReturnType<typeof preparePreviews>>();
function preparePreviews(db: Db) {
  // Per room, one probe of messages_room_seq_idx (newest live message first).
  const last = db
    .select({
      id: messages.id,
      authorName: messages.authorName,
      body: sql<string>`left(${messages.body}, ${sql.raw(String(PREVIEW_CHARS))})`.as("preview_body"),
      createdAt: messages.createdAt,
    })
    .from(messages)
    .where(and(eq(messages.roomId, rooms.id), live))
    .orderBy(newestFirst)
    .limit(1)
    .as("m");
  return db
    .select({ roomId: rooms.id, version: rooms.messageVersion, id: last.id, authorName: last.authorName, body: last.body, createdAt: last.createdAt })
    .from(rooms)
    .leftJoinLateral(last, sql`true`)
    .where(and(sql`${rooms.id} = any(${sql.placeholder("ids")}::uuid[])`, isNull(rooms.deletedAt)))
    .prepare("rooms_last_messages");
}

/**
 * The last live message of each of these rooms, with the conversation's version, in one
 * prepared statement (one snapshot): the room list's previews. A room with no message has
 * `last: null`; an unknown or deleted room is left out.
 */
export async function lastMessages(db: Db, roomIds: string[]): Promise<RoomPreview[]> {
  if (roomIds.length === 0) return [];
  let s = previewStatements.get(db);
  if (!s) previewStatements.set(db, (s = preparePreviews(db)));
  const rows = await s.execute({ ids: roomIds });
  return rows.map((r) => ({
    roomId: r.roomId,
    version: Number(r.version),
    last:
      r.id !== null && r.authorName !== null && r.body !== null && r.createdAt !== null
        ? { id: r.id, authorName: r.authorName, body: r.body, createdAt: r.createdAt }
        : null,
  }));
}

/** The last live message of one room (a transaction's view), for the event that tells the room list. */
export async function lastMessage(db: Db, roomId: string): Promise<LastMessage | null> {
  const [row] = await db
    .select({ id: messages.id, authorName: messages.authorName, body: sql<string>`left(${messages.body}, ${sql.raw(String(PREVIEW_CHARS))})`, createdAt: messages.createdAt })
    .from(messages)
    .where(and(eq(messages.roomId, roomId), live))
    .orderBy(newestFirst)
    .limit(1);
  return row ?? null;
}

/** One live message of a live room, or undefined. */
export async function getLiveMessage(db: Db, params: { roomId: string; messageId: string }): Promise<Message | undefined> {
  const [row] = await db
    .select(messageColumns)
    .from(messages)
    .innerJoin(rooms, eq(rooms.id, messages.roomId))
    .where(and(eq(messages.id, params.messageId), eq(messages.roomId, params.roomId), live, isNull(rooms.deletedAt)));
  return row;
}

/** Live messages older than `before` (a seq), oldest to newest: straight from Postgres. */
export async function messagesBefore(
  db: Db,
  params: { roomId: string; before: number; limit?: number },
): Promise<MessagePage> {
  const limit = params.limit ?? MESSAGE_PAGE_SIZE;
  const rows = await db
    .select(messageColumns)
    .from(messages)
    .where(and(eq(messages.roomId, params.roomId), live, lt(messages.seq, params.before)))
    .orderBy(newestFirst)
    .limit(limit + 1);
  return toPage(rows, limit);
}

/**
 * Takes the next conversation version for a live room and records activity; the row stays
 * locked until the transaction ends, so sends and deletes in one room apply in version
 * order. Undefined when the room does not exist (or is deleted).
 */
export async function bumpMessageVersion(
  db: Db,
  params: { roomId: string; activity: boolean },
): Promise<{ messageVersion: number; lastActivityAt: Date | null } | undefined> {
  const [row] = await db
    .update(rooms)
    .set({
      messageVersion: sql`nextval('message_version_seq')`,
      ...(params.activity ? { lastActivityAt: sql`now()` } : {}),
    })
    .where(and(eq(rooms.id, params.roomId), isNull(rooms.deletedAt)))
    .returning({ messageVersion: rooms.messageVersion, lastActivityAt: rooms.lastActivityAt });
  return row;
}

/**
 * A send as one statement, committed on its own (one round trip, and no turn of this
 * process's event loop while the room's row is locked): the room's next conversation version
 * and its activity (the row locked until the commit), the message (its seq taken under that
 * lock, so a room's seqs are in commit order), and, with `record`, the write's invalidation
 * record (./invalidations.ts), its activity stamped with the same now(). Undefined, and
 * nothing written, when the room does not exist or is deleted.
 */
export async function sendMessageStatement(
  db: Db,
  params: { roomId: string; authorId: string; authorName: string; body: string },
  record: { keyPrefix: string; ops: { activity?: object } } | null,
): Promise<{ message: Message; messageVersion: number; lastActivityAt: Date; record?: WrittenRecord } | undefined> {
  const recordCte = record
    ? sql`, record as (
        insert into ${cacheInvalidations} (key_prefix, ops)
        select ${record.keyPrefix}, ${recordedOpsSql(record.ops)} from room
        returning id, ops
      )`
    : sql``;
  const rows = await db.execute<Record<string, unknown>>(sql`
    with room as (
      update ${rooms} set message_version = nextval('message_version_seq'), last_activity_at = now()
      where id = ${params.roomId}::uuid and deleted_at is null
      returning message_version, last_activity_at
    ), message as (
      insert into ${messages} (room_id, author_id, author_name, body)
      select ${params.roomId}::uuid, ${params.authorId}, ${params.authorName}, ${params.body} from room
      returning id, room_id, seq, author_id, author_name, body, created_at, edited_at
    )${recordCte}
    select room.message_version, room.last_activity_at, message.*,
      ${record ? sql`record.id as record_id, record.ops as record_ops` : sql`null as record_id, null as record_ops`}
    from room, message${record ? sql`, record` : sql``}`);
  const row = rows[0];
  if (!row) return undefined;
  return {
    message: {
      id: row.id as string,
      roomId: row.room_id as string,
      seq: Number(row.seq),
      authorId: row.author_id as string,
      authorName: row.author_name as string,
      body: row.body as string,
      // timestamptz as its text (the driver's date parsing is off under drizzle), read as drizzle reads it.
      createdAt: new Date(row.created_at as string),
      editedAt: row.edited_at === null ? null : new Date(row.edited_at as string),
    },
    messageVersion: Number(row.message_version),
    lastActivityAt: new Date(row.last_activity_at as string),
    record: row.record_id === null ? undefined : { id: Number(row.record_id), ops: row.record_ops },
  };
}

/** A live message of a room, locked for the rest of the transaction, or undefined. */
export async function lockLiveMessage(
  db: Db,
  params: { roomId: string; messageId: string },
): Promise<{ id: string; authorId: string } | undefined> {
  const [row] = await db
    .select({ id: messages.id, authorId: messages.authorId })
    .from(messages)
    .where(and(eq(messages.id, params.messageId), eq(messages.roomId, params.roomId), live))
    .for("update");
  return row;
}

/** Soft-deletes a live message of its author; undefined when there is none. */
export async function softDeleteMessage(
  db: Db,
  params: { roomId: string; messageId: string; authorId: string },
): Promise<Message | undefined> {
  const [row] = await db
    .update(messages)
    .set({ deletedAt: sql`now()` })
    .where(
      and(eq(messages.id, params.messageId), eq(messages.roomId, params.roomId), eq(messages.authorId, params.authorId), live),
    )
    .returning(messageColumns);
  return row;
}

/**
 * Replaces the body of a live message of its author and stamps `edited_at`; undefined when
 * there is none. The caller holds the room row (bumpMessageVersion) and the message row.
 */
export async function editMessageBody(
  db: Db,
  params: { roomId: string; messageId: string; authorId: string; body: string },
): Promise<Message | undefined> {
  const [row] = await db
    .update(messages)
    .set({ body: params.body, editedAt: sql`now()` })
    .where(
      and(eq(messages.id, params.messageId), eq(messages.roomId, params.roomId), eq(messages.authorId, params.authorId), live),
    )
    .returning(messageColumns);
  return row;
}
