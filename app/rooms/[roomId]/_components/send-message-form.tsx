"use client";

import { useActionState, useEffect, useRef } from "react";
import { useSession } from "@/app/_components/session-context";
import { sendMessage } from "../actions";
import { initialSendMessageState } from "../form-state";

/**
 * The composer: a plain `<form action>` bound to a server action, so it works without
 * JavaScript (the browser posts, Next answers with the re-rendered room). With JavaScript,
 * Enter sends and Shift+Enter starts a new line.
 */
export function SendMessageForm({ roomId, maxLength }: { roomId: string; maxLength: number }) {
  const [state, formAction, pending] = useActionState(sendMessage, initialSendMessageState);
  const { setViewer } = useSession();
  const bodyRef = useRef<HTMLTextAreaElement>(null);

  useEffect(() => {
    // The action may have just created the session: "you" marks must use that one.
    if (state.status === "sent") setViewer(state.viewer);
    if (state.status !== "idle") bodyRef.current?.focus();
  }, [state, setViewer]);

  const error = state.status === "error" ? (state.fields.body ?? state.message) : null;
  return (
    <form action={formAction} className="composer" aria-label="Send a message">
      <input type="hidden" name="roomId" value={roomId} />
      <label className="visually-hidden" htmlFor="message-body">
        Message
      </label>
      <textarea
        key={state.status === "sent" ? state.sentAt : "draft"}
        id="message-body"
        name="body"
        ref={bodyRef}
        className="input composer-input"
        rows={2}
        maxLength={maxLength}
        required
        placeholder="Write a message…"
        defaultValue={state.status === "error" ? state.value : ""}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? "message-body-error" : undefined}
        onKeyDown={(event) => {
          if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) {
            event.preventDefault();
            event.currentTarget.form?.requestSubmit();
          }
        }}
      />
      <button type="submit" className="button button-primary composer-send" disabled={pending}>
        {pending ? "Sending…" : "Send"}
      </button>
      <div className="composer-feedback" role="alert">
        {error && (
          <p className="field-error" id="message-body-error">
            {error}
          </p>
        )}
      </div>
    </form>
  );
}
