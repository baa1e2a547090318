import "server-only";
import { cookies } from "next/headers";
import { env } from "../env";
import { SESSION_COOKIE, SESSION_MAX_AGE_SECONDS, decodeSession, encodeSession, newSession, type Session } from "./session";

/** The visitor's session, if the request carries a valid one. Reading cookies makes a render dynamic: pages don't. */
export async function readSession(): Promise<Session | undefined> {
  const jar = await cookies();
  return decodeSession(env().sessionSecret, jar.get(SESSION_COOKIE)?.value);
}

/** The visitor's session, created and set on the response when missing (route handlers and server actions only). */
export async function ensureSession(): Promise<Session> {
  return (await readSession()) ?? (await writeSession(newSession()));
}

export async function writeSession(session: Session): Promise<Session> {
  const jar = await cookies();
  jar.set(SESSION_COOKIE, encodeSession(env().sessionSecret, session), {
    httpOnly: true,
    sameSite: "lax",
    secure: env().secureCookies,
    path: "/",
    maxAge: SESSION_MAX_AGE_SECONDS,
  });
  return session;
}
