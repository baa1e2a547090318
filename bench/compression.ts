/**
 * `npx tsx bench/compression.ts [--iterations 200]`: would compressing Lobby's large cached
 * values pay? Real values, made by the app's own code (not samples typed here): the home
 * page's page-cache entry (the built app, one `GET /`), the room list (`rooms:all`, 1,000
 * rooms) and conversations (`messages:{room}`, the newest 50 messages) of short chat lines
 * and of the longest messages allowed. For each, and each codec of Node's zlib: size,
 * compress and decompress time (median over iterations), and what Redis holds for it
 * (MEMORY USAGE of the value as a plain string key, raw vs compressed). Method and the
 * decision: bench/README.md, "Compression".
 */
import "../scripts/load-env";
import { brotliCompressSync, brotliDecompressSync, constants, gunzipSync, gzipSync } from "node:zlib";
import { Redis } from "ioredis";
import postgres from "postgres";
import { z } from "zod";
import { MESSAGE_BODY_MAX } from "../lib/db/schema";
import { runMigrations } from "../lib/db/migrate";
import { createRuntime } from "../lib/runtime";
import { createKeys } from "../lib/cache/keys";
import { deleteMatching } from "../tests/support/redis-keys";
import { startApp } from "./support/server";

const env = z
  .object({
    BENCH_PG_URL: z.url().default("postgres://postgres@127.0.0.1:5432/lobby_bench_compression"),
    BENCH_REDIS_URL: z.url().default("redis://127.0.0.1:6379"),
    BENCH_PORT_BASE: z.coerce.number().int().min(1024).max(65_000).default(3200),
  })
  .parse(process.env);
const flag = process.argv.indexOf("--iterations");
const iterations = z.coerce.number().int().min(10).max(10_000).default(200).parse(flag >= 0 ? process.argv[flag + 1] : undefined);
const PREFIX = "bench-compression:";
const name = decodeURIComponent(new URL(env.BENCH_PG_URL).pathname.slice(1));
if (!/^lobby_bench\w*$/.test(name)) throw new Error(`refusing to drop "${name}": bench databases are named lobby_bench*`);

const codecs = [
  { name: "gzip 1", compress: (b: Buffer) => gzipSync(b, { level: 1 }), decompress: gunzipSync },
  { name: "gzip 6", compress: (b: Buffer) => gzipSync(b, { level: 6 }), decompress: gunzipSync },
  {
    name: "brotli 4",
    compress: (b: Buffer) => brotliCompressSync(b, { params: { [constants.BROTLI_PARAM_QUALITY]: 4, [constants.BROTLI_PARAM_SIZE_HINT]: b.length } }),
    decompress: brotliDecompressSync,
  },
];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
function timeUs(fn: () => unknown): number {
  const runs: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t = process.hrtime.bigint();
    fn();
    runs.push(Number(process.hrtime.bigint() - t) / 1_000);
  }
  return median(runs);
}

/** Words for text that compresses like prose, not like one phrase repeated (which zlib shrinks 30x). */
const WORDS = (
  "the of and to in is it you that he was for on are with as his they be at one have this from or had by word but what some we can out " +
  "other were all there when up use your how said an each she which do their time if will way about many then them write would like so " +
  "these her long make thing see him two has look more day could go come did number sound no most people my over know water than call " +
  "first who may down side been now find any new work part take get place made live where after back little only round man year came show " +
  "every good me give our under name very through just form sentence great think say help low line differ turn cause much mean before move " +
  "right boy old too same tell does set three want air well also play small end put home read hand port large spell add even land here must " +
  "deploy release database cache redis postgres latency query index migration rollback incident pager alert dashboard metric build test"
).split(" ");

/** `n` words drawn at random (seeded per row by Postgres's random(), set by setseed). */
const prose = (n: number) =>
  // `0 * i` ties the subquery to its row, so each row draws its own words (else Postgres draws them once).
  `array_to_string(array(select (${"$"}1::text[])[1 + floor(random() * ${WORDS.length} + 0 * i)::int] from generate_series(1, ${n})), ' ')`;

async function seed(sql: postgres.Sql): Promise<{ short: string; long: string }> {
  await sql`select setseed(0.42)`;
  await sql.unsafe(
    `insert into rooms (name, description, owner_id, owner_name)
     select initcap(${prose(3)}) || ' ' || i, ${prose(12)}, 'bench-owner-000001', 'Bench' from generate_series(1, 1000) i`,
    [WORDS],
  );
  const [short, long] = (await sql<{ id: string }[]>`select id from rooms order by name limit 2`).map((r) => r.id);
  // Chat lines of 3-15 words, and the longest messages allowed (prose, cut at the limit).
  await sql.unsafe(
    `insert into messages (room_id, author_id, author_name, body, created_at)
     select $2, 'bench-author-' || (i % 7), 'Person ' || (i % 7), ${prose(3)} || case when i % 2 = 0 then ' ' || ${prose(12)} else '' end,
       now() - (60 - i) * interval '1 minute'
     from generate_series(1, 60) i`,
    [WORDS, short!],
  );
  await sql.unsafe(
    `insert into messages (room_id, author_id, author_name, body, created_at)
     select $2, 'bench-author-' || (i % 3), 'Writer ' || (i % 3), rtrim(left(${prose(450)}, ${MESSAGE_BODY_MAX})), now() - (60 - i) * interval '1 minute'
     from generate_series(1, 60) i`,
    [WORDS, long!],
  );
  await sql`update rooms set message_version = nextval('message_version_seq'), last_activity_at = now() where id in (${short!}, ${long!})`;
  return { short: short!, long: long! };
}

async function main() {
  const admin = postgres(env.BENCH_PG_URL.replace(/\/[^/]+$/, "/postgres"), { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists "${name}" with (force)`);
  await admin.end();
  await runMigrations(env.BENCH_PG_URL);
  const sql = postgres(env.BENCH_PG_URL, { max: 1, onnotice: () => {} });
  const rooms = await seed(sql);
  const redis = new Redis(env.BENCH_REDIS_URL);
  await deleteMatching(redis, `${PREFIX}*`);
  const keys = createKeys(PREFIX);

  // The data cache's values, as the app's services store them.
  const rt = createRuntime({ databaseUrl: env.BENCH_PG_URL, redis: { driver: "ioredis", url: env.BENCH_REDIS_URL }, cacheEnabled: true, keyPrefix: PREFIX, mode: "test" });
  await rt.rooms.getAllRooms();
  await rt.messages.getNewest(rooms.short);
  await rt.messages.getNewest(rooms.long);
  await rt.close();
  const values: { what: string; raw: Buffer }[] = [
    { what: "room list, 1,000 rooms (rooms:all)", raw: Buffer.from((await redis.get(keys.roomsAll))!) },
    { what: "conversation, 50 chat lines (messages:{room})", raw: Buffer.from((await redis.get(keys.messages(rooms.short)))!) },
    { what: `conversation, 50 messages of ${MESSAGE_BODY_MAX} characters`, raw: Buffer.from((await redis.get(keys.messages(rooms.long)))!) },
  ];

  // The page cache's entry of the home page: the built app renders it once.
  const app = await startApp(env.BENCH_PORT_BASE + 20, { NODE_ENV: "production", DATABASE_URL: env.BENCH_PG_URL, REDIS_URL: env.BENCH_REDIS_URL, REDIS_KEY_PREFIX: PREFIX, SESSION_SECRET: "bench-".repeat(8), LOG_LEVEL: "warn", CACHE_ENABLED: "true" });
  try {
    let entryKey: string | undefined;
    // A server that has only just started renders without storing until it has read the
    // invalidation log (its lease), and stores behind the response: ask again until it is there.
    for (let tries = 0; !entryKey && tries < 50; tries++) {
      const home = await fetch(`${app.url}/`);
      await home.arrayBuffer();
      if (home.status !== 200) throw new Error(`GET / answered ${home.status}`);
      await new Promise((r) => setTimeout(r, 100));
      [entryKey] = await scan(redis, `${PREFIX}{pages}:entry:*home*`);
    }
    if (!entryKey) throw new Error(`the home page's entry did not reach the page cache (keys: ${(await scan(redis, `${PREFIX}*`)).join(", ")})`);
    values.push({ what: "home page, page-cache entry (body field)", raw: Buffer.from((await redis.hget(entryKey, "body"))!) });
  } finally {
    await app.stop();
  }

  const rows = [];
  for (const { what, raw } of values) {
    await redis.set(`${PREFIX}probe`, raw);
    const rawMemory = Number(await redis.memory("USAGE", `${PREFIX}probe`));
    for (const codec of codecs) {
      const packed = codec.compress(raw);
      if (!codec.decompress(packed).equals(raw)) throw new Error(`${codec.name} did not round-trip ${what}`);
      await redis.set(`${PREFIX}probe`, packed);
      const packedMemory = Number(await redis.memory("USAGE", `${PREFIX}probe`));
      rows.push({
        value: what,
        codec: codec.name,
        "raw KB": +(raw.length / 1024).toFixed(1),
        "packed KB": +(packed.length / 1024).toFixed(1),
        ratio: `${(raw.length / packed.length).toFixed(1)}x`,
        "compress µs": Math.round(timeUs(() => codec.compress(raw))),
        "decompress µs": Math.round(timeUs(() => codec.decompress(packed))),
        "Redis bytes raw": rawMemory,
        "Redis bytes packed": packedMemory,
      });
    }
  }
  await deleteMatching(redis, `${PREFIX}*`);
  redis.disconnect();
  await sql.end();
  console.log(`\nCompression of Lobby's cached values (Node ${process.version} zlib, medians of ${iterations} runs):`);
  console.table(rows);
}

async function scan(redis: Redis, pattern: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 1000);
    found.push(...keys);
    cursor = next;
  } while (cursor !== "0");
  return found;
}

await main();
