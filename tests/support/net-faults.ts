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

/** What a {@link faultProxy} does with traffic. */
export type FaultMode = "pass" | "blackhole" | "cut";

/**
 * A TCP forwarder whose faults can be switched on and off while clients use it:
 *
 * - `blackhole()`: connections stay open and new ones are accepted, but every byte is
 *   dropped both ways (a hung server, a partition that sends no RST). `restore()` then
 *   destroys the connections that lost bytes (their streams are no longer in step) and
 *   forwards again.
 * - `cut()`: open connections are destroyed and new ones refused (the port is closed); a
 *   server that is down. `restore()` listens again on the same port.
 * - `reset()`: destroys the open connections once; `resetEvery(ms)` keeps doing it until
 *   `restore()`. New connections are forwarded in between.
 */
export async function faultProxy(targetPort: number, targetHost = "127.0.0.1") {
  interface Conn {
    client: net.Socket;
    upstream?: net.Socket;
    /** Bytes were dropped: the connection cannot resume. */
    holed: boolean;
  }
  const conns = new Set<Conn>();
  let mode: FaultMode = "pass";
  let resetTimer: NodeJS.Timeout | undefined;
  /**
   * Connections accepted, destroyed by a fault (reset, cut, or the end of a blackhole), bytes
   * dropped, the slowest connect to the target (ms: the proxy's own share of a slow start),
   * and the slowest first answer (ms from a connection's first bytes to the target's first
   * reply: a Postgres that is slow to accept a session shows here).
   */
  const stats = { accepted: 0, destroyed: 0, droppedBytes: 0, slowestConnectMs: 0, slowestFirstReplyMs: 0 };

  const close = (c: Conn) => {
    if (!conns.delete(c)) return;
    c.client.destroy();
    c.upstream?.destroy();
  };
  const destroy = (c: Conn) => {
    if (conns.has(c)) stats.destroyed++;
    close(c);
  };
  /** Forwards `from` to `to` unless the connection is holed; honours back-pressure. */
  const forward = (c: Conn, from: net.Socket, to: net.Socket) => {
    from.on("data", (chunk: Buffer) => {
      if (c.holed) {
        stats.droppedBytes += chunk.length;
        return;
      }
      if (!to.write(chunk)) {
        from.pause();
        to.once("drain", () => from.resume());
      }
    });
  };

  const server = net.createServer((client) => {
    stats.accepted++;
    const c: Conn = { client, holed: mode === "blackhole" };
    conns.add(c);
    client.on("error", () => {});
    client.on("close", () => close(c));
    if (c.holed) {
      // Accepted, never answered: read and drop what the client sends.
      client.on("data", (chunk: Buffer) => (stats.droppedBytes += chunk.length));
      return;
    }
    const asked = performance.now();
    const upstream = net.connect(targetPort, targetHost, () => {
      stats.slowestConnectMs = Math.max(stats.slowestConnectMs, Math.round(performance.now() - asked));
    });
    c.upstream = upstream;
    upstream.on("error", () => {});
    upstream.on("close", () => close(c));
    let firstAsk: number | undefined;
    client.once("data", () => (firstAsk = performance.now()));
    upstream.once("data", () => {
      if (firstAsk !== undefined) stats.slowestFirstReplyMs = Math.max(stats.slowestFirstReplyMs, Math.round(performance.now() - firstAsk));
    });
    forward(c, client, upstream);
    forward(c, upstream, client);
  });
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
  // close() waits for the last connection to go; every one was destroyed just before, so a
  // short wait is enough, and a socket still closing must not hold a fault's switch.
  const closeListener = () =>
    new Promise<void>((resolve) => {
      if (!server.listening) return resolve();
      server.close(() => resolve());
      setTimeout(resolve, 1_000).unref();
    });
  const stopResets = () => {
    if (resetTimer) clearInterval(resetTimer);
    resetTimer = undefined;
  };
  const reset = () => {
    for (const c of [...conns]) destroy(c);
  };

  await listen(0);
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    get mode() {
      return mode;
    },
    stats,
    blackhole() {
      mode = "blackhole";
      for (const c of conns) c.holed = true;
    },
    async cut() {
      stopResets();
      mode = "cut";
      reset();
      await closeListener();
    },
    reset,
    resetEvery(ms: number) {
      stopResets();
      reset();
      resetTimer = setInterval(reset, ms);
    },
    /** Back to forwarding: resets stop, holed connections are destroyed, a cut port listens again. */
    async restore() {
      stopResets();
      for (const c of [...conns]) if (c.holed) destroy(c);
      if (mode === "cut") await listen(port);
      mode = "pass";
    },
    async close() {
      stopResets();
      reset();
      await closeListener();
    },
  };
}
export type FaultProxy = Awaited<ReturnType<typeof faultProxy>>;
