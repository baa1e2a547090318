import "server-only";
import { z } from "zod";
import { AppError } from "../errors";
import { logger } from "../observability/logger";
import { fieldErrors } from "../validation";

export type ActionResult<T> =
  | { ok: true; data: T }
  | { ok: false; error: string; code: string; fields?: Record<string, string>; retryAfterSeconds?: number };

/**
 * The one wrapper for server actions (house style rule 6): input parsed with zod,
 * `{ ok: false, error, fields }` on bad input or an expected failure, nothing echoed
 * back on an unexpected one.
 */
export function action<S extends z.ZodType, T>(schema: S, run: (input: z.output<S>) => Promise<T>) {
  return async (input: unknown): Promise<ActionResult<T>> => {
    const parsed = schema.safeParse(input);
    if (!parsed.success) {
      return { ok: false, code: "invalid_input", error: "Some fields are invalid", fields: fieldErrors(parsed.error) };
    }
    try {
      return { ok: true, data: await run(parsed.data) };
    } catch (error) {
      if (error instanceof AppError) {
        return { ok: false, code: error.code, error: error.message, fields: error.fields, retryAfterSeconds: error.retryAfterSeconds };
      }
      logger().error({ err: error }, "server action failed");
      return { ok: false, code: "unavailable", error: "Something went wrong on our side. Please try again." };
    }
  };
}

/**
 * FormData to a plain object of its string fields, for zod. A server action is a public
 * endpoint: anyone can call it with any arguments (a string, null, an array), so anything
 * but FormData is an empty form, which the action's schema then refuses like any bad input.
 */
export function formObject(form: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!(form instanceof FormData)) return out;
  for (const [k, v] of form) if (typeof v === "string" && !k.startsWith("$")) out[k] = v;
  return out;
}
