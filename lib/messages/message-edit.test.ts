import { NextRequest } from "next/server";
import { afterEach, describe, expect, it, vi } from "vitest";
import { PATCH } from "@/app/api/rooms/by-id/[roomId]/messages/[messageId]/route";
import { AppError } from "../errors";
import type { Runtime } from "../runtime";
import type { Session } from "../session/session";
import { gate } from "../../tests/support/net-faults";
import { useInstances } from "../../tests/support/instances";

// The route module is server-only; this test is the server. The session is the signed
// cookie's job (tested in lib/session): here it is whoever the test says is calling.
vi.mock("server-only", () => ({}));
let caller: Session | undefined;
vi.mock("@/lib/session/cookie", () => ({ readSession: async () => caller }));
vi.mock("@/lib/http/client-ip", () => ({ clientIp: async () => "203.0.113.5" }));

const alice: Session = { id: "alice-session-0001", name: "Alice" };
const bob: Session = { id: "bob-session-000001", name: "Bob" };
const g = globalThis as unknown as { __lobbyRuntime?: Runtime };

async function appError(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
}

describe("message edit: MessageService.edit and PATCH /api/rooms/by-id/{id}/messages/{messageId}", () => {
  const t = useInstances({ truncate: "rooms, messages" });
  afterEach(() => {
    delete g.__lobbyRuntime;
    caller = undefined;
  });
  const stored = async (id: string) =>
    (await t.db.sql<{ body: string; edited_at: Date | null }[]>`select body, edited_at from messages where id = ${id}`)[0];

  it("replaces the body, stamps editedAt, bumps the conversation version and invalidates the cached page", async () => {
    const rt = t.instance();
    const room = await rt.roomWrites.create(alice, { name: "Edits" });
    const msg = await rt.messageWrites.send(alice, room.id, { body: "Helo" });
    await rt.messages.getNewest(room.id); // cached
    const version = async () => (await t.db.sql<{ v: string }[]>`select message_version as v from rooms where id = ${room.id}`)[0]!.v;
    const before = await version();

    const edited = await rt.messageWrites.edit(alice, room.id, msg.id, { body: "  Hello  " });
    expect(edited).toMatchObject({ id: msg.id, body: "Hello", createdAt: msg.createdAt });
    expect(edited.editedAt).toBeInstanceOf(Date);
    expect(Number(await version())).toBeGreaterThan(Number(before));
    // The writer's next read (any instance) sees the edit: the old page was invalidated, not served.
    const page = await t.instance().messages.getNewest(room.id);
    expect(page.data?.messages.map((m) => [m.body, m.editedAt?.getTime()])).toEqual([["Hello", edited.editedAt!.getTime()]]);
    // Announced on the room's topic, for the open pages to update in place.
    const events = await rt.events.replay(`room:${room.id}`, "0-0");
    expect(events.at(-1)?.event).toEqual({
      type: "message.edited",
      roomId: room.id,
      messageId: msg.id,
      body: "Hello",
      editedAt: edited.editedAt!.toISOString(),
    });
  });

  it("refuses bad input with field errors (the send rules), and anyone but the author", async () => {
    const rt = t.instance();
    const room = await rt.roomWrites.create(alice, { name: "Strict edits" });
    const msg = await rt.messageWrites.send(alice, room.id, { body: "Original" });
    for (const body of [{ body: "   " }, { body: "x".repeat(2001) }, { body: "bell\u0007" }, { text: "hi" }, null]) {
      const error = await appError(rt.messageWrites.edit(alice, room.id, msg.id, body));
      expect(error.status).toBe(400);
      expect(error.fields).toBeDefined();
    }
    expect((await appError(rt.messageWrites.edit(bob, room.id, msg.id, { body: "Mine now" }))).status).toBe(403);
    const unknown = "00000000-0000-4000-8000-000000000000";
    expect((await appError(rt.messageWrites.edit(alice, room.id, unknown, { body: "?" }))).status).toBe(404);
    expect((await appError(rt.messageWrites.edit(alice, unknown, msg.id, { body: "?" }))).status).toBe(404);
    await rt.messageWrites.remove(alice, room.id, msg.id);
    expect((await appError(rt.messageWrites.edit(alice, room.id, msg.id, { body: "Back?" }))).status).toBe(404);
    expect(await stored(msg.id)).toMatchObject({ body: "Original", edited_at: null });
  });

  it("never leaves the old body cached when an edit commits while a reader is loading", async () => {
    const writer = t.instance();
    const room = await writer.roomWrites.create(alice, { name: "Edit race" });
    const msg = await writer.messageWrites.send(alice, room.id, { body: "Before" });
    const pause = gate();
    const reader = t.instance({ hooks: { afterLoad: () => pause.pass() } });
    const reading = reader.messages.getNewest(room.id);
    await pause.arrived; // the reader holds the old page, not yet cached
    await writer.messageWrites.edit(alice, room.id, msg.id, { body: "After" });
    pause.open();
    await reading;
    expect((await reader.messages.getNewest(room.id)).data?.messages.map((m) => m.body)).toEqual(["After"]);
  });

  it("PATCH: 200 with the message for its author; 403, 400 with fields, 415 and 404 otherwise", async () => {
    const rt = (g.__lobbyRuntime = t.instance());
    const room = await rt.roomWrites.create(alice, { name: "Edit API" });
    const msg = await rt.messageWrites.send(alice, room.id, { body: "Typo" });
    const patch = (body: unknown, ids = { roomId: room.id, messageId: msg.id }, contentType = "application/json") =>
      PATCH(
        new NextRequest(new URL(`/api/rooms/by-id/${ids.roomId}/messages/${ids.messageId}`, "http://lobby.test"), {
          method: "PATCH",
          headers: { "content-type": contentType },
          body: typeof body === "string" ? body : JSON.stringify(body),
        }),
        { params: Promise.resolve(ids) },
      );

    caller = bob;
    expect((await patch({ body: "Hijack" })).status).toBe(403);
    caller = undefined;
    expect((await patch({ body: "Anonymous" })).status).toBe(403);

    caller = alice;
    const bad = await patch({ body: "" });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { fields: Record<string, string> } }).error.fields).toHaveProperty("body");
    expect((await patch("body=x", undefined, "application/x-www-form-urlencoded")).status).toBe(415);
    expect((await patch({ body: "x" }, { roomId: room.id, messageId: "not-a-uuid" })).status).toBe(400);
    expect((await patch({ body: "x" }, { roomId: room.id, messageId: "00000000-0000-4000-8000-000000000000" })).status).toBe(404);
    expect(await stored(msg.id)).toMatchObject({ body: "Typo", edited_at: null });

    const ok = await patch({ body: "Fixed" });
    expect(ok.status).toBe(200);
    const json = (await ok.json()) as { message: { id: string; body: string; editedAt: string | null } };
    expect(json.message).toMatchObject({ id: msg.id, body: "Fixed", editedAt: expect.stringMatching(/Z$/) });
    expect((await rt.messages.getNewest(room.id)).data?.messages[0]?.body).toBe("Fixed");
  });
});
