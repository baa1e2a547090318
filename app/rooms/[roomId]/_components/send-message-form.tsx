"use client";

import { startTransition, useActionState, useEffect, useRef, useState, type FormEvent } from "react";
import { CharacterCount, isOver } from "@/app/_components/character-count";
import { useSession } from "@/app/_components/session-context";
import { sendMessage } from "../actions";
import { initialSendMessageState } from "../form-state";

/**
 * The composer: a plain `<form action>` bound to a server action, so it works without
 * JavaScript (the browser posts, Next answers with the re-rendered room). With JavaScript,
 * Enter sends and Shift+Enter starts a new line, and the box empties as soon as a message
 * is sent, so the next one can be typed (and sent) while the first is on its way: sends go
 * in order, and what is typed meanwhile is never wiped by an earlier send's answer. A send
 * that fails puts its text back (when the box is empty) with the error. No `maxlength` (it
 * would cut a long paste without a word): a count appears near the limit, and the server
 * refuses a longer message with a clear error, keeping what was typed.
 */
export function SendMessageForm({ roomId, maxLength }: { roomId: string; maxLength: number }) {
  const [state, formAction, pending] = useActionState(sendMessage, initialSendMessageState);
  const { setViewer } = useSession();
  const bodyRef = useRef<HTMLTextAreaElement>(null);
  // Without JavaScript the page comes back from the POST: a refused message is echoed into the box.
  const [text, setText] = useState(state.status === "error" ? state.value : "");
  // Texts sent and not answered yet, oldest first (the action runs them in order).
  const inFlight = useRef<string[]>([]);
  const over = isOver(text, maxLength);

  useEffect(() => {
    if (state.status === "idle") return;
    const sentText = inFlight.current.shift();
    // The action may have just created the session: "you" marks must use that one.
    if (state.status === "sent") setViewer(state.viewer);
    else setText((current) => (current === "" ? (sentText ?? state.value) : current));
    bodyRef.current?.focus();
  }, [state, setViewer]);

  const send = (event: FormEvent<HTMLFormElement>) => {
    // With JavaScript the send runs here, not as the form's own action, which React would
    // follow with a reset of the form: that would wipe what was typed while it was on its way.
    event.preventDefault();
    const data = new FormData(event.currentTarget);
    inFlight.current.push(text);
    setText("");
    startTransition(() => formAction(data));
  };

  const error = state.status === "error" ? (state.fields.body ?? state.message) : null;
  const describedBy = [error ? "message-body-error" : null, over ? "message-body-count" : null].filter(Boolean).join(" ") || undefined;
  return (
    <form action={formAction} onSubmit={send} className="composer" aria-label="Send a message">
      <input type="hidden" name="roomId" value={roomId} />
      <label className="visually-hidden" htmlFor="message-body">
        Message
      </label>
      <textarea
        id="message-body"
        name="body"
        ref={bodyRef}
        className="input composer-input"
        rows={2}
        required
        placeholder="Write a message…"
        value={text}
        aria-invalid={error || over ? true : undefined}
        aria-describedby={describedBy}
        onChange={(event) => setText(event.currentTarget.value)}
        onKeyDown={(event) => {
          if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) {
            event.preventDefault();
            event.currentTarget.form?.requestSubmit();
          }
        }}
      />
      <button type="submit" className="button button-primary composer-send">
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
