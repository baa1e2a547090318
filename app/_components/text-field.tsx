import type { Ref } from "react";

interface TextFieldProps {
  id: string;
  name: string;
  label: string;
  defaultValue: string;
  /** Always shown under the label; part of the field's accessible description. */
  hint?: string;
  error?: string;
  maxLength: number;
  required?: boolean;
  multiline?: boolean;
  autoComplete?: string;
  ref?: Ref<HTMLInputElement & HTMLTextAreaElement>;
}

/**
 * A labelled input with its hint and error wired up for assistive technology
 * (`aria-invalid`, `aria-describedby`). `maxLength`/`required` are hints for the browser;
 * the server action validates again and is the one that decides.
 */
export function TextField({ id, name, label, defaultValue, hint, error, maxLength, required, multiline, autoComplete, ref }: TextFieldProps) {
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const describedBy = [hint ? hintId : null, error ? errorId : null].filter(Boolean).join(" ") || undefined;
  const common = {
    id,
    name,
    defaultValue,
    maxLength,
    required,
    autoComplete,
    "aria-invalid": error ? true : undefined,
    "aria-describedby": describedBy,
    className: "input",
    ref,
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
      {error && (
        <p className="field-error" id={errorId}>
          {error}
        </p>
      )}
    </div>
  );
}
