"use server";

import { refresh } from "next/cache";
import { z } from "zod";
import { action, formObject } from "@/lib/http/action";
import { clientIp } from "@/lib/http/client-ip";
import { messageBodySchema } from "@/lib/messages/validation";
import { runtime } from "@/lib/runtime";
import { ensureSession } from "@/lib/session/cookie";
import { uuidSchema } from "@/lib/validation";
import type { SendMessageState } from "./form-state";

const sendInput = z.strictObject({ roomId: uuidSchema, body: messageBodySchema });

const sendCommand = action(sendInput, async ({ roomId, body }) => {
  const viewer = await ensureSession();
  await runtime().messageWrites.send(viewer, roomId, { body }, await clientIp());
  // messages:{roomId} is already invalidated: re-render the page in this response so the
  // message shows without a second round trip (and, without JavaScript, at all).
  refresh();
  return { id: viewer.id, name: viewer.name };
});

const waitText = (seconds: number | undefined) =>
  !seconds || seconds <= 1 ? "a second" : seconds < 90 ? `${seconds} seconds` : `${Math.ceil(seconds / 60)} minutes`;

export async function sendMessage(_previous: SendMessageState, form: unknown): Promise<SendMessageState> {
  const input = formObject(form);
  const result = await sendCommand(input);
  if (result.ok) return { status: "sent", viewer: result.data };
  const message =
    result.code === "rate_limited"
      ? `Whoa, that's fast! Take a breath: you can send again in ${waitText(result.retryAfterSeconds)}.`
      : result.code === "not_found"
        ? "This room no longer exists."
        : result.error;
  const fields = result.fields?.roomId ? {} : (result.fields ?? {});
  // Capped so a huge post is not mirrored back.
  return { status: "error", message, fields, value: (input.body ?? "").slice(0, 4_000) };
}
