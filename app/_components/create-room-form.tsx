"use client";

import { useActionState, useEffect, useRef } from "react";
import { createRoom } from "../actions";
import { initialCreateRoomState } from "../form-state";
import { useSession } from "./session-context";
import { TextField } from "./text-field";

/**
 * The create-room form. A plain `<form action>` bound to a server action: without
 * JavaScript the browser posts it and Next answers with the page rendered from the
 * action's state (errors, typed values, success); with JavaScript React submits it and
 * the action's response carries the re-rendered room list.
 */
/** Limits come from the server (the schema's constants), so the client bundle stays free of drizzle. */
export function CreateRoomForm({ nameMax, descriptionMax }: { nameMax: number; descriptionMax: number }) {
  const [state, formAction, pending] = useActionState(createRoom, initialCreateRoomState);
  const { setViewer } = useSession();
  const nameRef = useRef<HTMLInputElement & HTMLTextAreaElement>(null);
  const descriptionRef = useRef<HTMLInputElement & HTMLTextAreaElement>(null);

  useEffect(() => {
    // The action may have just created the session: own-room marks must use that one.
    if (state.status === "created") setViewer(state.viewer);
    // Send keyboard and screen-reader users to the first field that needs fixing.
    if (state.status === "error") (state.fields.name ? nameRef : state.fields.description ? descriptionRef : null)?.current?.focus();
  }, [state, setViewer]);

  const fields = state.status === "error" ? state.fields : {};
  const generalError = state.status === "error" && !fields.name && !fields.description ? state.message : null;

  return (
    <form action={formAction} id="create-room" className="card form-card" aria-labelledby="create-room-heading">
      <h2 id="create-room-heading" className="card-title">
        Start a room
      </h2>
      <p className="card-subtitle">Anyone can join. You can rename or close it later.</p>

      <TextField
        id="room-name"
        name="name"
        label="Name"
        hint={`Up to ${nameMax} characters, unique.`}
        defaultValue={state.values.name}
        error={fields.name}
        max={nameMax}
        required
        autoComplete="off"
        ref={nameRef}
      />
      <TextField
        id="room-description"
        name="description"
        label="Description"
        hint={`What is it about? Up to ${descriptionMax} characters.`}
        defaultValue={state.values.description}
        error={fields.description}
        max={descriptionMax}
        multiline
        autoComplete="off"
        ref={descriptionRef}
      />

      {generalError && (
        <p className="form-alert" role="alert">
          {generalError}
        </p>
      )}
      <button type="submit" className="button button-primary" disabled={pending}>
        {pending ? "Creating…" : "Create room"}
      </button>
      {/* Always in the DOM so screen readers announce the message when it appears. */}
      <div role="status" className="form-status">
        {state.status === "created" && (
          <p className="form-success">
            Room{" "}
            <a href={`/rooms/${state.room.id}`} dir="auto">
              {state.room.name}
            </a>{" "}
            created.
          </p>
        )}
      </div>
    </form>
  );
}
