"use server";

import { redirect } from "next/navigation";
import { z } from "zod";
import { forbidden } from "@/lib/errors";
import { action, formObject } from "@/lib/http/action";
import { clientIp } from "@/lib/http/client-ip";
import { messageBodySchema } from "@/lib/messages/validation";
import { runtime } from "@/lib/runtime";
import { readSession } from "@/lib/session/cookie";
import { uuidSchema } from "@/lib/validation";
import type { ManageMessageState } from "./form-state";

/*
 * Edit and delete as plain form posts, for the message page (works without JavaScript).
 * The author comes from the session cookie; the message service enforces the rules
 * (author only, the send rules and rate limit for an edit) exactly as the API does.
 */

const target = { roomId: uuidSchema, messageId: uuidSchema };

async function author() {
  const session = await readSession();
  if (!session) throw forbidden("Only the author can change a message");
  return session;
}

const editCommand = action(z.strictObject({ ...target, body: messageBodySchema }), async ({ roomId, messageId, body }) => {
  const message = await runtime().messageWrites.edit(await author(), roomId, messageId, { body }, await clientIp());
  return { roomId, seq: message.seq };
});

const deleteCommand = action(z.strictObject(target), async ({ roomId, messageId }) => {
  await runtime().messageWrites.remove(await author(), roomId, messageId);
  return { roomId };
});

export async function editMessage(_previous: ManageMessageState, form: FormData): Promise<ManageMessageState> {
  const input = formObject(form);
  const result = await editCommand(input);
  // Back to the conversation, at the message (outside the wrapper: redirect works by throwing).
  if (result.ok) redirect(`/rooms/${result.data.roomId}#m-${result.data.seq}`);
  return { status: "error", message: result.fields?.body ?? result.error, value: (input.body ?? "").slice(0, 4_000) };
}

export async function deleteMessage(_previous: ManageMessageState, form: FormData): Promise<ManageMessageState> {
  const result = await deleteCommand(formObject(form));
  if (result.ok) redirect(`/rooms/${result.data.roomId}`);
  return { status: "error", message: result.error };
}
