import { z } from "zod";
import { compareIds, isStreamId, type Delivery, type RedisEventBus } from "./event-bus";
import type { Topic } from "./events";
import type { Hub } from "./hub";

/** Options of {@link openEventStream}. */
export interface EventStreamOptions {
  topic: Topic;
  /**
   * Where the client stands: its `Last-Event-ID` (header, `?lastEventId=`) or the id its
   * page was rendered at (`?since=`); null when it sent none (a fresh start: `ready` with
   * the newest id). Something that is not a Stream id gets `reset`, as does an id the log
   * can no longer replay from.
   */
  lastEventId: string | null;
  hub: Hub;
  bus: RedisEventBus;
  /** The request's signal: the stream ends when the client goes away. */
  signal: AbortSignal;
  /** Comment line sent this often so proxies keep the connection. Default 15 000 ms. */
  heartbeatMs?: number;
  /** The browser's reconnection delay (`retry:`). Default 2000 ms. */
  retryMs?: number;
  /** Called once when the stream ends, whoever ends it. */
  onClose?: () => void;
  /**
   * The request's Node response (lib/realtime/stream-handoff.ts). The web stream then
   * carries the first chunk only, which makes Next send the status and headers; every later
   * chunk is written to the response itself once they are out, in order.
   */
  direct?: DirectResponse;
}

/** What a stream needs of a Node `ServerResponse` to write to it. */
export interface DirectResponse {
  readonly headersSent: boolean;
  readonly destroyed: boolean;
  /** Bytes written and not yet taken by the socket. */
  readonly writableLength: number;
  write(chunk: Uint8Array): boolean;
  destroy(): void;
}

/**
 * Bytes a client may leave unread before its stream is dropped: a reader that stopped
 * reading (a suspended tab, a stalled link) would otherwise hold its room's traffic in this
 * process's memory for as long as its socket lives. It reconnects with its Last-Event-ID
 * and gets the replay, or `reset` and a re-fetch.
 */
export const MAX_UNSENT_BYTES = 1024 * 1024;

/**
 * Where the client stands, by precedence: `Last-Event-ID` (a reconnecting EventSource sends
 * it: the last id it saw), `?lastEventId=` (the page reopening a stream the browser gave
 * up on), `?since=` (the id the page was rendered at: a first EventSource cannot set
 * headers). Null when none is given. A value that is not a Stream id is passed on as
 * given (the stream answers it with `reset`, never with a gapped replay).
 */
const positionSchema = z.object({
  lastEventId: z.string().optional(),
  since: z.string().optional(),
});
const MALFORMED = "malformed";

export function clientPosition(request: Request): string | null {
  const valid = (v: string | null | undefined) => (v === null || v === undefined || v === "" ? null : isStreamId(v) ? v : MALFORMED);
  const header = valid(request.headers.get("last-event-id"));
  if (header !== null) return header;
  const query = positionSchema.safeParse(Object.fromEntries(new URL(request.url).searchParams));
  if (!query.success) return MALFORMED;
  return valid(query.data.lastEventId) ?? valid(query.data.since);
}

/** Most live events held back while a replay is read; a client this far behind re-fetches anyway. */
const MAX_BUFFERED = 10_000;

/** Tells the client it missed events that cannot be replayed: re-fetch, then continue from `id`. */
export function formatReset(id: string): string {
  return `id: ${id}\nevent: reset\ndata: {}\n\n`;
}

export function formatEvent(d: Delivery): string {
  // JSON never contains a raw newline, so one `data:` line is enough.
  return `id: ${d.id}\nevent: ${d.event.type}\ndata: ${JSON.stringify(d.event)}\n\n`;
}

/**
 * A delivery's frame, encoded once for every stream it goes to: the hub hands the same
 * object to each listener, so 500 streams of a room cost one JSON.stringify and one
 * encode per event, not 500 (the fan-out bench's 1,000 streams spent their time there).
 */
const frames = new WeakMap<Delivery, Uint8Array>();
const frameEncoder = new TextEncoder();
export function eventFrame(d: Delivery): Uint8Array {
  let frame = frames.get(d);
  if (!frame) frames.set(d, (frame = frameEncoder.encode(formatEvent(d))));
  return frame;
}

/**
 * One Server-Sent Events stream of a topic. Order of work, so that the replay/live boundary
 * has no gap and no duplicate:
 *
 * 1. subscribe to the hub and wait until the subscription is active; live events from
 *    then on are buffered;
 * 2. replay the Stream after the client's id (`Last-Event-ID` or the page's `since`); or,
 *    when the log no longer reaches back that far (trimmed to ~1000 entries, expired) or
 *    the id is not one, send `reset` with the newest id: the client re-fetches, since a
 *    replay would have a hole. A client with no id at all starts from the newest id. Then
 *    `ready` (once), carrying the id, so the browser's next reconnect asks for exactly
 *    what it missed;
 * 3. flush the buffer, then send live, skipping every id not greater than the last one
 *    sent. Per topic, pub/sub order is Stream order (lib/realtime/event-bus.ts), so that
 *    one comparison removes exactly the overlap.
 *
 * A hub resync (the subscriber reconnected) repeats 2-3 from the last id sent. When Redis
 * is unavailable the stream still opens and goes live without a replay: the client's
 * re-fetch on reconnect covers what was lost.
 */
export function openEventStream(options: EventStreamOptions): ReadableStream<Uint8Array> {
  const { topic, hub, bus, signal, direct } = options;
  const encoder = new TextEncoder();
  const given = options.lastEventId;
  // null until known: nothing sent, or the client's id still to be checked against the log.
  let lastId: string | null = null;
  let started = false;
  let catchingUp = false;
  let again = false;
  let buffer: Delivery[] = [];
  let closed = false;
  let heartbeat: NodeJS.Timeout | undefined;
  let unsubscribe: (() => void) | undefined;
  let close = () => {};
  // Direct mode: whether the web stream has its one chunk, and the chunks that wait for Next
  // to send the headers.
  let piped = false;
  let waiting: Uint8Array[] | null = null;

  return new ReadableStream<Uint8Array>(
    {
      async start(controller) {
        const drop = () => {
          // Unread bytes past the limit: free them now (a graceful end would wait for the reader).
          if (direct) direct.destroy();
          else controller.error(new Error("event stream reader too slow"));
          close();
        };
        const writeDirect = (res: DirectResponse, bytes: Uint8Array) => {
          if (res.destroyed) return close();
          res.write(bytes);
          if (res.writableLength > MAX_UNSENT_BYTES) drop();
        };
        const flushWaiting = () => {
          if (closed || !direct || direct.destroyed) return close();
          if (!direct.headersSent) return void setImmediate(flushWaiting);
          const held = waiting ?? [];
          waiting = null;
          for (const bytes of held) if (!closed) writeDirect(direct, bytes);
        };
        const sendBytes = (bytes: Uint8Array) => {
          if (closed) return;
          try {
            if (!direct || !piped) {
              piped = true;
              controller.enqueue(bytes);
              // The queue's size is in bytes (the strategy below): minus desiredSize is what waits.
              if (-(controller.desiredSize ?? 0) > MAX_UNSENT_BYTES) drop();
            } else if (waiting || !direct.headersSent) {
              // Next writes the first chunk, with the headers, once the handler has returned.
              if (!waiting) {
                waiting = [];
                setImmediate(flushWaiting);
              }
              waiting.push(bytes);
            } else writeDirect(direct, bytes);
          } catch {
            close();
          }
        };
        const send = (text: string) => sendBytes(encoder.encode(text));
        const sendDelivery = (d: Delivery) => {
          if (lastId !== null && compareIds(d.id, lastId) <= 0) return;
          lastId = d.id;
          sendBytes(eventFrame(d));
        };
        const catchUp = async () => {
          if (catchingUp) {
            again = true;
            return;
          }
          catchingUp = true;
          try {
            do {
              again = false;
              try {
                if (lastId === null && given === null) {
                  lastId = await bus.tip(topic);
                } else {
                  const from = lastId ?? (isStreamId(given) ? given : null);
                  const result = await bus.catchUp(topic, from);
                  if (result.reset) {
                    lastId = result.tip;
                    send(formatReset(result.tip));
                  } else {
                    // The client's own id counts as sent: only what follows it goes out.
                    lastId ??= from;
                    for (const d of result.deliveries) sendDelivery(d);
                  }
                }
              } catch {
                // Redis unavailable: go live without the replay (see above).
                if (lastId === null && isStreamId(given)) lastId = given;
              }
            } while (again && !closed);
            if (!started && !closed) {
              started = true;
              // An event (not a bare id line) so that the page sees the id too, for a reconnect of its own.
              send(lastId === null ? `event: ready\ndata: {}\n\n` : `id: ${lastId}\nevent: ready\ndata: {}\n\n`);
            }
          } finally {
            catchingUp = false;
            const held = buffer;
            buffer = [];
            for (const d of held) sendDelivery(d);
          }
        };
        close = () => {
          if (closed) return;
          closed = true;
          clearInterval(heartbeat);
          unsubscribe?.();
          signal.removeEventListener("abort", close);
          try {
            controller.close();
          } catch {
            // Already closed or errored by the runtime.
          }
          options.onClose?.();
        };
        if (signal.aborted) return close();
        signal.addEventListener("abort", close);

        // First bytes at once, so the response (and its headers) leaves before any Redis work.
        send(`retry: ${options.retryMs ?? 2_000}\n\n`);
        heartbeat = setInterval(() => send(`: heartbeat\n\n`), options.heartbeatMs ?? 15_000);
        heartbeat.unref();

        const listener = {
          deliver(d: Delivery) {
            if (!catchingUp) return sendDelivery(d);
            if (buffer.length < MAX_BUFFERED) buffer.push(d);
          },
          resync: () => void catchUp(),
        };
        catchingUp = true; // buffer anything delivered while subscribing
        const off = await hub.subscribe(topic, listener);
        if (closed) return off();
        unsubscribe = off;
        catchingUp = false;
        await catchUp();
      },
      cancel() {
        close();
      },
    },
    { highWaterMark: 0, size: (chunk) => chunk.byteLength },
  );
}
