"use client";

import { useSession } from "./session-context";

/** "Yours" on the rooms the visitor owns; nothing until the browser knows who that is. */
export function OwnerBadge({ ownerId }: { ownerId: string }) {
  const { viewer } = useSession();
  if (viewer?.id !== ownerId) return null;
  return (
    <span className="badge badge-owner">
      Yours<span className="visually-hidden">: you own this room</span>
    </span>
  );
}
