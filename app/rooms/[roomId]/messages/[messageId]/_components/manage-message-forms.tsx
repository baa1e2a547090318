"use client";

import { useActionState, useState } from "react";
import { CharacterCount, isOver } from "@/app/_components/character-count";
import { deleteMessage, editMessage } from "../actions";
import { initialManageMessageState } from "../form-state";

/** The author's edit and delete forms on a message's page: plain posts to server actions, so they work without JavaScript. */
export function ManageMessageForms({ roomId, messageId, body, bodyMax }: { roomId: string; messageId: string; body: string; bodyMax: number }) {
  const [edit, editAction, saving] = useActionState(editMessage, initialManageMessageState);
  const [remove, removeAction, deleting] = useActionState(deleteMessage, initialManageMessageState);
  const value = edit.status === "error" ? (edit.value ?? body) : body;
  const [text, setText] = useState(value);
  const over = isOver(text, bodyMax);
  const editError = edit.status === "error" ? edit.message : null;
  return (
    <div className="manage-message-forms">
      <form action={editAction} className="card form-card" aria-labelledby="edit-heading">
        <h2 id="edit-heading" className="card-title">
          Edit
        </h2>
        <input type="hidden" name="roomId" value={roomId} />
        <input type="hidden" name="messageId" value={messageId} />
        <div className="field">
          <label className="field-label" htmlFor="edit-body">
            Message
          </label>
          <textarea
            id="edit-body"
            name="body"
            className="input"
            rows={4}
            required
            defaultValue={value}
            onInput={(e) => setText(e.currentTarget.value)}
            aria-invalid={editError || over ? true : undefined}
            aria-describedby={[editError ? "edit-body-error" : null, over ? "edit-body-count" : null].filter(Boolean).join(" ") || undefined}
          />
          <CharacterCount id="edit-body-count" text={text} max={bodyMax} from={Math.floor(bodyMax * 0.8)} />
          {editError && (
            <p className="field-error" id="edit-body-error" role="alert">
              {editError}
            </p>
          )}
        </div>
        <button type="submit" className="button button-primary" disabled={saving}>
          {saving ? "Saving…" : "Save"}
        </button>
      </form>
      <form action={removeAction} className="card form-card" aria-labelledby="delete-heading">
        <h2 id="delete-heading" className="card-title">
          Delete
        </h2>
        <p className="card-subtitle">Everyone in the room stops seeing it. This cannot be undone.</p>
        <input type="hidden" name="roomId" value={roomId} />
        <input type="hidden" name="messageId" value={messageId} />
        {remove.status === "error" && (
          <p className="form-alert" role="alert">
            {remove.message}
          </p>
        )}
        <button type="submit" className="button button-secondary" disabled={deleting}>
          {deleting ? "Deleting…" : "Delete message"}
        </button>
      </form>
    </div>
  );
}
