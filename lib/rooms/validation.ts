import { z } from "zod";
import { ROOM_DESCRIPTION_MAX, ROOM_NAME_MAX } from "../db/schema";
import { lineText, nameText } from "../validation";

export const roomNameSchema = nameText("Name", 1, ROOM_NAME_MAX);
export const roomDescriptionSchema = lineText("Description", 0, ROOM_DESCRIPTION_MAX);

export const createRoomSchema = z.strictObject({
  name: roomNameSchema,
  description: roomDescriptionSchema.optional(),
});
export type CreateRoomInput = z.input<typeof createRoomSchema>;

export const updateRoomSchema = z
  .strictObject({ name: roomNameSchema.optional(), description: roomDescriptionSchema.optional() })
  .refine((p) => p.name !== undefined || p.description !== undefined, {
    message: "Give a name or a description to change",
  });
export type UpdateRoomInput = z.input<typeof updateRoomSchema>;

const isoDate = z.iso.datetime({ offset: true }).transform((s) => new Date(s));

/** A room as cached: JSON dates turned back into Dates. */
export const cachedRoomSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  description: z.string(),
  ownerId: z.string(),
  ownerName: z.string(),
  version: z.number().int().nonnegative(),
  createdAt: isoDate,
  updatedAt: isoDate,
});
/** Module-level, not built per read: zod compiles a schema on first use, per instance. */
export const cachedRoomOrNullSchema = cachedRoomSchema.nullable();
export const cachedRoomListSchema = z.array(cachedRoomSchema);
export const cachedCountSchema = z.number().int().nonnegative();
