import type { ActiveRoom } from "@/lib/rooms/activity-order";
import type { Session } from "@/lib/session/session";

/**
 * What the home page's server actions hand back to their forms (through `useActionState`).
 * Shared by app/actions.ts ("use server", which may only export async functions) and the
 * client forms. With JavaScript off, Next renders the page with this state after the POST,
 * so everything a form shows after a submit (errors, typed values, success) lives here.
 */

/** The visitor as the browser may see it: the session's public part. */
export type Viewer = Pick<Session, "id" | "name">;

export interface RoomFormValues {
  name: string;
  description: string;
}

export type CreateRoomState =
  | { status: "idle"; values: RoomFormValues }
  | { status: "error"; message: string; fields: Partial<Record<keyof RoomFormValues | "_", string>>; values: RoomFormValues }
  | { status: "created"; room: { id: string; name: string }; viewer: Viewer; values: RoomFormValues };

export const initialCreateRoomState: CreateRoomState = { status: "idle", values: { name: "", description: "" } };

export type DisplayNameState =
  | { status: "idle" }
  | { status: "error"; message: string; fields: Partial<Record<"name" | "_", string>>; value: string }
  | { status: "saved"; viewer: Viewer };

export const initialDisplayNameState: DisplayNameState = { status: "idle" };

/** Home page data: the shared, cacheable part only (nothing per visitor). */
export interface RoomsData {
  /** Most recent activity first. */
  rooms: ActiveRoom[];
  count: number;
  /** True when Postgres was unreachable and a last-known-good copy was served. */
  stale: boolean;
}
