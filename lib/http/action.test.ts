import { describe, expect, it, vi } from "vitest";
import { changeDisplayName, createRoom } from "@/app/actions";
import { sendMessage } from "@/app/rooms/[roomId]/actions";
import { formObject } from "./action";

// The action modules are server-only; this test is the server.
vi.mock("server-only", () => ({}));

/** What anyone may send a server action: Next decodes the arguments, the action gets whatever they are. */
const MALFORMED: unknown[] = ["a", null, undefined, 42, [1, 2], { name: "not a form" }, new Map([["name", "x"]])];

describe("server actions: malformed arguments are bad input, never a thrown error (a 500)", () => {
  it("formObject takes FormData's string fields and treats anything else as an empty form", () => {
    const form = new FormData();
    form.set("name", "Room");
    form.set("$ACTION_KEY", "k1");
    form.set("file", new Blob(["x"]));
    expect(formObject(form)).toEqual({ name: "Room" });
    for (const value of MALFORMED) expect(formObject(value)).toEqual({});
  });

  it.each(MALFORMED.map((value) => [value]))("createRoom, changeDisplayName and sendMessage answer %o with an error state", async (value) => {
    // Never reaching the services: these calls need no database, no Redis and no session.
    expect(await createRoom({ status: "idle", values: { name: "", description: "" } }, value)).toMatchObject({ status: "error", fields: { name: expect.any(String) } });
    expect(await changeDisplayName({ status: "idle" }, value)).toMatchObject({ status: "error", fields: { name: expect.any(String) } });
    expect(await sendMessage({ status: "idle" }, value)).toMatchObject({ status: "error", message: "Some fields are invalid" });
  });
});
