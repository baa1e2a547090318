import { z } from "zod";
import { MESSAGE_BODY_MAX } from "../db/schema";
import { multilineText } from "../validation";

export const messageBodySchema = multilineText("Message", 1, MESSAGE_BODY_MAX);

/** `POST .../messages` and the send form: `{ "body" }`; the author comes from the session. */
export const sendMessageSchema = z.strictObject({ body: messageBodySchema });
export type SendMessageInput = z.input<typeof sendMessageSchema>;

/** `PATCH .../messages/{messageId}`: `{ "body" }`, the same rules as a send. */
export const editMessageSchema = sendMessageSchema;

/**
 * A `seq`, as the API and the page's `?before=` carry it: canonical decimal (no sign, no
 * leading zero) and a safe integer, so each cursor has exactly one spelling.
 */
export const cursorSchema = z
  .string()
  .regex(/^[1-9][0-9]{0,15}$/, "must be a message cursor")
  .refine((s) => Number.isSafeInteger(Number(s)), "must be a message cursor")
  .transform(Number);

/** `GET .../messages?before=&limit=` */
export const messagePageQuerySchema = z.object({
  before: cursorSchema.optional(),
  limit: z.coerce.number({ error: "must be a number" }).int().min(1).max(100).default(50),
});

const isoDate = z.iso.datetime({ offset: true }).transform((s) => new Date(s));

/** A message as cached: JSON dates turned back into Dates. */
export const cachedMessageSchema = z.object({
  id: z.uuid(),
  roomId: z.uuid(),
  seq: z.number().int().positive(),
  authorId: z.string(),
  authorName: z.string(),
  body: z.string(),
  createdAt: isoDate,
  editedAt: isoDate.nullable(),
});

/** `messages:{roomId}`: the newest page (null would be an unknown room, which is never cached). */
export const cachedMessagePageSchema = z
  .object({ messages: z.array(cachedMessageSchema), nextCursor: z.string().nullable() })
  .nullable();
