"use client";

import { useRouter } from "next/navigation";
import { useState } from "react";
import { useSession } from "@/app/_components/session-context";

/**
 * Edit and Delete on the visitor's own messages, as buttons (keyboard reachable; shown on
 * hover and focus by the message's CSS). Who the visitor is comes from the browser (GET
 * /api/session), so the server render stays the same for everyone; without JavaScript the
 * message offers a link to its own page instead (message-list.tsx).
 */
export function OwnMessageControls({
  roomId,
  messageId,
  authorId,
  onEdit,
}: {
  roomId: string;
  messageId: string;
  authorId: string;
  /** Opens the message's edit form (rendered by the message, in place of its body). */
  onEdit?: () => void;
}) {
  const { viewer } = useSession();
  const router = useRouter();
  const [state, setState] = useState<"idle" | "deleting" | "failed">("idle");
  if (viewer?.id !== authorId) return null;

  async function remove() {
    setState("deleting");
    const response = await fetch(`/api/rooms/by-id/${roomId}/messages/${messageId}`, { method: "DELETE" }).catch(() => null);
    if (response?.ok) router.refresh();
    else setState("failed");
  }

  return (
    <>
      {onEdit && (
        <button type="button" className="message-tool" onClick={onEdit}>
          Edit<span className="visually-hidden"> this message</span>
        </button>
      )}
      <button type="button" className="message-tool message-tool-danger" onClick={remove} disabled={state === "deleting"}>
        {state === "deleting" ? "Deleting…" : state === "failed" ? "Retry delete" : "Delete"}
        <span className="visually-hidden"> this message</span>
      </button>
    </>
  );
}
