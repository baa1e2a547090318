import net from "node:net";

/** A port on which nothing listens (connections are refused). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A server that accepts connections and never answers: the Redis that hangs. */
export async function blackhole(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * A TCP forwarder in front of a real service, which a test can cut (open connections
 * dropped, the port closed so new ones are refused, as when Postgres is down) and
 * restore on the same port. With `throttle`, the service's replies reach the client at
 * most `bytes` every `everyMs` (a link, or a reader, that drains a backlog slowly).
 */
export async function tcpProxy(targetPort: number, targetHost = "127.0.0.1", options: { throttle?: { bytes: number; everyMs: number } } = {}) {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, targetHost);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => {});
    }
    client.pipe(upstream);
    if (options.throttle) throttled(upstream, client, options.throttle);
    else upstream.pipe(client);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  const listen = (port: number) => new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const stop = () => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));
  };
  await listen(0);
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    cut: stop,
    restore: () => listen(port),
    close: stop,
  };
}
/** Forwards `from` to `to`, `bytes` per `everyMs`. */
function throttled(from: net.Socket, to: net.Socket, { bytes, everyMs }: { bytes: number; everyMs: number }) {
  let queued = Buffer.alloc(0);
  const timer = setInterval(() => {
    if (queued.length === 0 || to.destroyed) return;
    to.write(queued.subarray(0, bytes));
    queued = queued.subarray(bytes);
  }, everyMs);
  from.on("data", (chunk: Buffer) => (queued = Buffer.concat([queued, chunk])));
  from.on("close", () => clearInterval(timer));
  to.on("close", () => clearInterval(timer));
}

/** A promise a test resolves by hand: the pause button of a forced interleaving. */
export function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  let reached!: () => void;
  const arrived = new Promise<void>((resolve) => (reached = resolve));
  return {
    /** Called by the code under test: signals arrival, waits to be let through. */
    async pass() {
      reached();
      await opened;
    },
    /** Resolves when the code under test reaches the gate; fails the test rather than hang if it never does. */
    arrived: Promise.race([
      arrived,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error("the code under test never reached the gate")), 5_000).unref(),
      ),
    ]),
    open,
  };
}
