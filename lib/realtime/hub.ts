import { webRedisOptions } from "../cache/ioredis-store";
import { connectTcp, isCluster, type TcpClient } from "../cache/tcp-client";
import type { Keys } from "../cache/keys";
import type { Env } from "../env";
import { compareIds, type Delivery, type RedisEventBus } from "./event-bus";
import type { Topic } from "./events";

/** What one SSE stream hears from the hub. */
export interface HubListener {
  deliver(delivery: Delivery): void;
  /** Live delivery may have missed events (the subscriber reconnected): catch up from the log. */
  resync(): void;
}

export type Unsubscribe = () => void;

/** Options of a {@link Hub}. */
export interface HubOptions {
  redis: Env["redis"];
  keys: Keys;
  bus: RedisEventBus;
  /** REST driver only: how often the Streams of topics with listeners are read. Default 500 ms. */
  pollIntervalMs?: number;
  /** How long `subscribe` waits for the subscription to be active before going on. Default 2000 ms. */
  subscribeTimeoutMs?: number;
  onError?: (error: unknown) => void;
}

const POLL_BATCH = 200;

/**
 * Listeners one turn of the event loop serves. A message to a room of 500 open streams is
 * 500 socket writes (~10 ms of CPU); in one go, every request of the process waits behind
 * it, the sends of the next messages included. Past a slice, the rest wait for the next
 * turn, after pending I/O. A listener is served everything it has waiting at once, in
 * order: its frames leave in one write (Node corks a response's writes within a tick), so
 * when deliveries pile up the cost per frame falls instead of the backlog growing.
 */
export const FANOUT_SLICE = 64;

/** Long enough for ioredis to move a cluster subscription to another node after losing one. */
const RESYNC_AFTER_NODE_LOSS_MS = 1_000;

/**
 * The process's one subscriber to the realtime bus, fanning events out by topic to the
 * SSE streams open in this process.
 *
 * - ioredis (TCP, one node or a cluster): one dedicated connection in subscriber mode (a connection that has
 *   SUBSCRIBEd can run no other command, so it cannot be the cache's), on the single
 *   channel every topic is announced on. It does not go through GuardedStore: it is not
 *   on any request's path, and ioredis reconnects it by itself; after a reconnect every
 *   listener is told to resync, since messages published meanwhile were dropped.
 * - @upstash/redis (REST): pub/sub over REST would be one long-lived HTTP stream per
 *   process that the client library does not reconnect for us, so instead the Streams of
 *   the topics that have listeners are polled with XRANGE every ~500 ms (one pipelined
 *   batch, through GuardedStore). Latency is up to a poll interval; nothing is lost.
 *
 * Started lazily by the first subscriber; idle topics cost nothing.
 */
export class Hub {
  private readonly listeners = new Map<Topic, Set<HubListener>>();
  private subscriber: TcpClient | null = null;
  private subscribed: Promise<void> | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  private readonly cursors = new Map<Topic, Promise<string | null>>();
  private polling = false;
  private closed = false;
  /** What each listener has yet to be given, in order; the map's order is the order they are served in. */
  private readonly inboxes = new Map<HubListener, Delivery[]>();

  constructor(private readonly options: HubOptions) {}

  get mode(): "pubsub" | "poll" | "off" {
    if (!this.options.bus.enabled) return "off";
    const { driver } = this.options.redis;
    return driver === "ioredis" || driver === "cluster" ? "pubsub" : driver === "upstash" ? "poll" : "off";
  }

  /** Resolves once events published from now on will reach `listener` (or after the timeout, if Redis is away). */
  async subscribe(topic: Topic, listener: HubListener): Promise<Unsubscribe> {
    let set = this.listeners.get(topic);
    if (!set) this.listeners.set(topic, (set = new Set()));
    set.add(listener);
    const unsubscribe = () => {
      set.delete(listener);
      // Deliveries it still waits for (a later slice) are not its any more.
      this.inboxes.delete(listener);
      if (set.size === 0 && this.listeners.get(topic) === set) {
        this.listeners.delete(topic);
        this.cursors.delete(topic);
      }
    };
    const ready = this.mode === "pubsub" ? this.startSubscriber() : this.mode === "poll" ? this.startPolling(topic) : Promise.resolve();
    await this.within(ready);
    return unsubscribe;
  }

  /** Listeners per topic, for tests and metrics. */
  listenerCount(topic?: Topic): number {
    if (topic) return this.listeners.get(topic)?.size ?? 0;
    let n = 0;
    for (const set of this.listeners.values()) n += set.size;
    return n;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.pollTimer = null;
    this.subscriber?.disconnect();
    this.subscriber = null;
    this.listeners.clear();
    this.inboxes.clear();
  }

  private async within(ready: Promise<unknown>): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.options.subscribeTimeoutMs ?? 2_000)));
    try {
      await Promise.race([ready.catch(() => {}), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Hands `delivery` to its topic's listeners: the first {@link FANOUT_SLICE} at once (all
   * of a small room's), the rest in later turns of the event loop. A listener that
   * subscribes meanwhile is not among them: the event is already in the log its stream
   * replays from.
   */
  private fanOut(delivery: Delivery): void {
    const set = this.listeners.get(delivery.topic);
    if (!set) return;
    const idle = this.inboxes.size === 0;
    for (const listener of set) {
      const inbox = this.inboxes.get(listener);
      if (inbox) inbox.push(delivery);
      else this.inboxes.set(listener, [delivery]);
    }
    if (idle) this.fanSlice();
  }

  private readonly fanSlice = (): void => {
    let budget = FANOUT_SLICE;
    for (const [listener, inbox] of this.inboxes) {
      if (budget-- === 0) break;
      this.inboxes.delete(listener);
      for (const delivery of inbox) {
        try {
          listener.deliver(delivery);
        } catch (error) {
          this.options.onError?.(error);
        }
      }
    }
    if (this.inboxes.size > 0) setImmediate(this.fanSlice);
  };

  private resyncAll(): void {
    for (const set of this.listeners.values()) for (const listener of [...set]) listener.resync();
  }

  private startSubscriber(): Promise<void> {
    if (this.subscribed) return this.subscribed;
    const { redis, keys } = this.options;
    if (redis.driver !== "ioredis" && redis.driver !== "cluster") return Promise.resolve();
    const channel = keys.eventsChannel;
    const sub = connectTcp(
      redis,
      webRedisOptions({
        // A subscriber waits for its connection rather than failing, and never gives up.
        enableOfflineQueue: true,
        maxRetriesPerRequest: null,
        connectionName: "lobby-sse-hub",
      }),
    );
    this.subscriber = sub;
    sub.on("error", () => {});
    sub.on("message", (ch: string, message: string) => {
      if (ch !== channel) return;
      try {
        const parsed = JSON.parse(message) as Delivery;
        if (typeof parsed.id === "string" && typeof parsed.topic === "string") this.fanOut(parsed);
      } catch (error) {
        this.options.onError?.(error);
      }
    });
    let connectedOnce = false;
    sub.on("ready", () => {
      if (!connectedOnce) {
        connectedOnce = true;
        return;
      }
      // ioredis re-subscribes on reconnect; subscribing again is harmless and tells us when it is done.
      sub
        .subscribe(channel)
        .then(() => this.resyncAll())
        .catch((error: unknown) => this.options.onError?.(error));
    });
    if (isCluster(sub)) {
      /*
       * On a cluster the subscription lives on one node, and ioredis moves it to another when
       * that node goes (a failover): messages published meanwhile were not heard, so every
       * listener catches up from the log once the new subscription stands.
       */
      sub.on("-node", () => {
        setTimeout(() => {
          if (!this.closed) this.resyncAll();
        }, RESYNC_AFTER_NODE_LOSS_MS).unref();
      });
    }
    this.subscribed = sub.subscribe(channel).then(() => undefined);
    // A failed first SUBSCRIBE must not stay cached as failed forever; listeners resync on the next `ready`.
    this.subscribed.catch((error: unknown) => this.options.onError?.(error));
    return this.subscribed;
  }

  private startPolling(topic: Topic): Promise<unknown> {
    if (!this.pollTimer && !this.closed) {
      this.pollTimer = setInterval(() => void this.poll(), this.options.pollIntervalMs ?? 500);
      this.pollTimer.unref();
    }
    let cursor = this.cursors.get(topic);
    if (!cursor) {
      // Live delivery starts after the newest entry now; the stream replays anything older.
      cursor = this.options.bus.tip(topic).catch(() => null);
      this.cursors.set(topic, cursor);
    }
    return cursor;
  }

  private async poll(): Promise<void> {
    if (this.polling || this.listeners.size === 0) return;
    this.polling = true;
    try {
      const cursors: { topic: Topic; afterId: string }[] = [];
      for (const [topic, cursor] of this.cursors) {
        const afterId = await cursor;
        if (afterId === null) this.cursors.set(topic, this.options.bus.tip(topic).catch(() => null));
        else cursors.push({ topic, afterId });
      }
      if (cursors.length === 0) return;
      const results = await this.options.bus.rangeMany(cursors, POLL_BATCH);
      results.forEach((deliveries, i) => {
        const { topic, afterId } = cursors[i]!;
        const last = deliveries.at(-1);
        // The topic may have lost its listeners (and its cursor) while the batch was out.
        if (!last || !this.cursors.has(topic) || compareIds(last.id, afterId) <= 0) return;
        this.cursors.set(topic, Promise.resolve(last.id));
        for (const d of deliveries) this.fanOut(d);
      });
    } catch (error) {
      this.options.onError?.(error);
    } finally {
      this.polling = false;
    }
  }
}
