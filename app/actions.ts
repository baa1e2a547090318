"use server";

import { refresh } from "next/cache";
import { z } from "zod";
import { action, formObject } from "@/lib/http/action";
import { clientIp } from "@/lib/http/client-ip";
import { createRoomSchema } from "@/lib/rooms/validation";
import { runtime } from "@/lib/runtime";
import { ensureSession, writeSession } from "@/lib/session/cookie";
import { displayNameSchema } from "@/lib/session/session";
import type { CreateRoomState, DisplayNameState, RoomsData } from "./form-state";

/**
 * The room list for the first paint: cache-first through the room cache service, so a
 * warm render never touches Postgres. Reads no cookies or headers, so the page that calls
 * it stays cacheable once the page-level cache lands.
 */
export async function getInitialRoomsData(): Promise<RoomsData> {
  const { rooms, activity } = runtime();
  const all = await activity.activeRooms(rooms);
  return {
    // Most recent activity first: the order (and only it) comes from `{rooms:all}:activity`.
    rooms: all.data,
    // The list's own length, not `rooms:count`: a second key may be at another version, and
    // the page's numbers (header, list, "more rooms", stats) must agree with the list shown.
    count: all.data.length,
    stale: all.source === "stale",
  };
}

/** Echoed back so a failed submit keeps what was typed; capped so a huge post is not mirrored. */
const echo = (value: string | undefined) => (value ?? "").slice(0, 1_000);

const createRoomCommand = action(createRoomSchema, async (input) => {
  const viewer = await ensureSession();
  const room = await runtime().roomWrites.create(viewer, input, await clientIp());
  // The write service already invalidated rooms:all and rooms:count; re-render this page
  // in the action's response so the new room shows without a second round trip.
  refresh();
  return { room: { id: room.id, name: room.name }, viewer: { id: viewer.id, name: viewer.name } };
});

export async function createRoom(_previous: CreateRoomState, form: unknown): Promise<CreateRoomState> {
  const input = formObject(form);
  const result = await createRoomCommand(input);
  if (result.ok) return { status: "created", ...result.data, values: { name: "", description: "" } };
  return {
    status: "error",
    message: result.error,
    fields: result.fields ?? {},
    values: { name: echo(input.name), description: echo(input.description) },
  };
}

const displayNameInput = z.strictObject({ name: displayNameSchema });

const changeDisplayNameCommand = action(displayNameInput, async ({ name }) => {
  const current = await ensureSession();
  // Setting the cookie re-renders the page in the response; the id (room ownership) stays.
  const { id } = await writeSession({ id: current.id, name });
  return { id, name };
});

export async function changeDisplayName(_previous: DisplayNameState, form: unknown): Promise<DisplayNameState> {
  const input = formObject(form);
  const result = await changeDisplayNameCommand(input);
  if (result.ok) return { status: "saved", viewer: result.data };
  return { status: "error", message: result.error, fields: result.fields ?? {}, value: echo(input.name) };
}
