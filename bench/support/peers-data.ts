/**
 * The data cache half of the peers scenario (bench/support/peers.ts): `GET /api/rooms`
 * through Lobby's data cache against the same query through bentocache and
 * @epic-web/cachified (lib/bench/peer-data.ts, served at /bench/peers/<peer> by Lobby's own
 * two cached instances). For each: a check that it caches (its keys are in Redis, repeated
 * reads load nothing), throughput A/B, the Postgres queries of a 500-request cold stampede
 * over the two instances, and the forced races (bench/support/peers-races.ts).
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { Target } from "../torture/http";
import { DATA_SCENARIO, keysUnder, type PeersContext } from "./peers";
import { passes, raceAcrossInstances, raceDuringFill, raceRoom, roomList, type RaceOutcome, type Subject } from "./peers-races";
import { dbQueries, type AppServer } from "./server";

export const LOBBY_DATA = "lobby-data";

export interface DataPeerResult {
  name: string;
  verified: string;
  stampede: { queries: number; byInstance: [number, number]; ok: number };
  fill: RaceOutcome;
  acrossInstances: RaceOutcome;
}

interface DataVariant {
  name: string;
  path: string;
  subject: Subject;
  /** Keys of its cache in the bench's Redis database. */
  pattern: string;
  /** Empties its cache on every instance (a cold start). */
  clear: (server: AppServer) => Promise<void>;
}

export interface DataPeersContext extends PeersContext {
  /** Deletes Lobby's keys (the bench's prefix), as the stampede scenario does. */
  clearLobbyCache: () => Promise<void>;
}

function variants(ctx: DataPeersContext): DataVariant[] {
  const peer = (name: "bentocache" | "cachified", pattern: string): DataVariant => ({
    name,
    path: `/bench/peers/${name}`,
    subject: roomList(`/bench/peers/${name}`, (id) => `/bench/peers/${name}?id=${id}`),
    pattern,
    clear: async (server) => {
      const r = await fetch(`${server.url}/bench/peers/${name}`, { method: "DELETE", headers: { origin: server.url } });
      if (r.status !== 204) throw new Error(`clearing ${name} on ${server.url}: ${r.status}`);
      // bentocache tells the other instance's memory tier over its bus.
      await sleep(200);
    },
  });
  return [
    { name: LOBBY_DATA, path: "/api/rooms", subject: roomList("/api/rooms", (id) => `/api/rooms/by-id/${id}`), pattern: "bench:rooms:all", clear: () => ctx.clearLobbyCache() },
    peer("bentocache", "benchpeer-bento*"),
    peer("cachified", "benchpeer-cachified:*"),
  ];
}

async function verifyCaches(v: DataVariant, server: AppServer, redisUrl: string): Promise<string> {
  for (let i = 0; i < 3; i++) await (await fetch(server.url + v.path)).arrayBuffer();
  const before = await passes(server.url, "load");
  for (let i = 0; i < 20; i++) await (await fetch(server.url + v.path)).arrayBuffer();
  const loads = (await passes(server.url, "load")) - before;
  const keys = await keysUnder(redisUrl, v.pattern);
  if (loads > 0 || keys === 0) throw new Error(`${v.name} does not cache ${v.path}: ${loads} loads for 20 requests, ${keys} keys matching ${v.pattern}`);
  return `${keys} keys matching ${v.pattern}, 0 loads for 20 requests after the first`;
}

/** 500 concurrent cold reads alternating over the two instances: Postgres statements sent. */
async function stampede(v: DataVariant, pair: [AppServer, AppServer]) {
  for (const s of pair) await fetch(`${s.url}/api/health`); // postgres.js type bootstrap, not a load
  await v.clear(pair[0]);
  const before = await Promise.all(pair.map(dbQueries));
  const statuses = await Promise.all(Array.from({ length: 500 }, (_, i) => fetch(pair[i % 2]!.url + v.path).then(async (r) => (await r.arrayBuffer(), r.status))));
  const each = (await Promise.all(pair.map(dbQueries))).map((n, i) => n - before[i]!) as [number, number];
  return { queries: each[0] + each[1], byInstance: each, ok: statuses.filter((s) => s === 200).length };
}

export async function dataPeers(ctx: DataPeersContext): Promise<DataPeerResult[]> {
  const [a, b] = ctx.lobby;
  const all = variants(ctx);
  const verified = new Map<string, string>();
  for (const v of all) verified.set(v.name, await verifyCaches(v, a, ctx.redisUrl));
  await ctx.abRuns(DATA_SCENARIO, "/api/rooms", all.map((v) => ({ name: v.name, server: a, path: v.path })), LOBBY_DATA);
  const results: DataPeerResult[] = [];
  for (const [i, v] of all.entries()) {
    const stamp = await stampede(v, [a, b]);
    const [ta, tb]: Target[] = [{ name: "A", url: a.url }, { name: "B", url: b.url }];
    const room = await raceRoom(ta!, v.name, `10.66.1.${i + 1}`);
    const fill = await raceDuringFill(v.subject, ta!, tb!, room, ctx.races);
    const acrossInstances = await raceAcrossInstances(v.subject, ta!, tb!, room, ctx.races);
    results.push({ name: v.name, verified: verified.get(v.name)!, stampede: stamp, fill, acrossInstances });
  }
  return results;
}
