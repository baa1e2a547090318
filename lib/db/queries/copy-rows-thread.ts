import { Worker } from "node:worker_threads";
import type { PackedRooms } from "./copy-rows";
import type { FromThread, ToThread } from "./copy-rows.worker";

/*
 * The list thread, as the list pass's COPY sees it. Turning a million rows of COPY text into
 * the read path's JSON is ~5 s of CPU that the reconciler's main thread, the one every other
 * part of a run waits on, no longer spends: it hands the text over in large chunks and gets
 * each batch back packed (the rooms' JSON as bytes, typed arrays of numbers: copy-rows.ts),
 * transferred, so what crosses between the threads is a few messages a batch, never an
 * object per room.
 *
 * One thread per process, started when the worker starts (with reconciliation on) or at the
 * first list pass, and kept (unreferenced, so it never holds the process open); each COPY is
 * a stream of its own on it. A thread that dies fails
 * the streams it held, and the next list pass starts another.
 */

type Reply = Extract<FromThread, { batches: PackedRooms[] }>;
type StreamReply = Exclude<FromThread, { ready: true }>;

/** One COPY's traffic with the thread: chunks in, one reply per message, in order. */
export class CopyStream {
  private readonly replies: StreamReply[] = [];
  private waiter: ((reply: StreamReply | Error) => void) | null = null;
  private failure: Error | null = null;
  private finished = false;
  /** Messages sent whose reply has not been taken. */
  outstanding = 0;

  constructor(
    private readonly id: number,
    private readonly post: (message: ToThread, transfer?: ArrayBuffer[]) => void,
    private readonly onClose: () => void,
  ) {}

  /** The next piece of COPY text, `bytes` long, copied into memory of its own (the socket's buffers are reused). */
  send(chunks: Uint8Array[], bytes: number): void {
    const chunk = new Uint8Array(bytes);
    let at = 0;
    for (const c of chunks) {
      chunk.set(c, at);
      at += c.length;
    }
    this.outstanding++;
    this.post({ stream: this.id, chunk }, [chunk.buffer]);
  }

  /** The COPY has ended; the last reply carries `done`. */
  end(): void {
    this.outstanding++;
    this.post({ stream: this.id, end: true });
  }

  /** A reply can be taken without waiting. */
  get ready(): boolean {
    return this.replies.length > 0 || this.failure !== null;
  }

  /** The next reply, in order; throws what the thread could not parse, or its death. */
  async take(): Promise<Reply> {
    const reply = this.replies.shift() ?? this.failure ?? (await new Promise<StreamReply | Error>((resolve) => (this.waiter = resolve)));
    if (reply instanceof Error) throw reply;
    this.outstanding--;
    if ("error" in reply) throw new Error(reply.error);
    if (reply.done) this.finished = true;
    return reply;
  }

  receive(reply: StreamReply): void {
    const waiter = this.waiter;
    this.waiter = null;
    if (waiter) waiter(reply);
    else this.replies.push(reply);
  }

  fail(error: Error): void {
    this.failure = error;
    this.waiter?.(error);
    this.waiter = null;
  }

  /** Done with the stream: a parser the thread still holds for it is dropped. */
  close(): void {
    if (!this.finished && !this.failure) this.post({ stream: this.id, close: true });
    this.onClose();
  }
}

class ListThread {
  private worker: Worker | null = null;
  private loaded: Promise<void> | null = null;
  private readonly streams = new Map<number, CopyStream>();
  private nextId = 1;

  open(batchSize: number): CopyStream {
    const worker = this.worker ?? this.start();
    const id = this.nextId++;
    const stream = new CopyStream(
      id,
      (message, transfer) => worker.postMessage(message, transfer),
      () => this.closed(id),
    );
    this.streams.set(id, stream);
    worker.ref();
    worker.postMessage({ stream: id, open: batchSize } satisfies ToThread);
    return stream;
  }

  /**
   * Starts the thread if it is not running, and resolves once it has loaded. The worker
   * process calls it at startup, so its first run does not wait for the thread.
   */
  ready(): Promise<void> {
    if (!this.worker) this.start();
    return this.loaded!;
  }

  /** Ends the thread; streams on it fail, and the next list pass starts another. */
  async stop(): Promise<void> {
    await this.worker?.terminate();
  }

  private start(): Worker {
    // From the TypeScript sources (tsx, vitest) through a loader; from the worker bundle, the
    // thread built beside it (package.json, worker:build).
    const worker = import.meta.url.endsWith(".ts")
      ? new Worker(new URL("./copy-rows.dev.mjs", import.meta.url), { workerData: { entry: new URL("./copy-rows.worker.ts", import.meta.url).href } })
      : new Worker(new URL("./copy-rows.worker.mjs", import.meta.url));
    let loaded!: () => void;
    let failed!: (error: Error) => void;
    this.loaded = new Promise<void>((resolve, reject) => ([loaded, failed] = [resolve, reject]));
    this.loaded.catch(() => {}); // awaited by ready(), when anyone asks
    worker.on("message", (reply: FromThread) => {
      if (!("ready" in reply)) return this.streams.get(reply.stream)?.receive(reply);
      loaded();
      if (this.streams.size === 0) worker.unref();
    });
    const lost = (error: Error) => {
      failed(error);
      this.lost(worker, error);
    };
    worker.on("error", lost);
    worker.on("exit", (code) => lost(new Error(`the list thread exited (code ${code})`)));
    // Held open until it has loaded (someone may be waiting on ready()), and while a COPY waits on it.
    this.worker = worker;
    return worker;
  }

  private lost(worker: Worker, error: Error): void {
    if (this.worker !== worker) return;
    this.worker = null;
    for (const stream of this.streams.values()) stream.fail(error);
    this.streams.clear();
  }

  private closed(id: number): void {
    this.streams.delete(id);
    if (this.streams.size === 0) this.worker?.unref();
  }
}

export const listThread = new ListThread();
