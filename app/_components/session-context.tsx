"use client";

import { createContext, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import type { Viewer } from "../form-state";

/**
 * Who is looking, filled in by the browser from GET /api/session after the first paint.
 * The server render never knows (it reads no cookies, so the page can be cached), which
 * is why everything per visitor starts empty and appears once this resolves.
 */

interface SessionContextValue {
  viewer: Viewer | null;
  /** For actions that change or create the session, so the page reflects it at once. */
  setViewer: (viewer: Viewer) => void;
}

const SessionContext = createContext<SessionContextValue>({ viewer: null, setViewer: () => {} });

function isViewer(value: unknown): value is Viewer {
  const v = value as Partial<Viewer> | null;
  return typeof v?.id === "string" && typeof v.name === "string";
}

export function SessionProvider({ children }: { children: ReactNode }) {
  const [viewer, setViewer] = useState<Viewer | null>(null);

  useEffect(() => {
    const controller = new AbortController();
    fetch("/api/session", { cache: "no-store", signal: controller.signal })
      .then((response) => (response.ok ? response.json() : null))
      // An action may have set the viewer meanwhile; it is newer than this response.
      .then((body: unknown) => isViewer(body) && setViewer((current) => current ?? { id: body.id, name: body.name }))
      .catch(() => {
        // Offline or aborted: the page works without the per-visitor decorations.
      });
    return () => controller.abort();
  }, []);

  const value = useMemo(() => ({ viewer, setViewer }), [viewer]);
  return <SessionContext value={value}>{children}</SessionContext>;
}

export const useSession = () => useContext(SessionContext);
