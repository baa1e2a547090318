import { expect, test } from "@playwright/test";
import { e2ePort } from "./env";
import { serverOn } from "./support";

/**
 * A bad configuration stops the server (DESIGN.md, Security): `next start` exits non-zero
 * and says which variable is wrong, instead of listening and answering every request 500.
 */

for (const [variable, env] of [
  ["LOG_LEVEL", { LOG_LEVEL: "loud" }],
  ["SESSION_SECRET", { SESSION_SECRET: "" }], // production requires it
  ["DATABASE_URL", { DATABASE_URL: "mysql://db/lobby" }],
] as const) {
  test(`a bad ${variable} stops next start with a non-zero exit naming it`, async () => {
    test.setTimeout(60_000);
    const server = serverOn(e2ePort(6), env);
    // A server that keeps running is killed after 20 s (and fails the test), never left behind.
    const { code, signal, output } = await server.run(20_000);
    expect(signal, `still running after 20 s:\n${output.slice(-2_000)}`).toBeNull();
    expect(code).not.toBe(0);
    expect(output).toContain("Invalid environment");
    expect(output).toContain(`${variable}:`);
  });
}
