"use client";

import { useCallback, useState, type Ref } from "react";
import { CharacterCount, isOver } from "./character-count";

interface TextFieldProps {
  id: string;
  name: string;
  label: string;
  defaultValue: string;
  /** Always shown under the label; part of the field's accessible description. */
  hint?: string;
  error?: string;
  /** The longest text the server accepts: counted as the visitor types, never enforced by cutting. */
  max: number;
  required?: boolean;
  multiline?: boolean;
  autoComplete?: string;
  ref?: Ref<HTMLInputElement & HTMLTextAreaElement>;
}

/**
 * A labelled input with its hint, error and character count wired up for assistive
 * technology (`aria-invalid`, `aria-describedby`). No `maxlength`: a browser cuts pasted
 * text to it without a word, so a 71-character name would be saved as its first 64. The
 * counter warns; the server action refuses and says why.
 */
export function TextField({ id, name, label, defaultValue, hint, error, max, required, multiline, autoComplete, ref }: TextFieldProps) {
  const [text, setText] = useState(defaultValue);
  // A new default (the action's echo after a submit) replaces what the counter counted.
  const [from, setFrom] = useState(defaultValue);
  if (from !== defaultValue) {
    setFrom(defaultValue);
    setText(defaultValue);
  }
  // The form resets itself after a successful action (React): count what it reset to.
  const attach = useCallback(
    (el: (HTMLInputElement & HTMLTextAreaElement) | null) => {
      if (typeof ref === "function") ref(el);
      else if (ref) ref.current = el;
      const form = el?.form;
      if (!el || !form) return;
      const onReset = () => setTimeout(() => setText(el.value));
      form.addEventListener("reset", onReset);
      return () => {
        form.removeEventListener("reset", onReset);
        if (typeof ref === "function") ref(null);
        else if (ref) ref.current = null;
      };
    },
    [ref],
  );
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const countId = `${id}-count`;
  const over = isOver(text, max);
  const describedBy = [hint ? hintId : null, error ? errorId : null, over ? countId : null].filter(Boolean).join(" ") || undefined;
  const common = {
    id,
    name,
    defaultValue,
    required,
    autoComplete,
    "aria-invalid": error || over ? true : undefined,
    "aria-describedby": describedBy,
    className: "input",
    ref: attach,
    onInput: (event: { currentTarget: { value: string } }) => setText(event.currentTarget.value),
  } as const;
  return (
    <div className="field">
      <label className="field-label" htmlFor={id}>
        {label}
        {!required && <span className="field-optional"> (optional)</span>}
      </label>
      {hint && (
        <p className="field-hint" id={hintId}>
          {hint}
        </p>
      )}
      {multiline ? <textarea rows={2} {...common} /> : <input type="text" {...common} />}
      <CharacterCount id={countId} text={text} max={max} />
      {error && (
        <p className="field-error" id={errorId}>
          {error}
        </p>
      )}
    </div>
  );
}
