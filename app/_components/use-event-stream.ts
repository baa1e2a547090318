"use client";

import { useEffect, useRef, useState } from "react";

export type StreamStatus = "live" | "reconnecting";

/** Options of {@link useEventStream}. */
export interface EventStreamHandlers {
  /** Event types to listen for (the `event:` field); `ready` is the server's own and always heard. */
  types: readonly string[];
  /** Called with each event's parsed `data` and its id. */
  onEvent: (type: string, data: unknown, id: string) => void;
  /** Called when the stream is open again after an interruption: re-fetch whatever must be exact. */
  onReconnect?: () => void;
  /**
   * Called when the server says events were missed that it cannot replay (`reset`: the
   * page's id is older than the capped log, or not an id): re-fetch everything shown.
   */
  onReset?: () => void;
}

/** Options of {@link useEventStream} that are not handlers. */
export interface EventStreamOptions {
  /**
   * The topic's newest event id when the page was rendered: the first connection asks
   * for what came after it (`?since=`), closing the window between render and connect.
   */
  since?: string;
}

const MAX_BACKOFF_MS = 30_000;

/**
 * An EventSource on `url` (null: none) that stays connected. Transient drops are retried
 * by the browser itself, which sends `Last-Event-ID` so the server replays what was missed;
 * when the browser gives up (a 429, a 503, a proxy's error page) a new EventSource is opened
 * after a growing delay, with the last id seen as `?lastEventId=`. The first connection
 * starts from `since` (the id the page was rendered at), so nothing between the render
 * and the connection is lost. `status` says whether the page is currently hearing events;
 * `ready`, that the first connection is fully set up.
 */
export function useEventStream(
  url: string | null,
  handlers: EventStreamHandlers,
  options: EventStreamOptions = {},
): { status: StreamStatus; ready: boolean } {
  const [status, setStatus] = useState<StreamStatus>("live");
  // Once the server said the stream is subscribed and caught up (its first `ready` or any event).
  const [ready, setReady] = useState(false);
  // The latest handlers without reopening the stream each render.
  const latest = useRef(handlers);
  useEffect(() => {
    latest.current = handlers;
  });
  const typesKey = handlers.types.join(",");
  // The latest render's id (a navigation to another room brings its own); declared before
  // the stream's effect so that a new `url` opens from the id rendered with it.
  const since = useRef(options.since);
  useEffect(() => {
    since.current = options.since;
  }, [options.since]);

  useEffect(() => {
    if (!url || typeof EventSource === "undefined") return;
    let source: EventSource | null = null;
    let retryTimer: ReturnType<typeof setTimeout> | undefined;
    let lastId: string | null = null;
    let interrupted = false;
    let attempts = 0;
    let stopped = false;

    const open = () => {
      const target = new URL(url, window.location.href);
      if (lastId) target.searchParams.set("lastEventId", lastId);
      else if (since.current) target.searchParams.set("since", since.current);
      const es = new EventSource(target);
      source = es;
      es.onopen = () => {
        attempts = 0;
        setStatus("live");
        if (interrupted) {
          interrupted = false;
          latest.current.onReconnect?.();
        }
      };
      es.onerror = () => {
        interrupted = true;
        setStatus("reconnecting");
        if (es.readyState !== EventSource.CLOSED || stopped) return;
        // The browser will not retry this one: do it ourselves, backing off.
        const delay = Math.min(MAX_BACKOFF_MS, 2_000 * 2 ** attempts++) * (0.5 + Math.random() / 2);
        retryTimer = setTimeout(open, delay);
      };
      const listen = (type: string) =>
        es.addEventListener(type, (e) => {
          const message = e as MessageEvent<string>;
          if (message.lastEventId) lastId = message.lastEventId;
          setReady(true);
          if (type === "ready") return;
          if (type === "reset") {
            latest.current.onReset?.();
            return;
          }
          let data: unknown;
          try {
            data = JSON.parse(message.data);
          } catch {
            return;
          }
          latest.current.onEvent(type, data, message.lastEventId);
        });
      listen("ready");
      listen("reset");
      for (const type of typesKey.split(",").filter(Boolean)) listen(type);
    };
    open();
    return () => {
      stopped = true;
      clearTimeout(retryTimer);
      source?.close();
    };
  }, [url, typesKey]);

  return { status, ready };
}
