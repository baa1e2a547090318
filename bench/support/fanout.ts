import { get as httpGet } from "node:http";
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
  streamErrors: number;
}

const now = () => performance.timeOrigin + performance.now();

export const percentile = (sorted: number[], p: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]! : NaN;

interface Reader {
  ready: Promise<void>;
  /** token -> receive times (more than one is a duplicate) */
  seen: Map<string, number[]>;
  done: Promise<void>;
  /** Set when the stream failed or ended before the measurement did. */
  state: { error?: string };
}

const TOKEN = /\bbench-fanout ([0-9a-z]+-\d+) sent=(\d+(?:\.\d+)?)/;

const FRAME_TOKEN = /\nevent: message\.created\n[^]*?\bbench-fanout ([0-9a-z]+-\d+) sent=/;

/**
 * One SSE reader on node:http, as light as a reader can be: 1,000 of them share the load
 * generator's one core with the senders (fetch's web streams cost several times more per
 * chunk, and at 20,000 frames a second the readers' own backlog was what got measured).
 * Frames are split on the blank line; a `message.created` frame's token is read from its
 * text (the body carries it verbatim), without parsing the JSON.
 */
function openReader(url: string, ip: string, signal: AbortSignal): Reader {
  const seen = new Map<string, number[]>();
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
          const times = seen.get(m[1]!);
          if (times) times.push(at);
          else seen.set(m[1]!, [at]);
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
  return { ready, seen, done, state };
}

export async function fanout(o: FanoutOptions): Promise<FanoutResult> {
  const senders = o.senders ?? Math.max(2, Math.ceil(o.rate / 2.5));
  const path = `/api/rooms/by-id/${o.roomId}`;
  const abort = new AbortController();
  const readers = Array.from({ length: o.clients }, (_, i) =>
    openReader(`${o.urls[i % o.urls.length]}${path}/events`, `10.77.${i >> 8}.${(i & 255) + 1}`, abort.signal),
  );
  try {
    // Every stream subscribed and live (its `ready` event) before the first send.
    await Promise.race([
      Promise.all(readers.map((r) => r.ready)),
      sleep(30_000).then(() => Promise.reject(new Error("event streams not ready after 30 s"))),
    ]);
    await o.onStreamsOpen?.();

    const run = Math.random().toString(36).slice(2, 8);
    const cookies: (string | undefined)[] = Array(senders).fill(undefined);
    const sentAt = new Map<string, number>(); // accepted tokens -> send time
    const postTimes: number[] = [];
    let sendErrors = 0;
    const total = Math.round(o.rate * o.seconds);
    const interval = 1000 / o.rate;
    const start = performance.now();
    const posts: Promise<void>[] = [];
    for (let k = 0; k < total; k++) {
      const wait = start + k * interval - performance.now();
      if (wait > 0) await sleep(wait);
      const s = k % senders;
      const token = `${run}-${k}`;
      const t = now();
      const headers: Record<string, string> = { "content-type": "application/json", "x-forwarded-for": `10.88.0.${s + 1}` };
      if (cookies[s]) headers.cookie = cookies[s]!;
      posts.push(
        fetch(`${o.urls[k % o.urls.length]}${path}/messages`, {
          method: "POST",
          headers,
          body: JSON.stringify({ body: `bench-fanout ${token} sent=${t.toFixed(3)}` }),
        })
          .then(async (res) => {
            await res.arrayBuffer();
            postTimes.push(now() - t);
            const set = res.headers.getSetCookie()[0];
            if (set) cookies[s] = set.split(";")[0];
            if (res.status === 201) sentAt.set(token, t);
            else sendErrors++;
          })
          .catch(() => void sendErrors++),
      );
    }
    await Promise.all(posts);

    // Drain: until every reader has every accepted token, or the drain time is up.
    const deadline = performance.now() + (o.drainMs ?? 5_000);
    const complete = () => readers.every((r) => [...sentAt.keys()].every((t) => r.seen.has(t)));
    while (!complete() && performance.now() < deadline) await sleep(100);
    await sleep(250); // late duplicates

    const latencies: number[] = [];
    let received = 0;
    let duplicates = 0;
    let foreign = 0;
    for (const r of readers) {
      for (const [token, times] of r.seen) {
        const t = sentAt.get(token);
        if (t === undefined) {
          foreign++;
          continue;
        }
        received++;
        duplicates += times.length - 1;
        latencies.push(times[0]! - t);
      }
    }
    latencies.sort((a, b) => a - b);
    postTimes.sort((a, b) => a - b);
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
      streamErrors: readers.filter((r) => r.state.error).length,
    };
  } finally {
    abort.abort();
    await Promise.allSettled(readers.map((r) => r.done));
  }
}
