import { z } from "zod";
import { AppError } from "./errors";

/** Code points, as Postgres char_length counts them (an emoji is one, not two); see also lib/text-length.ts. */
const length = (s: string) => [...s].length;

/**
 * A single line of user text: NFC-normalised, trimmed, between min and max code points,
 * no control characters. Postgres checks the same rules (drizzle/ constraints).
 */
export function lineText(label: string, min: number, max: number) {
  return z
    .string({ error: `${label} must be text` })
    .transform((s) => s.normalize("NFC").trim())
    .superRefine((s, ctx) => {
      if (length(s) < min) ctx.addIssue({ code: "custom", message: min === 1 ? `${label} is required` : `${label} must be at least ${min} characters` });
      else if (length(s) > max) ctx.addIssue({ code: "custom", message: `${label} must be at most ${max} characters` });
      else if (/\p{Cc}/u.test(s)) ctx.addIssue({ code: "custom", message: `${label} must not contain control characters` });
    });
}

/**
 * Characters that change how the text around them is ordered or that show nothing: bidi
 * embeddings, overrides and isolates (U+202A-E, U+2066-9), direction marks (U+200E/F,
 * U+061C), zero-width space, word joiner and invisible operators (U+200B, U+2060-4), the
 * byte-order mark (U+FEFF), soft hyphen, Mongolian vowel separator, deprecated format
 * controls (U+206A-F). ZWJ and ZWNJ (U+200D/C) are not here: emoji sequences and Persian
 * and Indic spelling need them, and they reorder nothing. Postgres checks the same set
 * (rooms_name_visible); keep the two in step.
 */
export const INVISIBLE_OR_BIDI = String.raw`\u00AD\u061C\u180E\u200B\u200E\u200F\u202A-\u202E\u2060-\u2064\u2066-\u206F\uFEFF`;
const invisibleOrBidi = new RegExp(`[${INVISIBLE_OR_BIDI}]`, "u");

/**
 * A name (a room's, a visitor's): {@link lineText}, and none of the characters above. Names
 * identify (rooms are unique ignoring case) and sit inline among other text, so an
 * invisible character would make a second "General" that looks like the first, and an
 * override would turn the text after it around. Messages and descriptions may carry them
 * (mixed-direction writing uses the marks), and are rendered isolated instead (`dir="auto"`,
 * `<bdi>`), as names are too, for values stored before this rule.
 */
export function nameText(label: string, min: number, max: number) {
  return lineText(label, min, max).superRefine((s, ctx) => {
    if (invisibleOrBidi.test(s)) ctx.addIssue({ code: "custom", message: `${label} must not contain invisible or text-direction characters` });
  });
}

/**
 * Multi-line user text (a chat message): like {@link lineText}, but newlines are kept.
 * CRLF and lone CR become LF first, so the length counted is the length stored. Every
 * other control character is refused; Postgres checks the same (messages_body_valid).
 */
export function multilineText(label: string, min: number, max: number) {
  return z
    .string({ error: `${label} must be text` })
    .transform((s) => s.normalize("NFC").replace(/\r\n?/g, "\n").trim())
    .superRefine((s, ctx) => {
      if (length(s) < min) ctx.addIssue({ code: "custom", message: min === 1 ? `${label} is required` : `${label} must be at least ${min} characters` });
      else if (length(s) > max) ctx.addIssue({ code: "custom", message: `${label} must be at most ${max} characters` });
      else if (/[^\P{Cc}\n]/u.test(s)) ctx.addIssue({ code: "custom", message: `${label} must not contain control characters` });
    });
}

/** Field name → first message, for `{ error: { fields } }` and inline form errors. */
export function fieldErrors(error: z.ZodError): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const issue of error.issues) {
    const key = issue.path.length ? issue.path.join(".") : "_";
    fields[key] ??= issue.message;
  }
  return fields;
}

/**
 * A UUID as Postgres prints it: lower-case and hyphenated. Postgres reads `ABC...` and
 * `abc...` as the same uuid, but a cache key, a topic or a URL built from each is another
 * key, topic or URL: another spelling of a room would be a cache entry that no write ever
 * invalidates. So ids are canonical before they go anywhere, and other spellings are
 * refused (APIs: 400; pages redirect to the canonical URL, in proxy.ts).
 */
const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export const isCanonicalId = (id: string): boolean => CANONICAL_UUID.test(id);

/** Room and message ids at every boundary: a valid UUID, in its one canonical spelling. */
export const uuidSchema = z.uuid().refine(isCanonicalId, "must be a lower-case UUID");

/**
 * The services' own check, before an id reaches a key or a query: a caller that skipped
 * the boundary's schema gets a 400, never a key of its own.
 */
export function canonicalIdError(name: string, id: string): AppError | undefined {
  return isCanonicalId(id) ? undefined : new AppError(400, "invalid_param", `Malformed ${name}`, { [name]: "must be a lower-case UUID" });
}

export function assertCanonicalId(name: string, id: string): void {
  const error = canonicalIdError(name, id);
  if (error) throw error;
}
