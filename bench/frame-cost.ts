/*
 * What one Server-Sent Events frame costs the server, by the path it takes to the socket:
 * `npx tsx bench/frame-cost.ts [--clients 500] [--frames 100]`.
 *
 * The fan-out scenario (`npm run bench -- --scenario fanout`) prints the real server's CPU per
 * frame delivered (a Next route handler's body). This measures, in one run and on the same
 * machine, the paths that cost is made of, with no Next and no Redis: `clients` streams
 * served by `node:http` in this process, read by a child process, `frames` frames of a
 * message event written to every stream 50 ms apart; this process's CPU time (user +
 * system) divided by the frames written.
 *
 * - `node:http`: `res.write(frame)` per stream.
 * - `web stream`: a `ReadableStream` per stream, piped to the response through a
 *   `WritableStream` whose write is `res.write` (what Next does with a route handler's
 *   body: next/dist/server/pipe-readable.js), the frame `enqueue`d.
 * - `... in 10 AsyncLocalStorage contexts`: the same, each stream opened inside 10 nested
 *   `AsyncLocalStorage.run` (Next keeps about as many per request). On Node 20 every
 *   promise of the pipe then runs the async-context hooks.
 */
import { fork } from "node:child_process";
import { AsyncLocalStorage } from "node:async_hooks";
import http from "node:http";
import { parseArgs } from "node:util";
import { z } from "zod";

const { values } = parseArgs({
  options: {
    clients: { type: "string", default: "500" },
    frames: { type: "string", default: "100" },
    readers: { type: "string" },
  },
});
const args = z
  .object({ clients: z.coerce.number().int().min(1).max(5_000), frames: z.coerce.number().int().min(1).max(10_000), readers: z.coerce.number().int().positive().optional() })
  .parse(values);

if (args.readers !== undefined) {
  // The child: `clients` readers of the server on port `readers`; says "open" once all are, "done" once every frame arrived.
  const { clients } = args;
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  let open = 0;
  let events = 0;
  for (let i = 0; i < clients; i++) {
    http.get({ host: "127.0.0.1", port: args.readers, path: "/", agent }, (res) => {
      if (++open === clients) process.send?.("open");
      let tail = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        const text = tail + chunk;
        const frames = text.split("\n\n");
        tail = frames.pop() ?? "";
        for (const f of frames) if (f.includes("event: message.created")) events++;
        if (events === clients * args.frames) process.send?.("done");
      });
    });
  }
} else {
  await main();
}

type Mode = { name: string; web: boolean; contexts: number };

async function main() {
  const modes: Mode[] = [
    { name: "node:http res.write", web: false, contexts: 0 },
    { name: "node:http res.write, in 10 AsyncLocalStorage contexts", web: false, contexts: 10 },
    { name: "web stream piped to the response (as Next)", web: true, contexts: 0 },
    { name: "web stream piped to the response, in 10 AsyncLocalStorage contexts", web: true, contexts: 10 },
  ];
  const rows = [];
  for (const mode of modes) rows.push(await measure(mode));
  const base = rows[0]!.usPerFrame;
  console.log(`\nServer CPU per SSE frame, ${args.clients} streams x ${args.frames} frames (Node ${process.version}):`);
  console.table(rows.map((r) => ({ path: r.name, "µs per frame": r.usPerFrame.toFixed(1), "vs node:http": `${(r.usPerFrame / base).toFixed(2)}x` })));
}

async function measure(mode: Mode): Promise<{ name: string; usPerFrame: number }> {
  const storages = Array.from({ length: mode.contexts }, () => new AsyncLocalStorage<number>());
  const within = (i: number, f: () => void): void => (i === storages.length ? f() : storages[i]!.run(i, () => within(i + 1, f)));
  const writers: ((frame: Uint8Array) => void)[] = [];
  const server = http.createServer((_req, res) =>
    within(0, () => {
      res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-cache" });
      if (!mode.web) {
        writers.push((frame) => res.write(frame));
        res.write("retry: 2000\n\n");
        return;
      }
      let controller!: ReadableStreamDefaultController<Uint8Array>;
      const body = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) });
      const sink = new WritableStream<Uint8Array>({
        write: async (chunk) => {
          if (!res.write(chunk)) await new Promise((r) => res.once("drain", r));
        },
      });
      body.pipeTo(sink).catch(() => {});
      writers.push((frame) => controller.enqueue(frame));
      controller.enqueue(new TextEncoder().encode("retry: 2000\n\n"));
    }),
  );
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  const child = fork(new URL(import.meta.url).pathname, ["--readers", String(port), "--clients", String(args.clients), "--frames", String(args.frames)], {
    execArgv: process.execArgv,
  });
  const said = (word: string) => new Promise<void>((r) => child.on("message", (m) => m === word && r()));
  const done = said("done");
  await said("open");
  const frame = new TextEncoder().encode(`id: 1-0\nevent: message.created\ndata: ${JSON.stringify({ type: "message.created", body: "x".repeat(200) })}\n\n`);
  const start = process.cpuUsage();
  for (let i = 0; i < args.frames; i++) {
    for (const write of writers) write(frame);
    await new Promise((r) => setTimeout(r, 50));
  }
  await Promise.race([done, new Promise((r) => setTimeout(r, 10_000))]);
  const used = process.cpuUsage(start);
  child.kill();
  server.closeAllConnections();
  server.close();
  return { name: mode.name, usPerFrame: (used.user + used.system) / (args.clients * args.frames) };
}
