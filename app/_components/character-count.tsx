"use client";

import { useEffect, useState, useSyncExternalStore } from "react";
import { textLength } from "@/lib/text-length";

const noSubscribe = () => () => {};
/** False in the server's HTML and during hydration, true once the browser runs the page. */
export const useHydrated = () => useSyncExternalStore(noSubscribe, () => true, () => false);

/** How long typing must pause before a screen reader hears the count (every keystroke would drown the field). */
const ANNOUNCE_AFTER_MS = 1_000;

/**
 * "23/64" under a field as the visitor types, in the danger colour with "7 too many" past
 * the limit. It never cuts what was typed or pasted: the server refuses an over-long text
 * with a clear message, and this only warns first. Counts what the server counts
 * (lib/text-length.ts). Absent without JavaScript, where the field's hint states the limit.
 * `from`: shown only once the text is this long (a chat box need not count a "hi").
 */
export function CharacterCount({ id, text, max, from = 0 }: { id: string; text: string; max: number; from?: number }) {
  const hydrated = useHydrated();
  const count = textLength(text);
  const over = count - max;
  const visible = hydrated && count >= from;
  const [spoken, setSpoken] = useState("");
  useEffect(() => {
    if (!visible) return;
    const timer = setTimeout(
      () => setSpoken(over > 0 ? `${over} characters too many` : `${max - count} characters left`),
      ANNOUNCE_AFTER_MS,
    );
    return () => clearTimeout(timer);
  }, [visible, over, max, count]);
  if (!visible) return null;
  return (
    <p id={id} className={over > 0 ? "char-count char-count-over" : "char-count"}>
      <span aria-hidden="true">
        {count}/{max}
        {over > 0 && ` · ${over} too many`}
      </span>
      <span className="visually-hidden" aria-live="polite">
        {spoken}
      </span>
    </p>
  );
}

/** Whether a text is over its limit, for the field's `aria-invalid` (false until the browser runs). */
export const isOver = (text: string, max: number) => textLength(text) > max;
