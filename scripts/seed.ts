import "./load-env";
import { parseArgs } from "node:util";
import { SingleBar, Presets } from "cli-progress";
import { z } from "zod";
import { createDb } from "@/lib/db/client";
import { rooms } from "@/lib/db/schema";
import { env } from "@/lib/env";
import { runtime } from "@/lib/runtime";
import { contentChangeOps } from "@/lib/cache/invalidation/content-change";
import { noInvalidations } from "@/lib/cache/invalidation/write";
import { generateRooms, type SeedRoom } from "./seed-data";

/**
 * `npm run db:seed -- --rooms N [--seed S] [--batch B]`: inserts N realistic rooms, then
 * invalidates the room-list keys so running apps see them at once. Names that already
 * exist are skipped, so running it twice does not fail or duplicate.
 */

const USAGE = "usage: npm run db:seed -- --rooms <1-100000> [--seed <int>] [--batch <1-5000>]";

const argsSchema = z.strictObject({
  rooms: z.coerce.number({ error: "--rooms must be a number" }).int().min(1).max(100_000),
  seed: z.coerce.number().int().min(0).max(2 ** 31).default(42),
  batch: z.coerce.number().int().min(1).max(5_000).default(500),
});

function readArgs(): z.output<typeof argsSchema> {
  let values: Record<string, string | undefined>;
  try {
    ({ values } = parseArgs({
      options: { rooms: { type: "string" }, seed: { type: "string" }, batch: { type: "string" } },
      strict: true,
    }));
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  const parsed = argsSchema.safeParse(values);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) console.error(`--${issue.path.join(".") || "?"}: ${issue.message}`);
    console.error(USAGE);
    process.exit(2);
  }
  return parsed.data;
}

const args = readArgs();
const { databaseUrl } = env();
const handle = createDb(databaseUrl, { max: 2 });
const bar = new SingleBar(
  { format: "seeding rooms |{bar}| {value}/{total} ({inserted} new, {skipped} existing) {eta_formatted} left", hideCursor: true },
  Presets.shades_classic,
);

const started = performance.now();
let inserted = 0;
let done = 0;
try {
  bar.start(args.rooms, 0, { inserted, skipped: 0 });
  let batch: SeedRoom[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const rows = batch.map((r) => ({ ...r, name: r.name.normalize("NFC"), updatedAt: r.createdAt }));
    // No conflict target: the unique index is on lower(name) among live rooms, and any
    // conflict means "this room is already there", which is what a re-run expects.
    const created = await handle.db.insert(rooms).values(rows).onConflictDoNothing().returning({ id: rooms.id });
    inserted += created.length;
    done += batch.length;
    bar.update(done, { inserted, skipped: done - inserted });
    batch = [];
  };
  for (const room of generateRooms(args.rooms, args.seed)) {
    batch.push(room);
    if (batch.length >= args.batch) await flush();
  }
  await flush();
  bar.stop();

  const rt = runtime();
  // What a room creation invalidates, through the invalidation log like every write: applied
  // now, or by the app when it next reads the log.
  if (inserted > 0) {
    await (rt.invalidationLog ?? noInvalidations).commit(rt.db.db, async () => inserted, () =>
      contentChangeOps("room.created", [rt.keys.roomsAll, rt.keys.roomsCount]),
    );
  }
  console.log(`${inserted} rooms inserted, ${done - inserted} already existed, in ${Math.round(performance.now() - started)} ms`);
} catch (error) {
  bar.stop();
  console.error("seed failed:", error);
  process.exitCode = 1;
} finally {
  await handle.close();
  await runtime().close();
}
