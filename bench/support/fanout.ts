import { setMaxListeners } from "node:events";
import { get as httpGet } from "node:http";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";

/**
 * The fan-out measurement (bench/README.md, Fan-out): `clients` Server-Sent Events
 * readers on one room, spread over the given instances, while senders POST `rate`
 * messages a second for `seconds`, alternating instances. Each message body carries a
 * unique token and its send time; every client records when it received each token.
 *
 * Rate limits (5 msg/s per session, burst 10; 20/s per IP, burst 40) and the stream cap
 * (20 streams per client address per process) are kept out of the way on purpose: each
 * sender is its own session (its cookie kept) with its own fake `X-Forwarded-For`
 * address, and each reader has its own fake address too. The limits are not what is measured.
 */
export interface FanoutOptions {
  urls: string[];
  roomId: string;
  clients: number;
  rate: number;
  seconds: number;
  /** Sessions (and fake addresses) the messages are spread over; each must stay under 5 msg/s. */
  senders?: number;
  /** How long to wait after the last send for stragglers. */
  drainMs?: number;
  /** Called once every stream is open and live, before the first send (the bench samples the servers' memory there). */
  onStreamsOpen?: () => Promise<void>;
}

export interface FanoutResult {
  clients: number;
  sent: number;
  accepted: number;
  sendErrors: number;
  expected: number;
  received: number;
  lost: number;
  duplicates: number;
  foreign: number;
  p50: number;
  p99: number;
  max: number;
  postP99: number;
  /**
   * Where the slowest 1% of sends spent their time, mean ms per phase from their
   * Server-Timing (`limit`, `tx`, `invalidate`, `publish`, `total`), and `outside`: the
   * client's time less the server's total (queued before the handler ran: the servers'
   * event loops, the connection). The same for the median send, to compare.
   */
  slowSends: { count: number; clientMs: number; phases: Record<string, number>; at: number[] };
  typicalSend: { clientMs: number; phases: Record<string, number> };
  /** The slowest of the warm-up sends (one per sender per instance, before the measurement). */
  warmupMax: number;
  /** The load generator's own event-loop delay over the run, ms. */
  ownLagP99: number;
  ownLagMax: number;
  streamErrors: number;
}

const now = () => performance.timeOrigin + performance.now();

export const percentile = (sorted: number[], p: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]! : NaN;

interface Reader {
  ready: Promise<void>;
  /** By message number: when it first arrived (0: not yet). */
  first: Float64Array;
  /** Messages of this run that arrived again. */
  duplicates: number;
  /** Bench messages of another run. */
  foreign: number;
  done: Promise<void>;
  /** Set when the stream failed or ended before the measurement did. */
  state: { error?: string };
}

const FRAME_TOKEN = /\nevent: message\.created\n[^]*?\bbench-fanout ([0-9a-z]+)-(\d+) sent=/;

/**
 * One SSE reader on node:http, as light as a reader can be: 1,000 of them share the load
 * generator's one core with the senders (fetch's web streams cost several times more per
 * chunk, and at 20,000 frames a second the readers' own backlog was what got measured).
 * Frames are split on the blank line; a `message.created` frame's token is read from its
 * text (the body carries it verbatim), without parsing the JSON. Arrival times go into one
 * preallocated array per reader: 1,000 readers' maps of 600 tokens each made the load
 * generator's heap grow through the run, and its major collections were the tail.
 */
function openReader(url: string, ip: string, signal: AbortSignal, run: string, messages: number): Reader {
  const reader = { first: new Float64Array(messages), duplicates: 0, foreign: 0 };
  const state: { error?: string } = {};
  let onReady!: () => void;
  let onFail!: (e: unknown) => void;
  const ready = new Promise<void>((res, rej) => ((onReady = res), (onFail = rej)));
  const done = new Promise<void>((resolve) => {
    const req = httpGet(url, { headers: { accept: "text/event-stream", "x-forwarded-for": ip }, signal, agent: false }, (res) => {
      if (res.statusCode !== 200) {
        const error = new Error(`events stream answered ${res.statusCode}`);
        state.error = error.message;
        onFail(error);
        res.resume();
        return resolve();
      }
      res.setEncoding("utf8");
      let buf = "";
      res.on("data", (chunk: string) => {
        const at = now();
        buf += chunk;
        let end: number;
        while ((end = buf.indexOf("\n\n")) >= 0) {
          const frame = `\n${buf.slice(0, end)}`;
          buf = buf.slice(end + 2);
          if (frame.includes("\nevent: ready")) onReady();
          const m = FRAME_TOKEN.exec(frame);
          if (!m) continue;
          const k = Number(m[2]);
          if (m[1] !== run || !(k < messages)) reader.foreign++;
          else if (reader.first[k]) reader.duplicates++;
          else reader.first[k] = at;
        }
      });
      res.on("end", () => {
        if (!signal.aborted) state.error = "stream ended";
        resolve();
      });
      res.on("error", () => resolve());
    });
    req.on("error", (e) => {
      onFail(e);
      if (!signal.aborted) state.error = e.message;
      resolve();
    });
  });
  return Object.assign(reader, { ready, done, state });
}

/** A `Server-Timing` header's durations by name (repeated names summed). */
function serverTimings(header: string | null): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of header?.split(",") ?? []) {
    const name = part.split(";")[0]!.trim();
    const dur = /;\s*dur=([\d.]+)/.exec(part)?.[1];
    if (name && dur) out[name] = (out[name] ?? 0) + Number(dur);
  }
  return out;
}

/** Mean client time and mean time per Server-Timing phase of `sends`, with `outside` (client less server total). */
function phaseMeans(sends: { ms: number; phases: Record<string, number> }[], round: (n: number) => number) {
  const n = Math.max(1, sends.length);
  const phases: Record<string, number> = {};
  for (const { ms, phases: p } of sends) {
    for (const [name, dur] of Object.entries(p)) phases[name] = (phases[name] ?? 0) + dur / n;
    phases.outside = (phases.outside ?? 0) + (ms - (p.total ?? 0)) / n;
  }
  return {
    clientMs: round(sends.reduce((sum, x) => sum + x.ms, 0) / n),
    phases: Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, round(v)])),
  };
}

export async function fanout(o: FanoutOptions): Promise<FanoutResult> {
  const senders = o.senders ?? Math.max(2, Math.ceil(o.rate / 2.5));
  const path = `/api/rooms/by-id/${o.roomId}`;
  const abort = new AbortController();
  // One signal for every reader's request: 1,000 listeners on it are expected, not a leak.
  setMaxListeners(o.clients + 10, abort.signal);
  const run = Math.random().toString(36).slice(2, 8);
  const total = Math.round(o.rate * o.seconds);
  const readers = Array.from({ length: o.clients }, (_, i) =>
    openReader(`${o.urls[i % o.urls.length]}${path}/events`, `10.77.${i >> 8}.${(i & 255) + 1}`, abort.signal, run, total),
  );
  try {
    // Every stream subscribed and live (its `ready` event) before the first send.
    await Promise.race([
      Promise.all(readers.map((r) => r.ready)),
      sleep(30_000).then(() => Promise.reject(new Error("event streams not ready after 30 s"))),
    ]);
    await o.onStreamsOpen?.();
    // This process's own delays: a late reader or sender adds to what it measures.
    const lag = monitorEventLoopDelay({ resolution: 10 });
    lag.enable();

    const cookies: (string | undefined)[] = Array(senders).fill(undefined);
    /** One message from sender `s` to instance `k`'s room (its session cookie kept); its status and time. */
    const post = async (k: number, s: number, body: string) => {
      const t = now();
      const headers: Record<string, string> = { "content-type": "application/json", "x-forwarded-for": `10.88.0.${s + 1}` };
      if (cookies[s]) headers.cookie = cookies[s]!;
      const res = await fetch(`${o.urls[k % o.urls.length]}${path}/messages`, { method: "POST", headers, body: JSON.stringify({ body }) });
      await res.arrayBuffer();
      const ms = now() - t;
      const set = res.headers.getSetCookie()[0];
      if (set) cookies[s] = set.split(";")[0];
      return { status: res.status, ms, phases: serverTimings(res.headers.get("server-timing")) };
    };

    // Warm-up, not measured: each sender's session, and each instance's message path (its
    // first sends compile it), as a room whose members have been talking. Without it the
    // run's slowest ~2% of sends were its first second's, and they were the p99.
    const warmupTimes: number[] = [];
    await Promise.all(
      cookies.map(async (_, s) => {
        for (let k = 0; k < o.urls.length; k++) warmupTimes.push((await post(k + s, s, `bench-fanout-warm-up ${run}-${s}-${k}`)).ms);
      }),
    );
    await sleep(1_000);

    const sentAt = new Map<number, number>(); // accepted messages -> send time
    const postTimes: number[] = [];
    const sends: { ms: number; phases: Record<string, number>; at: number }[] = [];
    let sendErrors = 0;
    const interval = 1000 / o.rate;
    const start = performance.now();
    const posts: Promise<void>[] = [];
    for (let k = 0; k < total; k++) {
      const wait = start + k * interval - performance.now();
      if (wait > 0) await sleep(wait);
      const s = k % senders;
      const token = `${run}-${k}`;
      const t = now();
      posts.push(
        post(k, s, `bench-fanout ${token} sent=${t.toFixed(3)}`)
          .then(({ status, ms, phases }) => {
            postTimes.push(ms);
            sends.push({ ms, phases, at: (t - performance.timeOrigin - start) / 1000 });
            if (status === 201) sentAt.set(k, t);
            else sendErrors++;
          })
          .catch(() => void sendErrors++),
      );
    }
    await Promise.all(posts);

    // Drain: until every reader has every accepted token, or the drain time is up.
    const deadline = performance.now() + (o.drainMs ?? 5_000);
    const complete = () => readers.every((r) => [...sentAt.keys()].every((k) => r.first[k]));
    while (!complete() && performance.now() < deadline) await sleep(100);
    await sleep(250); // late duplicates
    lag.disable();

    const latencies: number[] = [];
    let received = 0;
    let duplicates = 0;
    let foreign = 0;
    for (const r of readers) {
      duplicates += r.duplicates;
      foreign += r.foreign;
      r.first.forEach((at, k) => {
        if (!at) return;
        const t = sentAt.get(k);
        // Delivered although its send was refused: counted as foreign, as another run's.
        if (t === undefined) return void foreign++;
        received++;
        latencies.push(at - t);
      });
    }
    latencies.sort((a, b) => a - b);
    postTimes.sort((a, b) => a - b);
    sends.sort((a, b) => a.ms - b.ms);
    const slow = sends.slice(Math.floor(sends.length * 0.99));
    const typical = sends.slice(Math.floor(sends.length / 2), Math.floor(sends.length / 2) + 1);
    const expected = o.clients * sentAt.size;
    const round = (n: number) => Math.round(n * 10) / 10;
    return {
      clients: o.clients,
      sent: total,
      accepted: sentAt.size,
      sendErrors,
      expected,
      received,
      lost: expected - received,
      duplicates,
      foreign,
      p50: round(percentile(latencies, 50)),
      p99: round(percentile(latencies, 99)),
      max: round(latencies.at(-1) ?? NaN),
      postP99: round(percentile(postTimes, 99)),
      slowSends: { count: slow.length, ...phaseMeans(slow, round), at: slow.map((x) => round(x.at)).sort((a, b) => a - b) },
      typicalSend: phaseMeans(typical, round),
      warmupMax: round(Math.max(...warmupTimes)),
      ownLagP99: round(lag.percentile(99) / 1e6),
      ownLagMax: round(lag.max / 1e6),
      streamErrors: readers.filter((r) => r.state.error).length,
    };
  } finally {
    abort.abort();
    await Promise.allSettled(readers.map((r) => r.done));
  }
}
