"use client";

import { useEffect } from "react";
import { useSession } from "@/app/_components/session-context";

/**
 * Marks the room read for this visitor (POST /api/rooms/by-id/{id}/read): when the page is
 * viewed, and again when the visitor leaves it, so messages read here do not come back as
 * unread on the room list. Waits for the session (the page's own GET /api/session sets the
 * cookie first). Renders nothing; best effort.
 */
export function MarkRead({ roomId }: { roomId: string }) {
  const { viewer } = useSession();
  const viewerId = viewer?.id;
  useEffect(() => {
    if (!viewerId) return;
    const url = `/api/rooms/by-id/${roomId}/read`;
    const mark = () => void fetch(url, { method: "POST", keepalive: true, cache: "no-store" }).catch(() => {});
    mark();
    const onHide = () => {
      if (document.visibilityState === "hidden") mark();
    };
    window.addEventListener("pagehide", mark);
    document.addEventListener("visibilitychange", onHide);
    return () => {
      window.removeEventListener("pagehide", mark);
      document.removeEventListener("visibilitychange", onHide);
    };
  }, [roomId, viewerId]);
  return null;
}
