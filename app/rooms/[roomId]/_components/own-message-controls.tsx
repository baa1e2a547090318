"use client";

import { useRouter } from "next/navigation";
import { useState } from "react";
import { useSession } from "@/app/_components/session-context";

/**
 * "You", an edit and a delete button on the visitor's own messages. Who the visitor is
 * comes from the browser (GET /api/session), so the server render stays the same for
 * everyone; with JavaScript off these controls are simply absent.
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
  /** Opens the message's edit form (rendered by the message, below its meta line). */
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
    <span className="message-own">
      <span className="badge badge-owner">You</span>
      {onEdit && (
        <button type="button" className="message-delete" onClick={onEdit}>
          Edit
          <span className="visually-hidden"> this message</span>
        </button>
      )}
      <button type="button" className="message-delete" onClick={remove} disabled={state === "deleting"}>
        {state === "deleting" ? "Deleting…" : state === "failed" ? "Retry delete" : "Delete"}
        <span className="visually-hidden"> this message</span>
      </button>
    </span>
  );
}
