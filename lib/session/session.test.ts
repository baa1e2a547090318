import { describe, expect, it } from "vitest";
import { decodeSession, encodeSession, newSession } from "./session";

const secret = "s".repeat(32);

describe("session cookie", () => {
  it("round-trips a signed session", () => {
    const session = newSession();
    expect(session.name).toMatch(/^[A-Z][a-z]+ [A-Z][a-z]+ \d{2}$/);
    expect(decodeSession(secret, encodeSession(secret, session))).toEqual(session);
  });

  it("rejects a forged, tampered, or foreign-secret cookie", () => {
    const value = encodeSession(secret, { id: "abcdefghijklmnop", name: "Alice" });
    const [payload, sig] = value.split(".") as [string, string];
    const forged = Buffer.from(JSON.stringify({ id: "abcdefghijklmnop", name: "Mallory" })).toString("base64url");
    expect(decodeSession(secret, `${forged}.${sig}`)).toBeUndefined();
    const flipped = sig.slice(0, -1) + (sig.endsWith("A") ? "B" : "A");
    expect(decodeSession(secret, `${payload}.${flipped}`)).toBeUndefined();
    expect(decodeSession("t".repeat(32), value)).toBeUndefined();
    expect(decodeSession(secret, "garbage")).toBeUndefined();
    expect(decodeSession(secret, undefined)).toBeUndefined();
  });
});
