import { z } from "zod";

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

export const uuidSchema = z.uuid();
