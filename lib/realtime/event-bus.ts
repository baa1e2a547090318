import type { GuardedStore } from "../cache/guarded-store";
import { EVENT_STREAM_MAXLEN, EVENT_STREAM_TTL_SECONDS, type Keys } from "../cache/keys";
import { lua } from "../cache/store";
import type { EventBus, LobbyEvent, Topic } from "./events";

/** One event as the realtime layer moves it: the Stream entry id is the event id (and the SSE `id:`). */
export interface Delivery {
  id: string;
  topic: Topic;
  event: LobbyEvent;
}

/**
 * Append, bound, refresh the expiry and announce in one script: atomic, so for any one
 * topic the order of pub/sub messages is the order of the Stream ids (the SSE layer's
 * duplicate check relies on it), and one round trip on either driver. The announcement
 * carries the id the Stream gave, which only exists inside the script.
 * KEYS[1] stream; ARGV: maxlen, ttl, channel, topic (JSON string), event (JSON).
 */
const PUBLISH = lua(`
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'data', ARGV[5])
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('PUBLISH', ARGV[3], '{"id":"' .. id .. '","topic":' .. ARGV[4] .. ',"event":' .. ARGV[5] .. '}')
return id
`);

/** Entries strictly after ARGV[1], at most ARGV[2] of them. Through EVAL so both drivers return the same shape. */
const RANGE_AFTER = lua(`return redis.call('XRANGE', KEYS[1], '(' .. ARGV[1], '+', 'COUNT', ARGV[2])`);

/** The newest id of the Stream, or 0-0 when it is empty or gone (every later id is greater). */
const TIP = lua(`
local e = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if e[1] then return e[1][1] end
return '0-0'
`);

/**
 * One page of a replay with what tells whether it is whole: the Stream's newest id ever
 * given (`last-generated-id`), its oldest kept entry ('' when empty), and how many entries
 * it has lost to MAXLEN trimming (entries-added - length; -1 when Redis does not say).
 * 0-0, '', -1 and no entries when the Stream does not exist. In one script, so the check
 * and the entries are one snapshot. KEYS[1] stream; ARGV: after id, count.
 */
const CHECKED_RANGE = lua(`
if redis.call('EXISTS', KEYS[1]) == 0 then return {'0-0', '', -1, {}} end
local info = redis.call('XINFO', 'STREAM', KEYS[1])
local o = {}
for i = 1, #info, 2 do o[info[i]] = info[i + 1] end
local first = ''
if type(o['first-entry']) == 'table' and o['first-entry'][1] then first = o['first-entry'][1] end
local trimmed = -1
if o['entries-added'] then trimmed = o['entries-added'] - o['length'] end
return {o['last-generated-id'], first, trimmed, redis.call('XRANGE', KEYS[1], '(' .. ARGV[1], '+', 'COUNT', ARGV[2])}
`);

/**
 * What a client that last saw an id gets: exactly the events it missed, or `reset` when
 * the log cannot prove it has them all (the id is older than the oldest kept entry, from
 * the future, or not an id): the client must re-fetch. `tip` is where it stands after a reset.
 */
export type CatchUp = { reset: false; deliveries: Delivery[] } | { reset: true; tip: string };

const STREAM_ID = /^\d{1,20}-\d{1,20}$/;

export function isStreamId(value: string | null | undefined): value is string {
  return typeof value === "string" && STREAM_ID.test(value);
}

/**
 * Orders two Stream ids (`ms-seq`, decimal digits; a missing part is 0) numerically. Every
 * stream runs it for every event it is handed (1,000 streams at 20 events a second: 20,000
 * calls a second), so it compares the digits in place, allocating nothing: numbers of
 * more significant digits are larger, else the first differing digit decides.
 */
export function compareIds(a: string, b: string): number {
  const ad = a.indexOf("-");
  const bd = b.indexOf("-");
  const am = ad === -1 ? a.length : ad;
  const bm = bd === -1 ? b.length : bd;
  return compareDigits(a, 0, am, b, 0, bm) || compareDigits(a, Math.min(am + 1, a.length), a.length, b, Math.min(bm + 1, b.length), b.length);
}

/** a[as, ae) against b[bs, be) as unsigned decimal numbers (an empty range is 0). */
function compareDigits(a: string, as: number, ae: number, b: string, bs: number, be: number): number {
  while (as < ae && a.charCodeAt(as) === 48 /* 0 */) as++;
  while (bs < be && b.charCodeAt(bs) === 48) bs++;
  if (ae - as !== be - bs) return ae - as < be - bs ? -1 : 1;
  for (; as < ae; as++, bs++) {
    const d = a.charCodeAt(as) - b.charCodeAt(bs);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

/** Turns XRANGE's reply (`[[id, [field, value, ...]], ...]`) into deliveries; malformed entries are skipped. */
export function parseEntries(topic: Topic, reply: unknown): Delivery[] {
  if (!Array.isArray(reply)) return [];
  const out: Delivery[] = [];
  for (const entry of reply) {
    if (!Array.isArray(entry)) continue;
    const [id, fields] = entry as [unknown, unknown];
    if (typeof id !== "string" || !Array.isArray(fields)) continue;
    const at = fields.indexOf("data");
    const data = at >= 0 ? fields[at + 1] : undefined;
    try {
      out.push({ id, topic, event: (typeof data === "string" ? JSON.parse(data) : data) as LobbyEvent });
    } catch {
      // Not ours or corrupt: skipping it is better than stalling the replay.
    }
  }
  return out;
}

/** Options of a {@link RedisEventBus}. */
export interface EventBusOptions {
  /** Every call goes through the guarded store; null (no Redis, cache off): publish is a no-op, replay empty. */
  guarded: GuardedStore | null;
  keys: Keys;
  /** Entries kept per topic. Default {@link EVENT_STREAM_MAXLEN} (approximate: `MAXLEN ~`). */
  maxLen?: number;
  /** Expiry of a topic's log after its last event. Default {@link EVENT_STREAM_TTL_SECONDS}. */
  ttlSeconds?: number;
  /** Told about a publish that failed (the event is lost; clients catch up by re-fetching). */
  onError?: (error: unknown, context: { topic: Topic; type: LobbyEvent["type"] }) => void;
}

/** Replay pages: MAXLEN ~ may keep somewhat more than maxLen entries, so replay reads until the end. */
const REPLAY_PAGE = 500;

/**
 * The realtime bus (DESIGN.md, Realtime): a per-topic Redis Stream as the replay log,
 * one pub/sub channel as the live fan-out to every web process (lib/realtime/hub.ts).
 */
export class RedisEventBus implements EventBus {
  private readonly maxLen: number;
  private readonly ttlSeconds: number;

  constructor(private readonly options: EventBusOptions) {
    this.maxLen = options.maxLen ?? EVENT_STREAM_MAXLEN;
    this.ttlSeconds = options.ttlSeconds ?? EVENT_STREAM_TTL_SECONDS;
  }

  get enabled(): boolean {
    return this.options.guarded !== null;
  }

  async publish(topic: Topic, event: LobbyEvent): Promise<void> {
    await this.append(topic, event);
  }

  /** Like {@link publish}, and tells the id the event got (null when it was lost). Never throws. */
  async append(topic: Topic, event: LobbyEvent): Promise<string | null> {
    const { guarded, keys } = this.options;
    if (!guarded) return null;
    try {
      const id = await guarded.write((s) =>
        s.eval(PUBLISH, [keys.eventStream(topic)], [this.maxLen, this.ttlSeconds, keys.eventsChannel, JSON.stringify(topic), JSON.stringify(event)]),
      );
      return typeof id === "string" ? id : null;
    } catch (error) {
      this.options.onError?.(error, { topic, type: event.type });
      return null;
    }
  }

  /**
   * The events of `topic` after `afterId`, oldest first: what a client that saw `afterId`
   * missed (as far back as the log reaches). Throws when Redis is unavailable.
   */
  async replay(topic: Topic, afterId: string): Promise<Delivery[]> {
    const { guarded, keys } = this.options;
    if (!guarded) return [];
    const out: Delivery[] = [];
    let cursor = afterId;
    for (;;) {
      // Not on a page's critical path, and up to ~1000 entries: the write deadline fits better.
      const reply = await guarded.write((s) => s.eval(RANGE_AFTER, [keys.eventStream(topic)], [cursor, REPLAY_PAGE]));
      const page = parseEntries(topic, reply);
      out.push(...page);
      const last = page.at(-1);
      if (!Array.isArray(reply) || reply.length < REPLAY_PAGE || !last) return out;
      cursor = last.id;
    }
  }

  /**
   * The newest event id of `topic` (`0-0` when none): a client's starting point. Throws
   * when Redis is unavailable. `deadline: "read"` for a page render (gives up fast).
   */
  async tip(topic: Topic, deadline: "read" | "write" = "write"): Promise<string> {
    const { guarded, keys } = this.options;
    if (!guarded) return "0-0";
    const call = (s: Parameters<Parameters<GuardedStore["write"]>[0]>[0]) => s.eval(TIP, [keys.eventStream(topic)], []);
    const id = await (deadline === "read" ? guarded.read(call) : guarded.write(call));
    return typeof id === "string" ? id : "0-0";
  }

  /**
   * The events of `topic` after `afterId` (null: the client sent something that is not an
   * id), or a reset when they cannot all be given (see {@link CatchUp}). A client's id is
   * one this log gave, so it is at or after the oldest kept entry unless trimming or expiry
   * took it; `0-0` (a page rendered while the topic had no events) is whole only if the
   * log never lost an entry. A later page whose cursor fell behind the oldest kept entry
   * (trimmed while reading) is a reset too. Throws when Redis is unavailable.
   */
  async catchUp(topic: Topic, afterId: string | null): Promise<CatchUp> {
    const { guarded, keys } = this.options;
    if (!guarded) return { reset: false, deliveries: [] };
    const reset = async (): Promise<CatchUp> => ({ reset: true, tip: await this.tip(topic) });
    if (afterId === null) return reset();
    const out: Delivery[] = [];
    let cursor = afterId;
    for (let page = 0; ; page++) {
      const reply = await guarded.write((s) => s.eval(CHECKED_RANGE, [keys.eventStream(topic)], [cursor, REPLAY_PAGE]));
      if (!Array.isArray(reply)) return reset();
      const [last, first, trimmed, entries] = reply as [unknown, unknown, unknown, unknown];
      if (page === 0 && compareIds(afterId, String(last)) > 0) return { reset: true, tip: String(last) };
      const firstId = String(first);
      if (firstId !== "" && compareIds(cursor, firstId) < 0) {
        const wholeFromStart = page === 0 && cursor === "0-0" && Number(trimmed) === 0;
        if (!wholeFromStart) return reset();
      }
      const found = parseEntries(topic, entries);
      out.push(...found);
      const tail = found.at(-1);
      if (!Array.isArray(entries) || entries.length < REPLAY_PAGE || !tail) return { reset: false, deliveries: out };
      cursor = tail.id;
    }
  }

  /** Entries of many topics after their cursors, in one batch (the REST driver's polling). */
  async rangeMany(cursors: { topic: Topic; afterId: string }[], count: number): Promise<Delivery[][]> {
    const { guarded, keys } = this.options;
    if (!guarded || cursors.length === 0) return cursors.map(() => []);
    const replies = await guarded.write((s) =>
      s.evalMany(RANGE_AFTER, cursors.map((c) => ({ keys: [keys.eventStream(c.topic)], args: [c.afterId, count] }))),
    );
    return replies.map((reply, i) => parseEntries(cursors[i]!.topic, reply));
  }
}
