import { sql } from "drizzle-orm";
import { bigint, check, index, pgSequence, pgTable, text, timestamp, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { INVISIBLE_OR_BIDI } from "../../validation";
import { tsvector } from "./tsvector";

/**
 * Every change to a room takes the next value of this sequence as the room's version,
 * inside the write's transaction, so versions only grow and the newest write of a room
 * carries the largest one. Soft-deleted rows keep theirs, so max(version) over the whole
 * table never goes back: the version of `rooms:all`.
 */
export const roomVersionSeq = pgSequence("room_version_seq");

export const ROOM_NAME_MAX = 64;
export const ROOM_DESCRIPTION_MAX = 280;

/**
 * Rooms are soft-deleted (`deleted_at`): the row keeps its bumped version (so the list's
 * version never decreases), messages keep a parent, and the reconciler can tell a removed
 * room from one that never existed. Every read of live rooms filters `deleted_at is null`.
 */
export const rooms = pgTable(
  "rooms",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    name: text("name").notNull(),
    description: text("description").notNull().default(""),
    ownerId: text("owner_id").notNull(),
    ownerName: text("owner_name").notNull(),
    version: bigint("version", { mode: "number" })
      .notNull()
      .default(sql`nextval('room_version_seq')`),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
    deletedAt: timestamp("deleted_at", { withTimezone: true, mode: "date" }),
    /**
     * Version of the room's conversation (`messages:{id}`): the next value of
     * message_version_seq, set by every message send and delete in their transaction.
     * Separate from `version`, so a message never invalidates the room's own keys.
     */
    messageVersion: bigint("message_version", { mode: "number" }).notNull().default(0),
    /** Time of the last message sent; null until the first. Ordering by activity reads this. */
    lastActivityAt: timestamp("last_activity_at", { withTimezone: true, mode: "date" }),
    /**
     * Full-text search document: the name weighs more (A) than the description (B).
     * Generated, so a rename can never leave it behind; GIN-indexed below.
     */
    searchVector: tsvector("search_vector").generatedAlwaysAs(
      sql`setweight(to_tsvector('english'::regconfig, name), 'A') || setweight(to_tsvector('english'::regconfig, description), 'B')`,
    ),
  },
  (t) => [
    // Names are unique ignoring case among live rooms; a deleted room frees its name.
    uniqueIndex("rooms_name_lower_live_idx").on(sql`lower(${t.name})`).where(sql`${t.deletedAt} is null`),
    index("rooms_live_created_idx").on(t.createdAt, t.id).where(sql`${t.deletedAt} is null`),
    index("rooms_search_idx").using("gin", t.searchVector),
    check(
      "rooms_name_valid",
      sql`char_length(${t.name}) between 1 and ${sql.raw(String(ROOM_NAME_MAX))} and ${t.name} = btrim(${t.name}) and ${t.name} is nfc normalized and ${t.name} !~ '[[:cntrl:]]'`,
    ),
    check(
      "rooms_description_valid",
      sql`char_length(${t.description}) <= ${sql.raw(String(ROOM_DESCRIPTION_MAX))} and ${t.description} = btrim(${t.description}) and ${t.description} !~ '[[:cntrl:]]'`,
    ),
    check("rooms_owner_name_valid", sql`char_length(${t.ownerName}) between 1 and 32`),
    // No bidi controls or invisible characters in a name (lib/validation.ts, nameText).
    check("rooms_name_visible", sql`${t.name} !~ ${sql.raw(`'[${INVISIBLE_OR_BIDI}]'`)}`),
  ],
);

export type RoomRow = typeof rooms.$inferSelect;
export type NewRoomRow = typeof rooms.$inferInsert;
