"use client";

import { useRouter } from "next/navigation";
import { useId, useState, type FormEvent } from "react";
import * as z from "zod/mini";
import { CharacterCount, isOver } from "@/app/_components/character-count";

/** The API's error body: `{ error: { message, fields? } }`. */
const errorSchema = z.object({
  error: z.object({ message: z.string(), fields: z.optional(z.record(z.string(), z.string())) }),
});

/**
 * Edits one of the visitor's own messages in place: PATCH /api/rooms/by-id/{id}/messages/{messageId}
 * (the rules of a send), then the page re-renders from the server; other readers get the
 * new body over the stream. Escape or "Cancel" closes it unchanged.
 */
export function EditMessageForm({
  roomId,
  messageId,
  body,
  maxLength,
  onDone,
}: {
  roomId: string;
  messageId: string;
  body: string;
  maxLength: number;
  onDone: () => void;
}) {
  const router = useRouter();
  const id = useId();
  const [draft, setDraft] = useState(body);
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const over = isOver(draft, maxLength);

  async function save(event: FormEvent) {
    event.preventDefault();
    setSaving(true);
    setError(null);
    const response = await fetch(`/api/rooms/by-id/${roomId}/messages/${messageId}`, {
      method: "PATCH",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ body: draft }),
    }).catch(() => null);
    setSaving(false);
    if (response?.ok) {
      onDone();
      router.refresh();
      return;
    }
    const parsed = z.safeParse(errorSchema, await response?.json().catch(() => null));
    setError(parsed.success ? (parsed.data.error.fields?.body ?? parsed.data.error.message) : "Could not save the edit. Try again.");
  }

  return (
    <form className="message-edit" onSubmit={save} aria-label="Edit message">
      <label className="visually-hidden" htmlFor={`${id}-body`}>
        Edited message
      </label>
      <textarea
        id={`${id}-body`}
        className="input"
        rows={2}
        required
        autoFocus
        value={draft}
        onChange={(e) => setDraft(e.target.value)}
        onKeyDown={(e) => e.key === "Escape" && onDone()}
        aria-invalid={error || over ? true : undefined}
        aria-describedby={[error ? `${id}-error` : null, over ? `${id}-count` : null].filter(Boolean).join(" ") || undefined}
      />
      <CharacterCount id={`${id}-count`} text={draft} max={maxLength} from={Math.floor(maxLength * 0.8)} />
      <div className="message-edit-actions inline-form">
        <button type="submit" className="button button-primary" disabled={saving}>
          {saving ? "Saving…" : "Save"}
        </button>
        <button type="button" className="button button-secondary" onClick={onDone}>
          Cancel
        </button>
      </div>
      {error && (
        <p className="field-error" id={`${id}-error`} role="alert">
          {error}
        </p>
      )}
    </form>
  );
}
