import { parentPort } from "node:worker_threads";
import { LiveListParser, type PackedRooms } from "./copy-rows";

/*
 * The list thread: parses the live list's COPY text for the reconciler's list pass
 * (copy-rows-thread.ts holds the protocol). Each stream is a parser of its own; every
 * message gets one reply, in order.
 */

export type ToThread =
  | { stream: number; open: number }
  | { stream: number; chunk: Uint8Array }
  | { stream: number; end: true }
  | { stream: number; close: true };

export type FromThread =
  | { stream: number; batches: PackedRooms[]; done?: { listVersion: number | undefined } }
  | { stream: number; error: string }
  | { ready: true };

const port = parentPort!;
const parsers = new Map<number, LiveListParser>();

port.on("message", (message: ToThread) => {
  const { stream } = message;
  if ("open" in message) {
    parsers.set(stream, new LiveListParser(message.open));
    return;
  }
  if ("close" in message) {
    parsers.delete(stream);
    return;
  }
  const parser = parsers.get(stream);
  if (!parser) return; // closed: nothing waits for it
  try {
    if ("chunk" in message) return reply({ stream, batches: parser.push(message.chunk) });
    parsers.delete(stream);
    const { last, listVersion } = parser.end();
    reply({ stream, batches: last ? [last] : [], done: { listVersion } });
  } catch (error) {
    parsers.delete(stream);
    reply({ stream, error: error instanceof Error ? error.message : String(error) });
  }
});

port.postMessage({ ready: true } satisfies FromThread);

function reply(message: FromThread): void {
  const transfer = "batches" in message ? message.batches.flatMap((b) => [b.bytes.buffer, b.starts.buffer, b.versions.buffer, b.createdMs.buffer, b.activity.buffer]) : [];
  port.postMessage(message, transfer as ArrayBuffer[]);
}
