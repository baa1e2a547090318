import { expect, test } from "@playwright/test";
import { serverActions } from "./actions";
import { rawRequest } from "./raw-http";
import { db } from "./support";

/**
 * Server actions are public endpoints: anyone can call one with any arguments (Next-Action
 * header, a JSON array of arguments). Malformed arguments are the caller's error, answered
 * with the form's error state, never a 500 ("a is not iterable" used to escape the wrapper).
 */

const MALFORMED: unknown[][] = [
  [],
  ["a"],
  [null],
  [null, null],
  [1, { x: 1 }],
  [{}, "a string"],
  [{}, 42],
  [{}, [1, 2, 3]],
  [{}, { name: 42, body: ["x"], roomId: {} }],
  [{ status: "idle" }, null, "extra"],
];

test("every server action answers malformed arguments without a 5xx, and stores nothing", async () => {
  const [before] = await db()<{ n: number }[]>`select (select count(*) from rooms) + (select count(*) from messages) as n`;
  const actions = serverActions();
  expect(actions.map((a) => a.name).sort()).toEqual(expect.arrayContaining(["changeDisplayName", "createRoom", "sendMessage"]));
  for (const action of actions) {
    for (const args of MALFORMED) {
      const res = await rawRequest({
        method: "POST",
        path: "/",
        headers: { "next-action": action.id, "content-type": "text/plain;charset=UTF-8", accept: "text/x-component" },
        body: JSON.stringify(args),
      });
      expect(res.status, `${action.name}(${JSON.stringify(args)})`).toBeLessThan(500);
    }
  }
  const [after] = await db()<{ n: number }[]>`select (select count(*) from rooms) + (select count(*) from messages) as n`;
  expect(after?.n).toBe(before?.n);
});
