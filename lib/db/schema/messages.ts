import { sql } from "drizzle-orm";
import { bigint, check, foreignKey, index, pgSequence, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { rooms } from "./rooms";
import { tsvector } from "./tsvector";

/**
 * Gives every message its `seq`: monotonic across the table, so it orders a room's
 * messages and is the keyset cursor for paging backwards (`seq < cursor`).
 */
export const messageSeq = pgSequence("message_seq");

/**
 * Bumped (into `rooms.message_version`) by every send and delete in a room, inside the
 * write's transaction: the version of that room's cached newest page. `max(seq)` alone
 * would not do, since a delete does not change it.
 */
export const messageVersionSeq = pgSequence("message_version_seq");

export const MESSAGE_BODY_MAX = 2000;

/**
 * Chat messages, soft-deleted (`deleted_at`) so a delete is a versioned change like any
 * other and the row survives for moderation. Every read of live messages filters
 * `deleted_at is null`. Author id and name are copied from the signed session cookie.
 */
export const messages = pgTable(
  "messages",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    roomId: uuid("room_id").notNull(),
    seq: bigint("seq", { mode: "number" })
      .notNull()
      .default(sql`nextval('message_seq')`),
    authorId: text("author_id").notNull(),
    authorName: text("author_name").notNull(),
    body: text("body").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
    editedAt: timestamp("edited_at", { withTimezone: true, mode: "date" }),
    deletedAt: timestamp("deleted_at", { withTimezone: true, mode: "date" }),
    /** Full-text search document of the body; generated (an edit updates it), GIN-indexed below. */
    searchVector: tsvector("search_vector").generatedAlwaysAs(sql`to_tsvector('english'::regconfig, body)`),
  },
  (t) => [
    foreignKey({ name: "messages_room_id_fk", columns: [t.roomId], foreignColumns: [rooms.id] }),
    // "Newest page" and backwards keyset paging: where room_id = $1 [and seq < $2] order by seq desc.
    index("messages_room_seq_idx").on(t.roomId, t.seq.desc()),
    index("messages_search_idx").using("gin", t.searchVector),
    // Multi-line text: newlines allowed, every other control character refused; trimmed.
    check(
      "messages_body_valid",
      sql`char_length(${t.body}) between 1 and ${sql.raw(String(MESSAGE_BODY_MAX))} and ${t.body} = btrim(${t.body}, E' \\t\\n\\r') and ${t.body} !~ '[\\x01-\\x09\\x0b-\\x1f\\x7f-\\x9f]'`,
    ),
    check("messages_author_name_valid", sql`char_length(${t.authorName}) between 1 and 32`),
  ],
);

export type MessageRow = typeof messages.$inferSelect;
export type NewMessageRow = typeof messages.$inferInsert;
