import "server-only";
import { cachified } from "@epic-web/cachified";
import { BentoCache, bentostore } from "bentocache";
import { memoryDriver } from "bentocache/drivers/memory";
import { redisBusDriver, redisDriver } from "bentocache/drivers/redis";
import { createClient } from "redis";
import { redisCacheAdapter } from "cachified-redis-adapter";
import { z } from "zod";
import { probePass } from "./probe";
import { listLiveRoomsWithVersion, type Room } from "../db/queries/rooms";
import type { Db } from "../db/client";
import { byActivity } from "../rooms/activity-order";
import { activeRoomJson, type ActiveRoomJson } from "../rooms/room-json";

/**
 * The benchmark's data cache peers (bench/README.md, Peers; BENCH_ROUTES=true only): the
 * query behind `GET /api/rooms` (every live room with its last activity, one statement)
 * cached through bentocache and through @epic-web/cachified, each set up as its docs show,
 * in the bench's Redis database under a prefix of its own. What they cache is the JSON
 * `/api/rooms` answers, most recent activity first. A write renames in Postgres through the
 * app, then deletes the peer's key, as their docs' invalidation does.
 */

export const DATA_PEERS = ["bentocache", "cachified"] as const;
export type DataPeer = (typeof DATA_PEERS)[number];

/** The one key each peer caches the list under. */
const KEY = "rooms:all";

/** What is cached: the rooms as `/api/rooms` sends them. */
const listSchema = z.object({ rooms: z.array(z.object({ id: z.string(), name: z.string() }).loose()), count: z.number() });
type List = { rooms: ActiveRoomJson[]; count: number };

/** The list from Postgres: the same statement `/api/rooms`'s loader runs, in its order. */
async function loadList(db: Db): Promise<List> {
  const { rooms, activity } = await listLiveRoomsWithVersion(db);
  // The benchmark's load probe, where Lobby's loader passes it too (between the read and the set).
  await probePass("load", true);
  const at = new Map(activity.map((a) => [a.id, a.at]));
  const ordered = rooms.map((r: Room) => ({ ...r, lastActivityAt: new Date(at.get(r.id) ?? r.createdAt.getTime()) })).sort(byActivity);
  return { rooms: ordered.map(activeRoomJson), count: ordered.length };
}

interface Peers {
  bento: BentoCache<{ multitier: ReturnType<typeof bentostore> }>;
  cachified: ReturnType<typeof redisCacheAdapter>;
}

const g = globalThis as unknown as { __lobbyBenchDataPeers?: Promise<Peers> };

/** Both peers' caches, created once per process on first use. */
function peers(redisUrl: string): Promise<Peers> {
  g.__lobbyBenchDataPeers ??= (async () => {
    const url = new URL(redisUrl);
    const connection = { host: url.hostname, port: Number(url.port || 6379), db: Number(url.pathname.slice(1) || 0) };
    // bentocache's multi-tier setup for several instances: memory L1, Redis L2, the Redis bus
    // that tells the other instances' L1 of sets and deletes.
    const bento = new BentoCache({
      default: "multitier",
      prefix: "benchpeer-bento",
      stores: {
        multitier: bentostore()
          .useL1Layer(memoryDriver({ maxSize: "10mb" }))
          .useL2Layer(redisDriver({ connection }))
          .useBus(redisBusDriver({ connection })),
      },
    });
    // cachified over Redis (its README points to cachified-redis-adapter for node-redis).
    const client = createClient({ url: redisUrl });
    await client.connect();
    return { bento, cachified: redisCacheAdapter(client) };
  })();
  return g.__lobbyBenchDataPeers;
}

const TTL_MS = 300_000;

/** The list through a peer (its body as `/api/rooms` sends it). */
export async function readThrough(peer: DataPeer, redisUrl: string, db: Db): Promise<List> {
  const p = await peers(redisUrl);
  if (peer === "bentocache") return p.bento.getOrSet({ key: KEY, ttl: TTL_MS, factory: () => loadList(db) });
  return cachified({ cache: p.cachified, key: `benchpeer-cachified:${KEY}`, ttl: TTL_MS, checkValue: listSchema, getFreshValue: () => loadList(db) }) as Promise<List>;
}

/** After a write: the peer's invalidation, awaited before the write is acknowledged. */
export async function invalidate(peer: DataPeer, redisUrl: string): Promise<void> {
  const p = await peers(redisUrl);
  if (peer === "bentocache") await p.bento.delete({ key: KEY });
  else await p.cachified.delete(`benchpeer-cachified:${KEY}`);
}
