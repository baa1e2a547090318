"use client";

import { useActionState, useEffect, useRef } from "react";
import { changeDisplayName } from "../actions";
import { initialDisplayNameState } from "../form-state";
import { Avatar } from "./avatar";
import { useSession } from "./session-context";
import { DISPLAY_NAME_MAX } from "@/lib/session/limits";

// Mirrors displayNameSchema (lib/session/session.ts); the server action enforces it.

/**
 * "You are <name>" and a form to change it, in a `<details>` so it opens and submits
 * without JavaScript too. With JavaScript the name comes from /api/session; without it,
 * the name is known only right after the visitor saved one (from the action's state).
 */
export function SessionBadge() {
  const [state, formAction, pending] = useActionState(changeDisplayName, initialDisplayNameState);
  const { viewer: fetched, setViewer } = useSession();
  const details = useRef<HTMLDetailsElement>(null);

  useEffect(() => {
    if (state.status !== "saved") return;
    setViewer(state.viewer);
    // Saved: the summary now shows the new name, which is the confirmation.
    if (details.current) details.current.open = false;
  }, [state, setViewer]);

  const viewer = fetched ?? (state.status === "saved" ? state.viewer : null);
  const error = state.status === "error" ? (state.fields.name ?? state.message) : undefined;

  return (
    // Open while there is an error to fix; closes by itself once a save succeeds.
    <details ref={details} className="viewer" open={state.status === "error" ? true : undefined}>
      <summary className="viewer-summary">
        {viewer ? (
          <>
            <Avatar name={viewer.name} />
            <span className="viewer-text">
              You are{" "}
              <strong data-testid="viewer-name" dir="auto">
                {viewer.name}
              </strong>
            </span>
          </>
        ) : (
          <span className="viewer-text">Your name</span>
        )}
        <svg className="chevron" viewBox="0 0 16 16" width="16" height="16" aria-hidden="true">
          <path d="M4 6l4 4 4-4" fill="none" stroke="currentColor" strokeWidth="1.75" strokeLinecap="round" strokeLinejoin="round" />
        </svg>
      </summary>
      <form action={formAction} className="viewer-popover">
        {viewer && (
          // Phones show only the avatar in the header; the name is repeated here for them.
          <p className="viewer-popover-title" aria-hidden="true">
            You are <strong dir="auto">{viewer.name}</strong>
          </p>
        )}
        <label className="field-label" htmlFor="display-name">
          Display name
        </label>
        <p className="field-hint" id="display-name-hint">
          Shown next to your rooms and messages.
        </p>
        <div className="inline-form">
          <input
            // Remount when the known name changes, so the field shows it.
            key={viewer?.name ?? ""}
            id="display-name"
            name="name"
            className="input"
            defaultValue={state.status === "error" ? state.value : (viewer?.name ?? "")}
            maxLength={DISPLAY_NAME_MAX}
            required
            autoComplete="nickname"
            aria-invalid={error ? true : undefined}
            aria-describedby={error ? "display-name-hint display-name-error" : "display-name-hint"}
          />
          <button type="submit" className="button button-secondary" disabled={pending}>
            {pending ? "Saving…" : "Save"}
          </button>
        </div>
        {error && (
          <p className="field-error" id="display-name-error">
            {error}
          </p>
        )}
      </form>
    </details>
  );
}
