import { createHmac, randomBytes, randomInt, timingSafeEqual } from "node:crypto";
import { z } from "zod";
import { nameText } from "../validation";
import { DISPLAY_NAME_MAX } from "./limits";

/**
 * Identity without passwords: a server-generated id and display name in an HMAC-signed
 * cookie. The id is the author of messages and the owner of rooms; it is never taken
 * from a request body.
 */
export const SESSION_COOKIE = "lobby_session";
export const SESSION_MAX_AGE_SECONDS = 400 * 86_400;

export interface Session {
  id: string;
  name: string;
}

export const displayNameSchema = nameText("Display name", 1, DISPLAY_NAME_MAX);

const payloadSchema = z.object({ id: z.string().regex(/^[A-Za-z0-9_-]{16,64}$/), name: z.string().min(1).max(64) });

function sign(secret: string, payload: string): string {
  return createHmac("sha256", secret).update(payload).digest("base64url");
}

export function encodeSession(secret: string, session: Session): string {
  const payload = Buffer.from(JSON.stringify({ id: session.id, name: session.name })).toString("base64url");
  return `${payload}.${sign(secret, payload)}`;
}

/** The session in a cookie value, or undefined when it is missing, malformed or forged. */
export function decodeSession(secret: string, value: string | undefined): Session | undefined {
  if (!value) return undefined;
  const dot = value.indexOf(".");
  if (dot <= 0) return undefined;
  const payload = value.slice(0, dot);
  const given = Buffer.from(value.slice(dot + 1));
  const expected = Buffer.from(sign(secret, payload));
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  try {
    const parsed = payloadSchema.safeParse(JSON.parse(Buffer.from(payload, "base64url").toString("utf8")));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

const ADJECTIVES = ["Amber", "Brisk", "Calm", "Clever", "Cosy", "Daring", "Eager", "Gentle", "Golden", "Happy", "Jolly", "Kind", "Lively", "Lucky", "Mellow", "Nimble", "Plucky", "Quiet", "Rapid", "Sunny", "Swift", "Tidy", "Witty", "Zesty"];
const ANIMALS = ["Badger", "Beaver", "Crane", "Falcon", "Ferret", "Finch", "Fox", "Gecko", "Heron", "Koala", "Lemur", "Lynx", "Marten", "Otter", "Owl", "Panda", "Puffin", "Raven", "Robin", "Seal", "Stoat", "Swan", "Tapir", "Wren"];

export function newSession(): Session {
  const name = `${ADJECTIVES[randomInt(ADJECTIVES.length)]} ${ANIMALS[randomInt(ANIMALS.length)]} ${randomInt(10, 100)}`;
  return { id: randomBytes(16).toString("base64url"), name };
}
