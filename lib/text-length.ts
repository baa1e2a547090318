/**
 * The length of user text as the server counts it: NFC, trimmed, in code points (as
 * Postgres's char_length; an emoji is one). Its own module, free of zod, so a form's
 * character counter in the browser counts exactly what the server will.
 */
export function textLength(text: string): number {
  return [...text.normalize("NFC").replace(/\r\n?/g, "\n").trim()].length;
}
