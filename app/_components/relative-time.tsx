"use client";

import { useSyncExternalStore } from "react";
import { formatAgo, formatFull, formatTime } from "./format";

/** How often "2 min ago" moves on. One timer for every time on the page. */
const TICK_MS = 30_000;

let now = Date.now();
const listeners = new Set<() => void>();
let timer: ReturnType<typeof setInterval> | undefined;

function subscribe(listener: () => void) {
  listeners.add(listener);
  if (!timer) {
    now = Date.now();
    timer = setInterval(() => {
      now = Date.now();
      for (const l of listeners) l();
    }, TICK_MS);
  }
  return () => {
    listeners.delete(listener);
    if (listeners.size === 0) {
      clearInterval(timer);
      timer = undefined;
    }
  };
}

/**
 * A time as "2 min ago", kept current while the page is open. The server's HTML (and so
 * the page with JavaScript off, or a cached page read later) says the time itself
 * ("Nov 21, 8:59 PM", UTC as the tooltip says): a relative time baked into a cached page
 * would go wrong as it aged. The browser switches to the relative form after hydration.
 */
export function RelativeTime({ date, className }: { date: Date; className?: string }) {
  const current = useSyncExternalStore(
    subscribe,
    () => now,
    () => null,
  );
  return (
    <time className={className} dateTime={date.toISOString()} title={formatFull(date)}>
      {current === null ? formatTime(date) : formatAgo(date, Math.max(current, date.getTime()))}
    </time>
  );
}
