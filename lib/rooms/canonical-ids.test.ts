import { NextRequest } from "next/server";
import { afterEach, describe, expect, it, vi } from "vitest";
import { GET as getRoomRoute } from "@/app/api/rooms/by-id/[roomId]/route";
import { GET as getMessagesRoute } from "@/app/api/rooms/by-id/[roomId]/messages/route";
import { AppError } from "../errors";
import { cursorSchema } from "../messages/validation";
import type { Runtime } from "../runtime";
import type { Session } from "../session/session";
import { uuidSchema } from "../validation";
import { useInstances } from "../../tests/support/instances";

// The route modules are server-only; this test is the server.
vi.mock("server-only", () => ({}));

const alice: Session = { id: "alice-session-0001", name: "Alice" };
const g = globalThis as unknown as { __lobbyRuntime?: Runtime };

async function rejection(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
}

describe("ids are canonical (lower-case UUIDs) before they touch a key, a query or a URL", () => {
  const t = useInstances({ truncate: "rooms, messages" });
  afterEach(() => {
    delete g.__lobbyRuntime;
  });

  /** Every key under this test's prefix (SCAN), companions included. */
  async function keys(): Promise<string[]> {
    const found: string[] = [];
    let cursor = "0";
    do {
      const [next, batch] = await t.redis.raw.scan(cursor, "MATCH", `*${t.redis.prefix}*`, "COUNT", 1000);
      found.push(...batch);
      cursor = next;
    } while (cursor !== "0");
    return found.sort();
  }

  it("the boundary schema takes one spelling of a UUID, and cursors have one spelling too", () => {
    const id = "0b6f1c9e-8d2a-4c1e-9f3b-5a7d2e4c6b8a";
    expect(uuidSchema.safeParse(id).success).toBe(true);
    for (const other of [id.toUpperCase(), `{${id}}`, id.replaceAll("-", ""), ` ${id}`, `urn:uuid:${id}`]) {
      expect(uuidSchema.safeParse(other).success, other).toBe(false);
    }
    expect(cursorSchema.safeParse("9007199254740991").success).toBe(true);
    // Past 2^53 two cursors would be one number (and one query); and no leading zeros.
    for (const other of ["9007199254740993", "9999999999999999", "0012", "+12", "1e3"]) {
      expect(cursorSchema.safeParse(other).success, other).toBe(false);
    }
  });

  it("services refuse another spelling of a room or message id with a 400, store nothing and create no key", async () => {
    const rt = t.instance();
    const room = await rt.roomWrites.create(alice, { name: "Canonical" });
    const message = await rt.messageWrites.send(alice, room.id, { body: "hello" });
    await rt.rooms.getRoom(room.id);
    await rt.messages.getNewest(room.id);
    await rt.activity.markRead(alice.id, room.id);
    const before = await keys();
    const UPPER = room.id.toUpperCase();

    const refused = [
      rt.rooms.getRoom(UPPER),
      rt.messages.getNewest(UPPER),
      rt.messages.getPage(UPPER, {}),
      rt.messageWrites.send(alice, UPPER, { body: "spelled" }),
      rt.messageWrites.remove(alice, room.id, message.id.toUpperCase()),
      rt.messageWrites.edit(alice, UPPER, message.id, { body: "edited" }),
      rt.roomWrites.update(alice, UPPER, { name: "Renamed" }),
      rt.roomWrites.remove(alice, UPPER),
      rt.activity.markRead(alice.id, UPPER),
    ];
    for (const error of await Promise.all(refused.map(rejection))) {
      expect(error.status).toBe(400);
      expect(error.code).toBe("invalid_param");
    }
    expect(await keys()).toEqual(before);
    const rows = await t.db.sql<{ body: string; deleted: boolean }[]>`select body, deleted_at is not null as deleted from messages`;
    expect(rows).toEqual([{ body: "hello", deleted: false }]);
    const [r] = await t.db.sql<{ name: string; deleted: boolean }[]>`select name, deleted_at is not null as deleted from rooms`;
    expect(r).toEqual({ name: "Canonical", deleted: false });
  });

  it("the API answers 400 to another spelling and serves nothing old after a delete", async () => {
    const rt = (g.__lobbyRuntime = t.instance());
    const room = await rt.roomWrites.create(alice, { name: "Spelled" });
    const message = await rt.messageWrites.send(alice, room.id, { body: "soon gone" });
    const call = (handler: typeof getRoomRoute, id: string, path = "") =>
      handler(new NextRequest(`http://lobby.test/api/rooms/by-id/${id}${path}`), { params: Promise.resolve({ roomId: id }) });

    expect((await call(getMessagesRoute, room.id, "/messages")).status).toBe(200);
    await rt.messageWrites.remove(alice, room.id, message.id);
    for (const id of [room.id.toUpperCase(), room.id.slice(0, 9) + room.id.slice(9).toUpperCase()]) {
      for (const [handler, path] of [[getRoomRoute, ""], [getMessagesRoute, "/messages"]] as const) {
        const res = await call(handler, id, path);
        expect(res.status).toBe(400);
        expect(await res.json()).toEqual({
          error: { code: "invalid_param", message: "Malformed roomId", fields: { roomId: "must be a lower-case UUID" } },
        });
      }
    }
    const fresh = await call(getMessagesRoute, room.id, "/messages");
    expect(JSON.stringify(await fresh.json())).not.toContain("soon gone");
  });
});
