import type { Viewer } from "@/app/form-state";

/**
 * What the send form's server action hands back (through `useActionState`). With
 * JavaScript off, Next renders the room page with this state after the POST.
 */
export type SendMessageState =
  | { status: "idle" }
  | { status: "error"; message: string; fields: Partial<Record<"body" | "_", string>>; value: string }
  | { status: "sent"; viewer: Viewer };

export const initialSendMessageState: SendMessageState = { status: "idle" };
