import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { sendMessageSchema } from "../messages/validation";
import { displayNameSchema } from "../session/session";
import { createRoomSchema, roomNameSchema } from "./validation";
import { useInstances } from "../../tests/support/instances";

const RLO = "\u202E";
const REFUSED = [
  ["right-to-left override", `evil${RLO}gpj.exe`],
  ["left-to-right isolate", "a\u2066b\u2069"],
  ["right-to-left mark", "General\u200F"],
  ["zero-width space", "Gen\u200Beral"],
  ["word joiner", "Gen\u2060eral"],
  ["byte-order mark (inside: at the edges trim() removes it)", "Gen\uFEFFeral"],
  ["soft hyphen", "Gen\u00ADeral"],
] as const;

describe("names hold no bidi controls or invisible characters (zod and Postgres); other text is rendered isolated", () => {
  const t = useInstances({ truncate: "rooms, messages" });

  it.each(REFUSED)("room and display names refuse a %s", (_label, name) => {
    const room = roomNameSchema.safeParse(name);
    expect(room.success).toBe(false);
    expect(room.error?.issues[0]?.message).toBe("Name must not contain invisible or text-direction characters");
    expect(displayNameSchema.safeParse(name).success).toBe(false);
  });

  it("names keep what real writing needs: ZWJ emoji sequences, ZWNJ in Persian, right-to-left scripts", () => {
    for (const name of ["Family 👨‍👩‍👧", "می‌خواهم", "שלום עולם", "مرحبا"]) {
      expect(roomNameSchema.safeParse(name).success, name).toBe(true);
      expect(displayNameSchema.safeParse(name).success, name).toBe(true);
    }
    // Messages may carry marks and overrides: mixed-direction writing uses them; pages isolate them.
    expect(sendMessageSchema.safeParse({ body: `quote: ${RLO}reversed\u202C and on` }).success).toBe(true);
  });

  it("the service refuses such a name with a 400 and Postgres refuses it as well (rooms_name_visible)", async () => {
    const rt = t.instance();
    await expect(rt.roomWrites.create({ id: "alice-session-0001", name: "Alice" }, { name: `x${RLO}y` })).rejects.toMatchObject({ status: 400, code: "invalid_input" });
    expect(createRoomSchema.safeParse({ name: "ok", description: `a ${RLO}description` }).success).toBe(true);
    await expect(
      t.db.sql`insert into rooms (name, owner_id, owner_name) values (${`x${RLO}y`}, 'alice-session-0001', 'Alice')`,
    ).rejects.toMatchObject({ code: "23514", constraint_name: "rooms_name_visible" });
    expect((await t.db.sql`select count(*)::int as n from rooms`)[0]?.n).toBe(0);
  });

  it("the migration cleans names stored before the rule, without breaking uniqueness, so the check can be added", async () => {
    const { sql } = t.db;
    await sql`alter table rooms drop constraint rooms_name_visible`;
    const insert = async (name: string, deleted = false) =>
      (
        await sql<{ id: string; version: string }[]>`insert into rooms (name, owner_id, owner_name, deleted_at) values (${name}, 'o-0000000000000001', 'O', ${deleted ? new Date() : null}) returning id, version`
      )[0]!;
    await insert("General");
    const twin = await insert("Gen\u200Beral");
    const plain = await insert(`Ab${RLO}c`);
    const empty = await insert("\u200B");
    const a = await insert("Pair\u200B");
    const b = await insert("Pair\u2060");
    const gone = await insert("General\u200B", true);
    await sql.unsafe(readFileSync("drizzle/0004_clean_invisible_names.sql", "utf8"));
    await sql.unsafe(readFileSync("drizzle/0005_names_visible.sql", "utf8"));

    const rows = new Map((await sql<{ id: string; name: string; version: string }[]>`select id, name, version from rooms`).map((r) => [r.id, r]));
    const short = (id: string) => `Room ${id.slice(0, 8)}`;
    expect(rows.get(plain.id)?.name).toBe("Abc");
    expect(rows.get(twin.id)?.name).toBe(short(twin.id));
    expect(rows.get(empty.id)?.name).toBe(short(empty.id));
    expect([rows.get(a.id)?.name, rows.get(b.id)?.name]).toEqual([short(a.id), short(b.id)]);
    // A deleted room frees its name: it may share one with a live room.
    expect(rows.get(gone.id)?.name).toBe("General");
    expect(Number(rows.get(plain.id)?.version)).toBeGreaterThan(Number(plain.version));
  });
});
