/**
 * Formatting for server-rendered markup. Fixed locale and time zone: the output depends
 * on the data alone, never on the server's locale or the time of the render, so a cached
 * page and a fresh one agree (and a client re-render would too).
 */

const dayFormat = new Intl.DateTimeFormat("en-US", { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" });
const fullFormat = new Intl.DateTimeFormat("en-US", { dateStyle: "long", timeStyle: "short", timeZone: "UTC" });
const numberFormat = new Intl.NumberFormat("en-US");

/** "Nov 21, 2026" */
export const formatDay = (date: Date) => dayFormat.format(date);

/** "November 21, 2026 at 8:59 PM UTC", for a tooltip. */
export const formatFull = (date: Date) => `${fullFormat.format(date)} UTC`;

/** "1 room", "10,000 rooms" */
export const formatCount = (count: number, noun: string) => `${numberFormat.format(count)} ${noun}${count === 1 ? "" : "s"}`;

/** Up to two initials for an avatar: "Brisk Otter 42" → "BO". */
export function initials(name: string): string {
  const words = name.split(/\s+/).filter((w) => /^\p{L}/u.test(w));
  return (words.slice(0, 2).map((w) => [...w][0]).join("") || [...name][0] || "?").toUpperCase();
}

/** A stable hue per name, so one person's avatar keeps its colour everywhere. */
export function hueOf(name: string): number {
  let h = 0;
  for (const ch of name) h = (h * 31 + (ch.codePointAt(0) ?? 0)) >>> 0;
  return h % 360;
}

const timeFormat = new Intl.DateTimeFormat("en-US", { month: "short", day: "numeric", hour: "numeric", minute: "2-digit", timeZone: "UTC" });

/** "Nov 21, 8:59 PM", a message's time (UTC, as everywhere; the tooltip says so). */
export const formatTime = (date: Date) => timeFormat.format(date);

/**
 * "just now", "2 min ago", "3 h ago", "yesterday", "4 days ago", then the day: how long ago,
 * relative to `now`. Only the browser uses it (a cached page's render time is not the
 * reader's now); the server writes the time itself (formatTime).
 */
export function formatAgo(date: Date, now: number): string {
  const seconds = Math.max(0, Math.round((now - date.getTime()) / 1_000));
  if (seconds < 45) return "just now";
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 24) return `${hours} h ago`;
  const days = Math.round(hours / 24);
  if (days === 1) return "yesterday";
  if (days < 7) return `${days} days ago`;
  return formatDay(date);
}

const clockFormat = new Intl.DateTimeFormat("en-US", { hour: "numeric", minute: "2-digit", hour12: true, timeZone: "UTC" });

/** "8:59", the clock alone (UTC), for the narrow time beside a grouped message; the tooltip has the rest. */
export const formatClock = (date: Date) =>
  clockFormat
    .formatToParts(date)
    .filter((p) => p.type === "hour" || p.type === "minute" || (p.type === "literal" && p.value === ":"))
    .map((p) => p.value)
    .join("");
