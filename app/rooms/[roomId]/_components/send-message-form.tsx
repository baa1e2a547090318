"use client";

import { useActionState, useEffect, useRef, useState } from "react";
import { CharacterCount, isOver } from "@/app/_components/character-count";
import { useSession } from "@/app/_components/session-context";
import { sendMessage } from "../actions";
import { initialSendMessageState } from "../form-state";

/**
 * The composer: a plain `<form action>` bound to a server action, so it works without
 * JavaScript (the browser posts, Next answers with the re-rendered room). With JavaScript,
 * Enter sends and Shift+Enter starts a new line. No `maxlength` (it would cut a long paste
 * without a word): a count appears near the limit, and the server refuses a longer message
 * with a clear error, keeping what was typed.
 */
export function SendMessageForm({ roomId, maxLength }: { roomId: string; maxLength: number }) {
  const [state, formAction, pending] = useActionState(sendMessage, initialSendMessageState);
  const { setViewer } = useSession();
  const bodyRef = useRef<HTMLTextAreaElement>(null);
  const draftKey = state.status === "sent" ? state.sentAt : "draft";
  const initialText = state.status === "error" ? state.value : "";
  // What the box holds, for the counter; a send (a new, empty box) or an error's echo resets it.
  const [text, setText] = useState(initialText);
  const [textFor, setTextFor] = useState<unknown>(state);
  if (textFor !== state) {
    setTextFor(state);
    setText(initialText);
  }
  const over = isOver(text, maxLength);

  useEffect(() => {
    // The action may have just created the session: "you" marks must use that one.
    if (state.status === "sent") setViewer(state.viewer);
    if (state.status !== "idle") bodyRef.current?.focus();
  }, [state, setViewer]);

  const error = state.status === "error" ? (state.fields.body ?? state.message) : null;
  const describedBy = [error ? "message-body-error" : null, over ? "message-body-count" : null].filter(Boolean).join(" ") || undefined;
  return (
    <form action={formAction} className="composer" aria-label="Send a message">
      <input type="hidden" name="roomId" value={roomId} />
      <label className="visually-hidden" htmlFor="message-body">
        Message
      </label>
      <textarea
        key={draftKey}
        id="message-body"
        name="body"
        ref={bodyRef}
        className="input composer-input"
        rows={2}
        required
        placeholder="Write a message…"
        defaultValue={state.status === "error" ? state.value : ""}
        aria-invalid={error || over ? true : undefined}
        aria-describedby={describedBy}
        onInput={(event) => setText(event.currentTarget.value)}
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
      <div className="composer-count">
        <CharacterCount id="message-body-count" text={text} max={maxLength} from={Math.floor(maxLength * 0.8)} />
      </div>
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
